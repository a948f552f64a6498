"""A search started right after ``POST /api/v1/wanted`` judges with what resolution learns.

Real crawl and metadata workers, the gateway, the Audible simulator (a generated world) and the MAM
simulator. The crawl worker runs first, alone: the search must wait (re-scheduled, no attempt
counted) while ``metadata.resolve_wanted`` is queued; once the metadata worker resolves the wish,
the search runs with the runtime, narrators and series position Audible gave. A wish that
resolution merges into an entry already wanted keeps answering under its old id: its search runs
on the surviving entry and ``GET /api/v1/wanted/{old id}`` (and ``/candidates``) show that entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from shared.infra.db import session_scope
from shared.models.metadata import Wanted
from shared.wanted.service import WantedRow, upsert_wanted
from shared.wanted.states import WantedReason
from tests.integration.stack import Stack, api_headers, job, wait_for, wait_state
from tests.integration.test_metadata_gaps import FAST_LIMITS
from tests.integration.test_metadata_world import ServedWorld, serve_world
from tests.sims.mam import MamSimState, serve_mam
from tests.sims.mam.catalogue import build_catalogue
from tests.sims.world import AudioEdition, Work, World, generate_world

pytestmark = pytest.mark.slow


def _unowned(world: World, n: int) -> list[tuple[Work, AudioEdition]]:
    out = []
    for w in sorted(world.works.values(), key=lambda w: w.work_id):
        edition = w.edition("us")
        if w.kind == "primary" and w.work_id not in world.owned_work_ids and edition is not None:
            out.append((w, edition))
    assert len(out) >= n
    return out[:n]


def _torrent(work: Work, edition: AudioEdition, series_name: str) -> dict[str, Any]:
    return {"title": work.title, "authors": list(work.authors), "narrators": list(edition.narrators),
            "series": [(series_name, work.position)], "tags": "Unabridged, 64 kbps",
            "size_bytes": int(edition.duration_seconds * 64_000 / 8), "seeders": 9}


@pytest.fixture(scope="module")
def world() -> Iterator[ServedWorld]:
    served = serve_world(generate_world(3, seed=11))
    yield served
    served.stop()


@pytest.fixture
def mam(world: ServedWorld) -> Iterator[MamSimState]:
    picks = _unowned(world.world, 2)
    specs = [_torrent(w, e, world.world.series_by_id[w.series_id].name) for w, e in picks]
    state = MamSimState(catalogue=build_catalogue(specs))
    base, stop = serve_mam(state)
    state.base = base  # type: ignore[attr-defined]
    yield state
    stop()


@pytest.fixture
def gateway(stack: Stack, world: ServedWorld, mam: MamSimState, api_key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    stack.env.update(world.env())
    stack.env.update({
        "MAMC_MAM_URL": mam.base,  # type: ignore[attr-defined]
        "MAMC_RATE_LIMITS": json.dumps({**FAST_LIMITS, "mam": "1/0.3/1"}),
        "MAMC_SCHEDULE_ACCOUNT_REFRESH": "0", "MAMC_SCHEDULE_CRAWL_AUTO_SEARCH": "0",
    })
    stack.worker("crawl", concurrency=2)
    _, base = stack.api()
    headers = api_headers(api_key)
    assert httpx.put(base + "/api/v1/account/session", headers=headers,
                     json={"mam_id": mam.session}).status_code == 204
    yield base, headers


def test_a_search_waits_for_resolution_and_a_merged_wish_answers_under_its_old_id(
    stack: Stack, gateway: tuple[str, dict[str, Any]], world: ServedWorld, mam: MamSimState,
) -> None:
    base, h = gateway
    (first, first_ed), (second, second_ed) = _unowned(world.world, 2)
    # the second book is already wanted (a followed author, typed by hand: no runtime, no narrators)
    with session_scope() as s:
        upsert_wanted(s, [WantedRow(reason=WantedReason.FOLLOWED_AUTHOR, title=second.title,
                                    authors=list(second.authors), priority=40)])
        survivor = s.scalar(select(Wanted.id).where(Wanted.title == second.title))
    assert survivor is not None

    typed = httpx.post(f"{base}/api/v1/wanted", headers=h,
                       json={"title": first.title, "author": first.authors[0]}).json()
    merged = httpx.post(f"{base}/api/v1/wanted", headers=h, json={"asin": second_ed.asin}).json()
    assert merged["id"] != survivor
    started = []
    for wanted_id in (typed["id"], merged["id"]):
        r = httpx.post(f"{base}/api/v1/wanted/{wanted_id}/search", headers=h)
        assert r.status_code == 202, r.text
        started.append(r.json()["id"])
    # no metadata worker yet: both searches wait, sending nothing to MAM and counting no attempt
    wait_for(lambda: all(job(j).rate_limit_waits >= 2 for j in started), 30, what="searches waiting")
    assert all(job(j).state in ("queued", "running") and job(j).attempts == 0 for j in started)
    assert not mam.requests_to("search")

    stack.worker("metadata", concurrency=2)
    for job_id in started:
        done = wait_state(job_id, ("succeeded", "failed", "dead"), 120)
        assert done.state == "succeeded", (done.error, done.result, stack.logs())

    shown = httpx.get(f"{base}/api/v1/wanted/{typed['id']}/candidates", headers=h).json()
    target = shown["search"]["target"]
    # Audible states runtimes in whole minutes
    assert abs(target["runtime_seconds"] - first_ed.duration_seconds) < 60
    assert target["narrators"] == list(first_ed.narrators)
    assert target["position"] == first.position and target["series"]
    assert shown["items"][0]["chosen"] and shown["items"][0]["title"] == first.title

    old = httpx.get(f"{base}/api/v1/wanted/{merged['id']}", headers=h)
    assert old.status_code == 200 and old.json()["id"] == survivor
    assert set(old.json()["reasons"]) == {"followed_author", "wishlist"}
    assert abs(old.json()["runtime_seconds"] - second_ed.duration_seconds) < 60
    via_old = httpx.get(f"{base}/api/v1/wanted/{merged['id']}/candidates", headers=h).json()
    assert via_old["wanted_id"] == survivor and via_old["search"] is not None
    assert via_old["items"][0]["chosen"] and via_old["items"][0]["title"] == second.title
    assert job(started[1]).result["wanted_id"] == survivor
