"""``crawl.top_list`` against real PostgreSQL and Redis and the MAM simulator over real HTTP.

The body runs in this process (through ``mam_session``: the real budget, gate and client); the
approval goes through the API app. What is proved:

- each category's top N of the window by snatches land as ``suggested`` with reason ``top_list``
  and their sighting in ``sources``; what lies outside the window, today's uploads, e-books and
  foreign editions are not asked for; owned books are skipped;
- a book the user ignored stays ignored, a wanted one stays wanted (both only gain the reason);
- a second run adds no row;
- ``PATCH {"approve": true}`` moves a suggestion to ``wanted`` (a second time changes nothing),
  refuses an ignored entry with 409, and ``approve: false`` is a 422;
- with no categories configured nothing at all is sent to MAM, even with no cookie set;
- with a real crawl worker, the job started through the API does the same.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shared.crawl import session as mam
from shared.crawl.jobs import TopListArgs
from shared.engine.ratelimit import RateLimiter
from shared.infra.db import session_scope
from shared.infra.redis_client import get_redis
from shared.infra.settings import get_settings
from shared.models.library import Work
from shared.models.metadata import OwnedKey, Wanted, wanted_key
from shared.wanted.states import WantedReason, WantedState
from tests.integration.conftest import reset_singletons
from tests.integration.stack import Stack, api_headers, wait_state
from tests.sims.mam import MamSimState, build_catalogue, serve_mam
from workers.context import JobContext
from workers.crawl.top_list import top_list

S = WantedState
FAST_MAM = json.dumps({"mam": "50/1/50", "probe": "1000/1/100"})
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def ago(days: float) -> datetime:
    return TODAY - timedelta(days=days)


def fantasy(title: str, snatches: int, added: datetime, **kw: Any) -> dict[str, Any]:
    return {"title": title, "authors": [kw.pop("author", "Ada Abbott")], "category": 41,
            "catname": "Audiobooks - Fantasy", "times_completed": snatches, "added": added, **kw}


def scifi(title: str, snatches: int, added: datetime) -> dict[str, Any]:
    return {"title": title, "authors": ["Sam Stars"], "category": 47, "catname": "Audiobooks - Science Fiction",
            "times_completed": snatches, "added": added}


CATALOGUE = [
    fantasy("Too Old", 9999, ago(8)),  # outside the 7-day window
    fantasy("Uploaded Today", 9000, TODAY + timedelta(hours=1)),  # the window ends before today
    fantasy("An E-Book", 8000, ago(1), main_cat=14),
    fantasy("Ein Hörbuch", 7000, ago(1), lang_code="GER"),
    fantasy("The Top One (Unabridged)", 500, ago(7)),  # the window's first day counts
    fantasy("Owned Book", 450, ago(2), author="Olga Owner"),
    fantasy("Declined Book", 400, ago(3)),
    fantasy("Wished Book", 300, ago(4)),
    fantasy("Just Missed", 200, ago(5)),
    fantasy("Far Behind", 100, ago(6)),
    scifi("Space One", 250, ago(1)),
    scifi("Space Two", 150, ago(2)),
]


SIM_ENV: dict[str, str] = {}


@pytest.fixture
def mam_sim(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[MamSimState]:
    """The simulator over HTTP, and the settings of this process pointed at it (``SIM_ENV``)."""
    state = MamSimState(catalogue=build_catalogue(CATALOGUE))
    base, stop = serve_mam(state)
    SIM_ENV.clear()
    SIM_ENV.update({"MAMC_MAM_URL": base, "MAMC_RATE_LIMITS": FAST_MAM, "MAMC_CRAWL_TOP_LIST_CATEGORIES": "41,47",
                    "MAMC_CRAWL_TOP_LIST_SIZE": "3"})
    for key, value in SIM_ENV.items():
        monkeypatch.setenv(key, value)
    reset_singletons()
    yield state
    stop()


def ctx(args: TopListArgs | None = None) -> JobContext[TopListArgs]:
    return JobContext(job_id=uuid.uuid4(), job_type="crawl.top_list", generation=1, attempt=1, correlation_id="t",
                      phase=None, args=args or TopListArgs(), limiter=RateLimiter(get_redis(), get_settings().limits()),
                      worker_host="test", worker_pid=0, lifetime_attempts=1)


def seed_library_and_list() -> dict[str, int]:
    """"Owned Book" is in the library; "Declined Book" was ignored, "Wished Book" is on the wishlist."""
    with session_scope() as s:
        work = Work(key="owned-book", title="Owned Book", title_key="owned book")
        s.add(work)
        s.flush()
        s.add(OwnedKey(kind="work", key=wanted_key("Owned Book", ["Olga Owner"]), work_id=work.id, author_keys=[]))
        ids = {}
        for title, state in (("Declined Book", S.IGNORED), ("Wished Book", S.WANTED)):
            row = Wanted(key=wanted_key(title, ["Ada Abbott"]), reason=WantedReason.WISHLIST,
                         reasons=[WantedReason.WISHLIST], state=state, priority=70, priority_manual=False,
                         title=title, authors=["Ada Abbott"], author_keys=["ada abbott"], sources={})
            s.add(row)
            s.flush()
            ids[title] = row.id
        return ids


def listed() -> dict[str, Wanted]:
    with session_scope() as s:
        rows = list(s.scalars(select(Wanted).order_by(Wanted.id)))
        s.expunge_all()
        return {r.title or "": r for r in rows}


def test_top_lists_suggest_each_categorys_most_snatched_and_approval_makes_them_wanted(
        mam_sim: MamSimState, api_key: str) -> None:
    seeded = seed_library_and_list()
    with session_scope() as s:
        mam.enter_cookie(s, mam_sim.session)

    result = top_list(ctx())

    searches = mam_sim.requests_to("search")
    assert len(searches) == 2 and len(mam_sim.log) == 2  # one per category, nothing else
    start, end = (TODAY - timedelta(days=7)).date().isoformat(), TODAY.date().isoformat()
    for entry, category in zip(searches, ("41", "47"), strict=True):
        tor = entry.params["tor"]
        assert (tor["cat"], tor["main_cat"], tor["browse_lang"], tor["sortType"]) == (
            [category], [13], [1], "snatchedDesc")
        assert (tor["startDate"], tor["endDate"], tor["text"]) == (start, end, "")
        assert "dlLink" not in entry.params
    assert result["requests"] == 2 and result["window"] == {"start": start, "end": end}
    assert result["categories"]["41"]["skipped"] == {"owned": 1}
    assert (result["suggested"], result["already_listed"]) == (3, 2)

    rows = listed()
    # Fantasy's top 3 not owned: the top one (new), the declined and the wished (both already listed)
    assert set(rows) == {"The Top One", "Declined Book", "Wished Book", "Space One", "Space Two"}
    for title in ("The Top One", "Space One", "Space Two"):
        assert (rows[title].state, rows[title].reasons, rows[title].reason) == (S.SUGGESTED, ["top_list"], "top_list")
    assert rows["Declined Book"].state == S.IGNORED and rows["Declined Book"].reasons == ["top_list", "wishlist"]
    assert rows["Wished Book"].state == S.WANTED and rows["Wished Book"].priority == 70
    top = rows["The Top One"].sources["top_list"]
    assert (top["category"], top["rank"], top["times_completed"]) == (41, 1, 500)
    assert top["torrent_id"] == next(t.id for t in mam_sim.catalogue if t.title.startswith("The Top One"))
    assert rows["Space Two"].sources["top_list"]["rank"] == 2 and rows["Space One"].language == "en"
    stored = json.dumps([r.sources for r in rows.values()])
    assert mam_sim.session not in stored and mam_sim.dl_secret not in stored

    again = top_list(ctx())  # a second run: the same books, no new row, no state changed
    assert (again["suggested"], again["already_listed"]) == (0, 5)
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Wanted)) == 5
    assert {t: r.state for t, r in listed().items()} == {t: r.state for t, r in rows.items()}

    from api.app import create_app

    with TestClient(create_app()) as client:
        h = api_headers(api_key)
        shown = client.get("/api/v1/wanted", params={"state": "suggested"}, headers=h).json()["items"]
        assert [w["title"] for w in shown] == ["The Top One", "Space One", "Space Two"]
        top_id = shown[0]["id"]
        for _ in range(2):  # the second approval changes nothing
            approved = client.patch(f"/api/v1/wanted/{top_id}", json={"approve": True}, headers=h)
            assert approved.status_code == 200, approved.text
            assert approved.json()["state"] == "wanted" and approved.json()["reasons"] == ["top_list"]
        refused = client.patch(f"/api/v1/wanted/{seeded['Declined Book']}", json={"approve": True}, headers=h)
        assert refused.status_code == 409 and refused.json()["title"] == "Not a suggestion"
        assert refused.headers["content-type"] == "application/problem+json"
        assert client.patch(f"/api/v1/wanted/{top_id}", json={"approve": False}, headers=h).status_code == 422
        both = client.patch(f"/api/v1/wanted/{top_id}", json={"approve": True, "ignore": True}, headers=h)
        assert both.status_code == 422
        declined = client.patch(f"/api/v1/wanted/{shown[1]['id']}", json={"ignore": True}, headers=h)
        assert declined.json()["state"] == "ignored"
        left = client.get("/api/v1/wanted", params={"state": "suggested"}, headers=h).json()["items"]
        assert [w["title"] for w in left] == ["Space Two"]
        by_reason = client.get("/api/v1/wanted", params={"reason": "top_list"}, headers=h).json()["items"]
        assert len(by_reason) == 5

    top_list(ctx())  # a third run keeps the user's decisions
    assert {t: r.state for t, r in listed().items()} == {
        "The Top One": S.WANTED, "Declined Book": S.IGNORED, "Wished Book": S.WANTED, "Space One": S.IGNORED,
        "Space Two": S.SUGGESTED}


def test_arguments_override_the_settings_and_a_short_first_page_reads_the_next(mam_sim: MamSimState) -> None:
    mam_sim.catalogue = build_catalogue([fantasy(f"Owned {i}", 1000 - i, ago(1)) for i in range(26)]
                                        + [fantasy("Below The Owned", 10, ago(1))])
    with session_scope() as s:
        mam.enter_cookie(s, mam_sim.session)
        for i in range(26):
            work = Work(key=f"w{i}", title=f"Owned {i}", title_key=f"owned {i}")
            s.add(work)
            s.flush()
            s.add(OwnedKey(kind="work", key=wanted_key(f"Owned {i}", ["Ada Abbott"]), work_id=work.id,
                           author_keys=[]))
    result = top_list(ctx(TopListArgs(categories=[41], days=2, size=1)))
    assert [e.params["tor"]["startNumber"] for e in mam_sim.requests_to("search")] == [0, 25]
    assert mam_sim.log[0].params["tor"]["startDate"] == (TODAY - timedelta(days=2)).date().isoformat()
    assert result["categories"]["41"] == {"requests": 2, "picked": 1, "suggested": 1, "already_listed": 0,
                                          "skipped": {"owned": 26}, "wanted_ids": [listed()["Below The Owned"].id]}


def test_with_no_categories_nothing_is_asked_of_mam(mam_sim: MamSimState, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAMC_CRAWL_TOP_LIST_CATEGORIES", "")
    get_settings.cache_clear()
    # no cookie is set either: a job that opened a MAM session would park here instead of answering
    result = top_list(ctx())
    assert result["requests"] == 0 and "no categories configured" in result["skipped"]
    assert mam_sim.log == [] and listed() == {}
    assert top_list(ctx(TopListArgs(categories=[])))["requests"] == 0 and mam_sim.log == []


@pytest.mark.slow
def test_the_job_through_the_api_with_a_real_crawl_worker(stack: Stack, mam_sim: MamSimState, api_key: str) -> None:
    stack.env.update(SIM_ENV)
    with session_scope() as s:
        mam.enter_cookie(s, mam_sim.session)
    stack.worker("crawl", concurrency=1)
    _, base = stack.api()
    created = httpx.post(base + "/api/v1/jobs", headers=api_headers(api_key), timeout=30,
                         json={"type": "crawl.top_list", "args": {"categories": [47], "size": 5}})
    assert created.status_code == 202, created.text
    done = wait_state(created.json()["id"], ("succeeded", "failed", "dead"), 60)
    assert done.state == "succeeded", (done.error, stack.logs())
    assert done.result is not None and done.result["suggested"] == 2 and done.result["requests"] == 1
    assert {t: r.state for t, r in listed().items()} == {"Space One": S.SUGGESTED, "Space Two": S.SUGGESTED}

