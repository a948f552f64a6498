"""``crawl.search`` with real crawl workers, the real gateway and the MAM simulator over HTTP.

- ``POST /api/v1/wanted/{id}/search`` answers 202 with the job; the worker searches (strategies,
  cheapest first), chooses the one best edition and stores every candidate with its reasons;
  ``GET /api/v1/wanted/{id}/candidates`` shows them ranked, the chosen one first; the entry went
  ``wanted -> searching -> wanted`` and points at its candidate.
- The same search again within the cache window sends nothing to MAM.
- "Nothing acceptable" is stored with its reasons and a time to look again; automatic searching
  skips the entry until then.
- ``my_snatched`` in its filtering reading: the snatched rows are remembered locally and never
  chosen, the candidates come from a second, unflagged request.
- A suggestion, an ignored entry or an unknown id cannot be searched (409/404, problem+json).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from shared.infra.db import session_scope
from shared.models.crawl import MamSnatched
from shared.models.metadata import Wanted
from shared.wanted.service import WantedRow, upsert_wanted
from shared.wanted.states import WantedReason, WantedState
from tests.integration.stack import Stack, api_headers, wait_state
from tests.sims.mam import MamSimState, serve_mam
from tests.sims.mam.catalogue import build_catalogue

pytestmark = pytest.mark.slow
SPACING = 0.5
HOURS = 3600.0

BOOK = {"title": "The Glass Orchard", "authors": ["Mira Calloway"], "narrators": ["Jonah Pike"],
        "series": [("Orchard Cycle", "2")], "tags": "Unabridged, 64 kbps, Harper Audio",
        "size_bytes": 300 * 1024 * 1024, "seeders": 12}


def catalogue() -> list[dict[str, Any]]:
    return [
        {**BOOK},  # the one to choose
        {**BOOK, "filetype": "mp3", "numfiles": 40, "tags": "Unabridged, 64 kbps"},  # worse format
        {**BOOK, "title": "The Glass Orchard (GraphicAudio)", "narrators": ["A Full Cast"],
         "tags": "GraphicAudio, dramatized, full cast"},  # a dramatisation
        {**BOOK, "main_cat": 14, "category": 63, "filetype": "epub", "size_bytes": 2 * 1024 * 1024},  # an e-book
        {**BOOK, "title": "The Glass Orchard", "authors": ["Someone Else"], "narrators": ["Other Voice"],
         "series": []},  # the same title by another author
        {"title": "The Glass Orchard Omnibus", "authors": ["Mira Calloway"], "series": [("Orchard Cycle", "1-3")],
         "size_bytes": 900 * 1024 * 1024, "narrators": ["Jonah Pike"]},  # a collection containing it
    ]


@pytest.fixture
def mam() -> Iterator[MamSimState]:
    state = MamSimState(catalogue=build_catalogue(catalogue()))
    base, stop = serve_mam(state)
    state.base = base  # type: ignore[attr-defined]
    yield state
    stop()


@pytest.fixture
def api(stack: Stack, mam: MamSimState, api_key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    stack.env.update({
        "MAMC_MAM_URL": mam.base,  # type: ignore[attr-defined]
        "MAMC_RATE_LIMITS": json.dumps({"mam": f"1/{SPACING}/1", "probe": "1000/1/100"}),
        "MAMC_MAM_BACKOFF_SECONDS": "2",
        "MAMC_SCHEDULE_ACCOUNT_REFRESH": "0",
        "MAMC_SCHEDULE_CRAWL_AUTO_SEARCH": "0",
    })
    stack.worker("crawl", concurrency=2)
    _, base = stack.api()
    headers = api_headers(api_key)
    r = httpx.put(base + "/api/v1/account/session", headers=headers, json={"mam_id": mam.session})
    assert r.status_code == 204, r.text
    yield base, headers


def want(title: str, authors: list[str], *, series: tuple[str, str] | None = None, runtime: float | None = None,
         narrators: list[str] | None = None, state: WantedState | None = None) -> int:
    row = WantedRow(reason=WantedReason.FOLLOWED_AUTHOR, title=title, authors=authors, priority=60,
                    series_name=series[0] if series else None, position=series[1] if series else None,
                    language="en", runtime_seconds=runtime, narrators=narrators or [])
    with session_scope() as s:
        upsert_wanted(s, [row])
        wanted_id = int(s.scalar(select(Wanted.id).where(Wanted.key == row.key)) or 0)
        if state is not None:
            s.execute(text("UPDATE wanted SET state = :st WHERE id = :i"), {"st": state.value, "i": wanted_id})
    return wanted_id


def search(base: str, h: dict[str, Any], wanted_id: int, **body: Any) -> dict[str, Any]:
    r = httpx.post(f"{base}/api/v1/wanted/{wanted_id}/search", headers=h, json=body or None, timeout=30)
    assert r.status_code == 202, r.text
    started: dict[str, Any] = r.json()
    done = wait_state(started["id"], ("succeeded", "failed", "dead"), 90)
    assert done.state == "succeeded", (done.error, done.result)
    return started


def candidates(base: str, h: dict[str, Any], wanted_id: int) -> dict[str, Any]:
    r = httpx.get(f"{base}/api/v1/wanted/{wanted_id}/candidates", headers=h, timeout=30)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def entry(wanted_id: int) -> Wanted:
    with session_scope() as s:
        row = s.get(Wanted, wanted_id)
        assert row is not None
        s.expunge(row)
        return row


def test_a_search_chooses_the_best_edition_and_shows_every_reason(
    api: tuple[str, dict[str, Any]], mam: MamSimState,
) -> None:
    base, h = api
    wanted_id = want("The Glass Orchard", ["Mira Calloway"], series=("Orchard Cycle", "2"), runtime=11 * HOURS,
                     narrators=["Jonah Pike"])
    assert candidates(base, h, wanted_id) == {"wanted_id": wanted_id, "state": "wanted", "search": None, "items": []}
    started = search(base, h, wanted_id)
    assert started["type"] == "crawl.search" and started["wanted_id"] == wanted_id and started["created"]

    shown = candidates(base, h, wanted_id)
    items = shown["items"]
    best = catalogue_ids(mam)[0]
    assert items[0]["chosen"] and items[0]["torrent_id"] == best, [(i["torrent_id"], i["rejections"]) for i in items]
    assert sum(i["chosen"] for i in items) == 1
    codes = {i["torrent_id"]: {r["code"] for r in i["rejections"]} for i in items}
    ids = catalogue_ids(mam)
    assert codes[ids[1]] == set()  # the MP3: acceptable, ranked below the M4B
    assert ids[3] not in codes, "the e-book is outside the audiobook main category the search asks for"
    assert "dramatisation" in codes[ids[2]], codes
    assert ids[4] not in codes, "the title+author query does not find another author's book"
    assert "collection" in codes[ids[5]], codes
    assert items[0]["score"] > next(i["score"] for i in items if i["torrent_id"] == ids[1])
    assert items[0]["cost"]["kind"] and items[0]["breakdown"]
    search_row = shown["search"]
    assert search_row["outcome"] == "chosen" and search_row["chosen_torrent_id"] == best
    assert search_row["target"]["runtime_seconds"] == 11 * HOURS and search_row["queries"]
    assert shown["state"] == "wanted"
    row = entry(wanted_id)
    assert row.state == WantedState.WANTED and row.chosen_torrent_id == best and row.search_misses == 0
    assert not mam.requests_to("download") and not mam.requests_to("bonus")

    sent = len(mam.requests_to("search"))
    again = search(base, h, wanted_id)
    assert again["id"] != started["id"]
    assert len(mam.requests_to("search")) == sent, "a repeated search must be cached"
    assert candidates(base, h, wanted_id)["items"][0]["torrent_id"] == best


def catalogue_ids(mam: MamSimState) -> list[int]:
    return [t.id for t in mam.catalogue]


def test_nothing_acceptable_is_an_answer_with_its_reasons_and_a_time_to_look_again(
    api: tuple[str, dict[str, Any]], mam: MamSimState,
) -> None:
    base, h = api
    # the rows found are the book at position 2 (and its omnibus): the entry wants position 7
    wanted_id = want("The Glass Orchard", ["Mira Calloway"], series=("Orchard Cycle", "7"), runtime=11 * HOURS)
    search(base, h, wanted_id, dry_run=True)
    shown = candidates(base, h, wanted_id)
    assert shown["search"]["outcome"] == "nothing" and shown["search"]["chosen_torrent_id"] is None
    assert shown["search"]["dry_run"] is True
    assert shown["search"]["summary"].startswith("nothing acceptable")
    assert shown["items"] and all(i["rejections"] and not i["chosen"] for i in shown["items"])
    row = entry(wanted_id)
    assert row.state == WantedState.WANTED and row.search_misses == 1 and row.next_search_at is not None
    assert row.chosen_torrent_id is None
    with session_scope() as s:
        from shared.crawl.searches import due_for_search
        from shared.infra.clock import utcnow

        assert wanted_id not in due_for_search(s, utcnow(), 100), "the back-off must hold it back"


def test_filtered_my_snatched_is_remembered_and_never_chosen(
    api: tuple[str, dict[str, Any]], mam: MamSimState,
) -> None:
    base, h = api
    mam.snatched_mode = "filter"
    best = mam.catalogue[0]
    best.snatched = True
    wanted_id = want("The Glass Orchard", ["Mira Calloway"], series=("Orchard Cycle", "2"), runtime=11 * HOURS,
                     narrators=["Jonah Pike"])
    search(base, h, wanted_id)
    items = candidates(base, h, wanted_id)["items"]
    by_id = {i["torrent_id"]: i for i in items}
    assert not by_id[best.id]["chosen"]
    assert "already_snatched" in {r["code"] for r in by_id[best.id]["rejections"]}
    assert items[0]["chosen"] and items[0]["torrent_id"] == mam.catalogue[1].id  # the MP3 is next best
    with session_scope() as s:
        assert s.scalar(select(MamSnatched.source).where(MamSnatched.torrent_id == best.id)) == "mam"
    bodies = [e.params for e in mam.requests_to("search")]
    flagged = [b for b in bodies if isinstance(b, dict) and b.get("my_snatched")]
    assert flagged and len(bodies) > len(flagged), "the candidates need a request without the flag"


def test_only_searchable_entries_are_searched(api: tuple[str, dict[str, Any]]) -> None:
    base, h = api
    suggested = want("A Suggested Book", ["Some Author"], state=WantedState.SUGGESTED)
    ignored = want("An Ignored Book", ["Some Author"], state=WantedState.IGNORED)
    for wanted_id, state in ((suggested, "suggested"), (ignored, "ignored")):
        r = httpx.post(f"{base}/api/v1/wanted/{wanted_id}/search", headers=h)
        assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
        assert state in r.json()["detail"]
    missing = httpx.post(f"{base}/api/v1/wanted/999999/search", headers=h)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    assert httpx.get(f"{base}/api/v1/wanted/999999/candidates", headers=h).status_code == 404
    bad = httpx.post(f"{base}/api/v1/wanted/{suggested}/search", headers=h, json={"dry_run": "maybe"})
    assert bad.status_code == 422


def test_an_expired_cookie_parks_every_search_and_a_new_one_resumes_them_leaking_nothing(
    stack: Stack, api: tuple[str, dict[str, Any]], mam: MamSimState,
) -> None:
    from shared.crawl.session import GATE
    from tests.integration.test_mam_account import Api, scan_for_secrets
    from tests.sims.mam.render import dl_hash

    base, h = api
    stack.worker("crawl", concurrency=2)  # a second process
    client = Api(base, "")
    client.headers = h
    mam.rotate_every = 3
    titles = [f"The Glass Orchard Part {n}" for n in range(6)]
    for n, title in enumerate(titles):
        mam.catalogue.append(build_catalogue([{**BOOK, "title": title, "id": 500_000 + n}])[0])
    ids = [want(title, ["Mira Calloway"], runtime=11 * HOURS) for title in titles]
    first = client.call("POST", f"/api/v1/wanted/{ids[0]}/search")
    assert first.status_code == 202
    assert wait_state(first.json()["id"], ("succeeded", "failed", "dead"), 90).state == "succeeded"

    mam.expire()
    sent_before = len(mam.log)
    jobs = []
    for wanted_id in ids[1:]:
        r = client.call("POST", f"/api/v1/wanted/{wanted_id}/search")
        assert r.status_code == 202, r.text
        jobs.append(r.json()["id"])
    for job_id in jobs:
        parked = wait_state(job_id, ("waiting", "succeeded", "failed", "dead"), 60)
        assert parked.state == "waiting" and parked.parked_on == GATE, (parked.state, parked.error)
        assert parked.attempts == 0
    assert [e.status for e in mam.log[sent_before:]] == [403], "the first 403 must stop every MAM job"

    r = client.call("PUT", "/api/v1/account/session", json={"mam_id": mam.set_session()})
    assert r.status_code == 204
    for job_id, wanted_id in zip(jobs, ids[1:], strict=True):
        done = wait_state(job_id, ("succeeded", "failed", "dead"), 120)
        assert done.state == "succeeded" and done.attempts == 1, (done.error, stack.logs())
        shown = client.call("GET", f"/api/v1/wanted/{wanted_id}/candidates").json()
        assert shown["state"] == "wanted" and shown["search"]["outcome"] == "chosen"
    with session_scope() as s:
        assert s.scalar(text("SELECT count(*) FROM jobs WHERE state IN ('dead', 'failed')")) == 0
        searched = "\n".join(str(r) for r in s.execute(text(
            "SELECT queries::text, target::text, summary FROM mam_searches "
            "UNION ALL SELECT item::text, title, '' FROM mam_candidates "
            "UNION ALL SELECT sources::text, '', '' FROM wanted")))
    stack.stop()
    secrets = [*mam.issued, mam.passkey, *(dl_hash(t.id, mam.dl_secret) for t in mam.catalogue)]
    client.bodies.append(searched)  # the stored decisions are scanned with the API's answers
    scan_for_secrets(stack.workdir, client, secrets)


def test_automatic_searching_queues_due_entries_by_priority_and_respects_the_back_off(
    api: tuple[str, dict[str, Any]], mam: MamSimState,
) -> None:
    from datetime import timedelta

    from shared.engine import ledger
    from shared.infra.clock import utcnow

    base, h = api
    found = want("The Glass Orchard", ["Mira Calloway"], series=("Orchard Cycle", "2"), runtime=11 * HOURS,
                 narrators=["Jonah Pike"])
    missing = want("The Silver Meadow", ["Mira Calloway"], series=("Orchard Cycle", "7"), runtime=11 * HOURS)
    later = want("A Book Nobody Uploaded", ["Mira Calloway"])
    stuck = want("Stuck Searching", ["Mira Calloway"], state=WantedState.SEARCHING)
    with session_scope() as s:
        s.execute(text("UPDATE wanted SET priority = CASE id WHEN :a THEN 90 WHEN :b THEN 80 ELSE 10 END, "
                       "updated_at = now() - interval '2 hours' WHERE id IN (:a, :b, :c, :d)"),
                  {"a": found, "b": missing, "c": later, "d": stuck})

    def run_auto() -> dict[str, Any]:
        with session_scope() as s:
            job_id = ledger.create_job(s, "crawl.auto_search", {}).job.id
        done = wait_state(job_id, ("succeeded", "failed", "dead"), 60)
        assert done.state == "succeeded", done.error
        result: dict[str, Any] = done.result
        return result

    first = run_auto()
    assert first["stale_reset"] == 1 and first["due"] == 4 and first["queued"] == 4
    assert first["wanted_ids"] == [found, missing, later, stuck], "highest priority first, then the oldest"
    with session_scope() as s:
        searches = list(s.execute(text("SELECT (args->>'wanted_id')::int, id FROM jobs WHERE type = 'crawl.search'")))
    for _, job_id in searches:
        assert wait_state(job_id, ("succeeded", "failed", "dead"), 120).state == "succeeded"
    assert entry(found).chosen_torrent_id == mam.catalogue[0].id
    assert entry(missing).search_misses == 1 and entry(later).search_misses == 1

    second = run_auto()
    assert second["due"] == 0, "chosen entries wait for the download pool; missed ones for their back-off"
    with session_scope() as s:  # the back-off passes for one of them
        s.execute(text("UPDATE wanted SET next_search_at = :t WHERE id = :i"),
                  {"t": utcnow() - timedelta(seconds=1), "i": later})
    third = run_auto()
    assert third["due"] == 1 and third["queued"] == 1
