"""Gap detection against a simulated world with known ground truth, end to end on real processes.

The world (200 series) has owned books tagged with odd names, novellas, omnibus editions, regional
ASINs and series that Audible and Hardcover list differently. Its owned books go into the ABS
simulator, the real ``library.sync`` mirrors them, and the real ``gaps.detect`` job tree (matching,
clustering, listings, gap computation) runs on a metadata worker against Audible, Audnexus and
Hardcover simulators over HTTP. The test computes and prints recall over the true gaps and the
number of wanted rows naming an owned book, then checks that a second scan inside the cache TTL
makes no outside call and finds the same gaps.

Run: ``.venv/bin/pytest -q -s tests/integration/test_metadata_gaps.py``
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from shared.infra.db import session_scope
from tests.integration.stack import Stack
from tests.integration.test_metadata_world import ServedWorld, gap_figures, run_job, serve_world, wanted_rows
from tests.sims.world import generate_world

pytestmark = pytest.mark.slow

#: Limits raised far above the providers' documented ones: this test is about correctness.
FAST_LIMITS = {"abs": "5000/1/500", "audible": "5000/1/500", "audnexus": "5000/1/500", "hardcover": "5000/1/500",
               "itunes": "20/60/2", "openlibrary": "100/300/5", "googlebooks": "100/60/5", "mam": "1/3",
               "qbit": "10/1/10", "probe": "1000/1/100"}


@pytest.fixture(scope="module")
def world200() -> Iterator[ServedWorld]:
    served = serve_world(generate_world(200, seed=0))
    yield served
    served.stop()


@pytest.fixture
def metadata_stack(stack: Stack, world200: ServedWorld) -> Stack:
    stack.env.update(world200.env())
    stack.env["MAMC_RATE_LIMITS"] = json.dumps(FAST_LIMITS)
    return stack


def test_gap_finder_finds_the_true_gaps_and_never_an_owned_book(metadata_stack: Stack, world200: ServedWorld) -> None:
    world = world200.world
    metadata_stack.worker("library_sync", concurrency=2)
    metadata_stack.worker("metadata", concurrency=4)
    metadata_stack.worker("metadata", concurrency=4)
    synced = run_job("library.sync", timeout=120)
    assert synced.state == "succeeded", synced.error
    world200.reset_counters()
    started = time.monotonic()
    detect = run_job("gaps.detect", {"as_of": world.as_of.isoformat()}, timeout=600)
    seconds = time.monotonic() - started
    assert detect.state == "succeeded", (detect.error, detect.result, metadata_stack.logs())
    calls = world200.calls()
    figures = gap_figures(world, wanted_rows())
    print(f"\n[gap finder, 200 series] {figures.line()}; {seconds:.1f}s; provider calls {calls}")
    assert figures.recall >= 0.98, figures.line()
    assert figures.owned_listed == [], figures.owned_listed
    assert figures.unmapped == [], figures.unmapped
    with session_scope() as s:
        states = {st: n for st, n in s.execute(text("SELECT state, count(*) FROM jobs GROUP BY state"))}
        reasons = s.scalar(text("SELECT count(*) FROM wanted WHERE reasons <> ARRAY['series_gap']::varchar[]"))
        review = s.scalar(text("SELECT count(*) FROM metadata_matches WHERE state = 'review'"))
    assert set(states) == {"succeeded"}, states
    assert reasons == 0
    # each gap carries the runtime and narrators of the recording Audible lists (the import checks the
    # download's duration against that runtime)
    with session_scope() as s:
        described = s.execute(text("SELECT asin, runtime_seconds, narrators FROM wanted WHERE asin IS NOT NULL")).all()
    assert described
    for asin, runtime, narrators in described:
        _, edition = world.editions[asin]
        minutes = max(1, round(edition.duration_seconds / 60))  # Audible states runtimes in whole minutes
        assert (runtime, narrators) == (minutes * 60, list(edition.narrators)), (asin, runtime, narrators, edition)
    print(f"[gap finder] matches sent to review: {review}")

    # A second scan inside the cache TTL: the same gaps, and not one outside call.
    world200.reset_counters()
    again = run_job("gaps.detect", {"as_of": world.as_of.isoformat()}, timeout=300)
    assert again.state == "succeeded", again.error
    assert world200.calls() == dict.fromkeys(world200.sims, 0), world200.calls()
    second = gap_figures(world, wanted_rows())
    assert (second.found, second.owned_listed) == (figures.found, [])
