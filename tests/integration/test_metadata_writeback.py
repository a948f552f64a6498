"""Write-back of merged metadata to Audiobookshelf: off by default; when on, in ABS's own schema.

An item the library holds as "Series 3 - Title" with no ASIN and no series gets, after a metadata
refresh with MAMC_METADATA_WRITEBACK=true, its real title, its ASIN and its series with the position,
written through ABS's API (on the library-sync pool) and read back; the next library sync sees them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from shared.infra.db import session_scope
from tests.integration.stack import Stack
from tests.integration.test_metadata_gaps import FAST_LIMITS
from tests.integration.test_metadata_world import ServedWorld, jobs_of, run_job, serve_world
from tests.sims.abs import SimItem
from tests.sims.world import Ownership, generate_world

pytestmark = pytest.mark.slow


@pytest.fixture
def world16() -> Iterator[ServedWorld]:
    served = serve_world(generate_world(16, seed=4))
    yield served
    served.stop()


def _odd(world16: ServedWorld) -> Ownership:
    return next(o for o in world16.world.ownerships if o.mess == "odd_title")


def _item(world16: ServedWorld, ownership: Ownership) -> SimItem:
    return next(i for i in world16.abs_state.items.values() if i.rel_path.startswith(ownership.book.item_id + " "))


def test_writeback_is_off_by_default_then_writes_what_providers_improved(stack: Stack, world16: ServedWorld) -> None:
    stack.env.update(world16.env())
    stack.env["MAMC_RATE_LIMITS"] = json.dumps(FAST_LIMITS)
    stack.worker("library_sync")
    stack.worker("metadata", concurrency=4)
    assert run_job("library.sync", timeout=120).state == "succeeded"
    odd = _odd(world16)
    before = _item(world16, odd)
    assert before.title == odd.book.title and before.asin is None
    assert run_job("metadata.refresh", timeout=300).state == "succeeded"
    assert jobs_of("library.writeback") == []
    assert _item(world16, odd).title == odd.book.title
    # on: workers restarted with the flag, a forced refresh merges again and writes back
    stack.stop()
    stack.procs.clear()
    stack.env["MAMC_METADATA_WRITEBACK"] = "true"
    stack.worker("library_sync")
    stack.worker("metadata", concurrency=4)
    done = run_job("metadata.refresh", {"force": True}, timeout=300)
    assert done.state == "succeeded", (done.error, stack.logs())
    (writeback,) = jobs_of("library.writeback")
    assert writeback.state == "succeeded" and writeback.result["items"] > 0, writeback.result
    work = world16.world.works[odd.work_id]
    edition = work.edition("us")
    assert edition is not None
    item = _item(world16, odd)
    assert item.title == work.title and item.asin == edition.asin
    names = {world16.abs_state.series[sid].name: seq for sid, seq in item.series}
    series = world16.world.series_by_id[odd.series_id]
    assert names.get(series.audible_name) == work.position
    # durations are never written: the files are the truth
    assert item.duration == float(odd.book.duration_seconds)
    # the next sync mirrors what was written
    assert run_job("library.sync", timeout=120).state == "succeeded"
    with session_scope() as s:
        titles = set(s.scalars(text("SELECT title FROM library_items WHERE state = 'present'")))
    assert work.title in titles
