"""A rerun of the metadata jobs inside the cache TTL asks no provider again for an answer it gave.

Issue 8: in a 60-series world (library sync, ``metadata.refresh``, ``gaps.detect``, then the two
metadata jobs again) the rerun sometimes made a few Audible calls. The cause: the daily refresh
re-checks the recordings checked longest ago, in ``checked_at`` order, which is the order in which
the first run's concurrent match jobs happened to commit; those recordings were then cut into new
batches of 50, and Audible's ``asins=`` request (and so its cache key) named whichever ASINs shared
a batch. A batch that mixed recordings differently from the first run missed the cache. Audible's
products are now cached one ASIN per entry, so the key names what was asked, not its neighbours.

Each round starts from an empty database with real worker processes. After the cold pass, the
first run's commit order is replayed differently before each rerun (``checked_at`` of the Audible
matches permuted), which turns the timing race into cases that happen every time. The simulators'
request logs separate calls that failed (429, 5xx: rightly not cached, so a retry is correct) from
answered ones; the rerun may repeat only the former.

Run: ``.venv/bin/pytest -q -s tests/integration/test_metadata_rerun.py``
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from shared.infra.db import session_scope
from tests.integration.stack import Stack
from tests.integration.test_metadata_gaps import FAST_LIMITS
from tests.integration.test_metadata_world import ServedWorld, run_job, serve_world
from tests.sims.providers.common import RequestRecord
from tests.sims.world import generate_world

pytestmark = pytest.mark.slow

#: Reruns per round after the cold pass: the first as the cold pass left it, the others permuted.
RERUNS = 3


@pytest.fixture(scope="module")
def world60() -> Iterator[ServedWorld]:
    served = serve_world(generate_world(60, seed=0))
    yield served
    served.stop()


def request_key(r: RequestRecord) -> str:
    """What a request asked, as a cache would see it (the order of query parameters aside)."""
    return f"{r.method} {r.path}?{json.dumps(sorted(r.query.items()))}"


def calls_a_cache_should_have_saved(history: list[RequestRecord], rerun: list[RequestRecord]) -> list[str]:
    """Calls of ``rerun`` that a correct cache answers: asked and answered before (200, 404...), or
    never asked before at all (nothing changed in the world, so a new request means a key that
    varies). A request whose every earlier try failed (429, 5xx) was rightly not cached: allowed."""
    seen = {request_key(r) for r in history}
    answered = {request_key(r) for r in history if not r.failed}
    return [f"{r.status} {request_key(r)[:200]}" for r in rerun
            if request_key(r) in answered or request_key(r) not in seen]


def permute_checked_at(seed: int) -> None:
    """Give the Audible matches a new ``checked_at`` order, as if the first run's jobs had committed in
    another order; every new value is later than the latest check, so no recording looks changed."""
    with session_scope() as s:
        ids = list(s.scalars(text("SELECT recording_id FROM metadata_matches WHERE provider = 'audible' "
                                  "ORDER BY recording_id")))
        random.Random(seed).shuffle(ids)
        s.execute(text("""
            UPDATE metadata_matches m SET checked_at = base.t + make_interval(secs => o.n / 1000.0)
              FROM unnest(CAST(:ids AS bigint[])) WITH ORDINALITY AS o(rid, n),
                   (SELECT max(checked_at) AS t FROM metadata_matches) AS base
             WHERE m.provider = 'audible' AND m.recording_id = o.rid"""), {"ids": ids})


def test_only_calls_that_always_failed_may_be_repeated() -> None:
    def rec(asin: str, status: int) -> RequestRecord:
        return RequestRecord("GET", "/1.0/catalog/products", "products", {"asins": [asin]}, {}, status)

    history = [rec("A", 200), rec("B", 429), rec("C", 503), rec("C", 200), rec("D", 404)]
    rerun = [rec("A", 200), rec("B", 200), rec("C", 200), rec("D", 404), rec("E", 200)]
    flagged = calls_a_cache_should_have_saved(history, rerun)
    assert [f.split('"')[-2] for f in flagged] == ["A", "C", "D", "E"]  # B only ever failed: a fair retry


def _run(job_type: str, args: dict[str, object], stack: Stack) -> None:
    done = run_job(job_type, args, timeout=600)
    assert done.state == "succeeded", (job_type, done.error, done.result, stack.logs())


@pytest.mark.parametrize("round_", [0, 1])
def test_a_rerun_inside_the_ttl_repeats_only_failed_calls(stack: Stack, world60: ServedWorld, round_: int) -> None:
    world60.reset_counters()
    world60.sims["audible"].state.clear_faults()
    stack.env.update(world60.env())
    stack.env["MAMC_RATE_LIMITS"] = json.dumps(FAST_LIMITS)
    stack.worker("library_sync", concurrency=2)
    stack.worker("metadata", concurrency=4)
    stack.worker("metadata", concurrency=4)
    as_of = world60.world.as_of.isoformat()
    audible = world60.sims["audible"].state
    if round_ == 1:  # failures in the cold pass: retried then, never cached, and the rerun stays silent
        audible.storm_429(times=3, retry_after="1", route="products")
        audible.fail(503, times=1, route="product")
    _run("library.sync", {}, stack)
    _run("metadata.refresh", {}, stack)
    _run("gaps.detect", {"as_of": as_of}, stack)
    history = {name: list(app.state.log) for name, app in world60.sims.items()}
    cold = {name: len(log) for name, log in history.items()}
    failed = {name: sum(r.failed for r in log) for name, log in history.items()}
    asked = [request_key(r) for r in history["audible"] if not r.failed]
    print(f"\n[rerun round {round_}] cold pass calls {cold}, failed {failed}; Audible keys answered twice "
          f"(concurrent identical misses): {len(asked) - len(set(asked))}")
    assert cold["audible"] > 100 and (round_ == 0 or failed["audible"] >= 3), (cold, failed)
    for rerun in range(RERUNS):
        if rerun:
            permute_checked_at(seed=100 * round_ + rerun)
        world60.reset_counters()
        _run("metadata.refresh", {}, stack)
        _run("gaps.detect", {"as_of": as_of}, stack)
        with session_scope() as s:
            rechecked = s.scalar(text("SELECT count(*) FROM jobs WHERE type = 'metadata.match'"))
        bad = {name: calls_a_cache_should_have_saved(history[name], list(app.state.log))
               for name, app in world60.sims.items()}
        print(f"[rerun round {round_}.{rerun}] calls {world60.calls()}; match jobs so far {rechecked}")
        assert bad == dict.fromkeys(world60.sims, []), bad
        for name, app in world60.sims.items():
            history[name] += app.state.log
