"""The wanted list, wishlist, follows, series gaps and review list through the real API process.

A 30-series world is synced and scanned by real workers; the API (a real process) must then list,
filter and page the wanted list, remember an ignore across a rescan, keep a user's priority, show a
series' owned and missing positions with their sources, take wishlist entries (filled in by a job),
follow authors in both modes, and list a low-confidence match for review.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shared.infra.db import session_scope
from shared.names import author_key
from shared.normalize import fold_name
from tests.integration.stack import Stack, api_headers, wait_for
from tests.integration.test_metadata_gaps import FAST_LIMITS
from tests.integration.test_metadata_world import ServedWorld, gap_figures, jobs_of, run_job, serve_world, wanted_rows
from tests.sims.world import Work, World, generate_world

pytestmark = pytest.mark.slow


def _bait(world: World) -> Work:
    """An unowned novella with a US edition: added to ABS at half its runtime, no ASIN (a wrong recording)."""
    owned = world.owned_work_ids
    return next(w for w in world.works.values()
                if w.kind == "novella" and w.work_id not in owned and w.edition("us") is not None)


@pytest.fixture(scope="module")
def world30() -> Iterator[ServedWorld]:
    world = generate_world(30, seed=3)
    served = serve_world(world)
    bait = _bait(world)
    edition = bait.edition("us")
    assert edition is not None
    library = next(iter(served.abs_state.libraries))
    served.abs_state.add_book(library, title=bait.title, authors=list(bait.authors), language="English",
                              duration=edition.duration_seconds * 0.5, rel_path="bait")
    yield served
    served.stop()


@pytest.fixture
def api(stack: Stack, world30: ServedWorld, api_key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    stack.env.update(world30.env())
    stack.env["MAMC_RATE_LIMITS"] = json.dumps(FAST_LIMITS)
    stack.worker("library_sync", concurrency=2)
    stack.worker("metadata", concurrency=4)
    _, base = stack.api()
    assert run_job("library.sync", timeout=120).state == "succeeded"
    scan()
    yield base, api_headers(api_key)


def scan(world: World | None = None, *, force: bool = False) -> None:
    as_of = (world or generate_world(30, seed=3)).as_of.isoformat()
    done = run_job("gaps.detect", {"as_of": as_of, "force": force}, timeout=300)
    assert done.state == "succeeded", (done.error, done.result)


def all_pages(base: str, h: dict[str, Any], path: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = httpx.get(base + path, headers=h, params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        page = r.json()
        out += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return out


def test_wanted_list_filters_pages_ignores_and_series_gaps(api: tuple[str, dict[str, Any]],
                                                           world30: ServedWorld) -> None:
    base, h = api
    world = world30.world
    items = all_pages(base, h, "/api/v1/wanted", limit=7)
    assert items and len({i["id"] for i in items}) == len(items) == len(wanted_rows())
    assert [i["priority"] for i in items] == sorted((i["priority"] for i in items), reverse=True)
    assert gap_figures(world, items).owned_listed == []
    gaps = [i for i in items if i["reason"] == "series_gap"]
    assert all(i["series"]["position"] and i["language"] == "en" and i["state"] == "wanted" for i in gaps)
    # the position right after the highest owned one comes first within its series
    assert {i["priority"] for i in gaps} & {100}
    # filters
    assert all_pages(base, h, "/api/v1/wanted", reason="wishlist") == []
    one = next(i for i in gaps if i["series"]["id"] is not None)
    by_author = all_pages(base, h, "/api/v1/wanted", author=one["authors"][0])
    assert one["id"] in {i["id"] for i in by_author}
    assert all(author_key(one["authors"][0]) in {author_key(a) for a in i["authors"]} for i in by_author)
    series_id = one["series"]["id"]
    in_series = all_pages(base, h, "/api/v1/wanted", series=str(series_id))
    assert one["id"] in {i["id"] for i in in_series}
    # GET /series/{id}: owned and missing positions with their sources, existing fields kept
    detail = httpx.get(f"{base}/api/v1/series/{series_id}", headers=h).json()
    assert {"id", "name", "book_count", "positions", "members"} <= set(detail)
    assert {i["series"]["metadata_series_id"] for i in in_series} <= {g["metadata_series_id"] for g in detail["gaps"]}
    gap_view = next(g for g in detail["gaps"] if g["metadata_series_id"] == one["series"]["metadata_series_id"])
    assert {m["wanted_id"] for m in gap_view["missing"]} == {
        i["id"] for i in in_series
        if "series_gap" in i["reasons"] and i["series"]["metadata_series_id"] == gap_view["metadata_series_id"]}
    assert all(m["sources"] for m in gap_view["missing"])
    owned_positions = {o["position"] for o in gap_view["owned"]}
    assert all(o["sources"] for o in gap_view["owned"])
    assert not owned_positions & {m["position"] for m in gap_view["missing"]}
    assert gap_view["listings"] and {x["provider"] for x in gap_view["listings"]} <= {"audible", "hardcover"}
    every_owned = {o["position"] for g in detail["gaps"] for o in g["owned"]}
    assert {p for p in detail["positions"] if "-" not in p and "." not in p} <= every_owned
    unnamed = next((i for i in gaps if i["series"]["id"] is None), None)
    if unnamed is not None:  # a series only the provider matches revealed: readable by its metadata id
        view = httpx.get(f"{base}/api/v1/metadata/series/{unnamed['series']['metadata_series_id']}", headers=h).json()
        assert view["library_series_ids"] == [] and unnamed["id"] in {m["wanted_id"] for m in view["missing"]}
    assert httpx.get(f"{base}/api/v1/metadata/series/999999", headers=h).status_code == 404
    assert gap_view["listings"] and {x["provider"] for x in gap_view["listings"]} <= {"audible", "hardcover"}
    # ignore is remembered across a rescan; a user's priority stays
    ignored, pinned = gaps[0], gaps[-1]
    r = httpx.patch(f"{base}/api/v1/wanted/{ignored['id']}", headers=h, json={"ignore": True})
    assert r.status_code == 200 and r.json()["state"] == "ignored"
    r = httpx.patch(f"{base}/api/v1/wanted/{pinned['id']}", headers=h, json={"priority": 999})
    assert r.status_code == 200 and r.json()["priority"] == 999
    assert httpx.patch(f"{base}/api/v1/wanted/{pinned['id']}", headers=h, json={}).status_code == 422
    assert httpx.patch(f"{base}/api/v1/wanted/999999", headers=h, json={"ignore": True}).status_code == 404
    scan(world)
    after = {i["id"]: i for i in all_pages(base, h, "/api/v1/wanted")}
    assert after[ignored["id"]]["state"] == "ignored"
    assert after[pinned["id"]]["priority"] == 999
    assert len(after) == len(items)
    assert all_pages(base, h, "/api/v1/wanted", state="ignored") == [after[ignored["id"]]]
    assert httpx.get(f"{base}/api/v1/wanted", headers=h, params={"state": "bogus"}).status_code == 422


def _unowned_primary(world: World, wanted_titles: set[str]) -> Work:
    owned = world.owned_work_ids
    return next(w for w in sorted(world.works.values(), key=lambda w: w.work_id)
                if w.kind == "primary" and w.work_id not in owned and w.edition("us") is not None
                and fold_name(w.title) not in wanted_titles and w.release_date <= world.as_of)


def test_wishlist_by_asin_and_by_title_author(api: tuple[str, dict[str, Any]], world30: ServedWorld) -> None:
    base, h = api
    world = world30.world
    novella = next(w for w in sorted(world.works.values(), key=lambda w: w.work_id)
                   if w.kind == "novella" and w.work_id not in world.owned_work_ids and w.edition("us") is not None
                   and w.title != _bait(world).title)
    edition = novella.edition("us")
    assert edition is not None
    r = httpx.post(f"{base}/api/v1/wanted", headers=h, json={"asin": edition.asin})
    assert r.status_code == 201, r.text
    by_asin = r.json()
    assert by_asin["reasons"] == ["wishlist"] and by_asin["title"] is None
    resolved = wait_for(lambda: _wanted(by_asin["id"]) if (_wanted(by_asin["id"]) or {}).get("title") else None,
                        60, what="ASIN resolved")
    assert resolved["title"] == novella.title and resolved["position"] == novella.position
    assert resolved["series_name"]
    # by title + author ("Last, First" as a tagger writes it), resolved to the ASIN
    target = _unowned_primary(world, {fold_name(i["title"] or "") for i in wanted_rows()})
    first, last = target.authors[0].rsplit(" ", 1)
    r = httpx.post(f"{base}/api/v1/wanted", headers=h, json={"title": target.title, "author": f"{last}, {first}"})
    assert r.status_code == 201, r.text
    main = target.edition("us")
    assert main is not None
    wait_for(lambda: (_wanted(r.json()["id"]) or {}).get("asin") == main.asin, 60, what="title resolved")
    # a book already wanted as a series gap: one row, both reasons
    gap = next(i for i in wanted_rows("series_gap") if "wishlist" not in i["reasons"])
    row = _wanted(gap["id"])
    assert row is not None
    again = httpx.post(f"{base}/api/v1/wanted", headers=h, json={"title": row["title"], "authors": row["authors"]})
    assert again.status_code == 200 and again.json()["id"] == gap["id"]
    assert set(again.json()["reasons"]) == {"series_gap", "wishlist"}
    # owned books are refused; nonsense is a 422
    owned = next(o for o in world.ownerships if o.book.asin)
    assert httpx.post(f"{base}/api/v1/wanted", headers=h, json={"asin": owned.book.asin}).status_code == 409
    assert httpx.post(f"{base}/api/v1/wanted", headers=h, json={"title": "x"}).status_code == 422
    assert httpx.post(f"{base}/api/v1/wanted", headers=h, json={"asin": "short"}).status_code == 422
    assert all_pages(base, h, "/api/v1/wanted", reason="wishlist")


def _wanted(wanted_id: int) -> dict[str, Any] | None:
    with session_scope() as s:
        row = s.execute(text("SELECT * FROM wanted WHERE id = :i"), {"i": wanted_id}).mappings().first()
    return dict(row) if row else None


def _expected_follow(world: World, author: str, *, after: str | None) -> set[str]:
    """The world's answer: the author's primary books with a US edition, unowned, not covered by an omnibus."""
    covered = {(t.series_id, p) for t in world.truths.values() for p in t.covered_positions}
    out = set()
    for w in world.works.values():
        if author not in w.authors or w.kind != "primary" or w.edition("us") is None:
            continue
        if w.work_id in world.owned_work_ids or (w.series_id, int(w.position)) in covered:
            continue
        if after is not None and w.release_date.isoformat() <= after:
            continue
        out.add(w.title)
    return out


def test_follows_all_and_future(api: tuple[str, dict[str, Any]], world30: ServedWorld) -> None:
    base, h = api
    world = world30.world
    series = next(s for s in world.series if any(q.startswith("unreleased") for q in s.quirks))
    author = series.authors[0]
    r = httpx.post(f"{base}/api/v1/follows", headers=h,
                   json={"author": author, "mode": "future", "since": f"{world.as_of.isoformat()}T00:00:00Z"})
    assert r.status_code == 201, r.text
    follow_id = r.json()["id"]
    wait_for(lambda: _follow_checked(), 60, what="follow checked")
    future = {i["title"] for i in all_pages(base, h, "/api/v1/wanted", reason="followed_author")}
    expected_future = _expected_follow(world, author, after=world.as_of.isoformat())
    assert expected_future and future == expected_future
    # the same author in mode "all": every unowned released book becomes wanted, never an owned one
    r = httpx.post(f"{base}/api/v1/follows", headers=h, json={"author": author.upper(), "mode": "all"})
    assert r.status_code == 200 and r.json()["id"] == follow_id and r.json()["mode"] == "all"
    wait_for(lambda: _follow_checked(2), 60, what="follow re-checked")
    followed = all_pages(base, h, "/api/v1/wanted", reason="followed_author")
    assert {i["title"] for i in followed} == _expected_follow(world, author, after=None)
    assert gap_figures(world, followed).owned_listed == []
    assert [f["author"] for f in httpx.get(f"{base}/api/v1/follows", headers=h).json()["items"]] == [author.upper()]
    # unfollowing drops the books wanted only because of the author
    assert httpx.delete(f"{base}/api/v1/follows/{follow_id}", headers=h).status_code == 204
    assert all_pages(base, h, "/api/v1/wanted", reason="followed_author") == []
    assert httpx.get(f"{base}/api/v1/follows", headers=h).json()["items"] == []
    assert httpx.delete(f"{base}/api/v1/follows/{follow_id}", headers=h).status_code == 404


def _follow_checked(n: int = 1) -> bool:
    return sum(1 for j in jobs_of("metadata.follow") if j.state == "succeeded") >= n


def test_review_list_and_decision(api: tuple[str, dict[str, Any]], world30: ServedWorld) -> None:
    base, h = api
    bait = _bait(world30.world)
    review = all_pages(base, h, "/api/v1/metadata/review", limit=2)
    item = next(i for i in review if i["library"]["title"] == bait.title)
    assert item["state"] == "review" and item["confidence"] < 0.8
    assert item["candidate"]["title"] == bait.title and item["details"]["score"]["duration"] == 0.0
    r = httpx.post(f"{base}/api/v1/metadata/review/{item['recording_id']}/{item['provider']}", headers=h,
                   json={"accept": False})
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    wait_for(lambda: any(j.state == "succeeded" for j in jobs_of("metadata.merge")), 60, what="merge")
    book = httpx.get(f"{base}/api/v1/metadata/books/{item['library']['book_id']}", headers=h).json()
    fields = book["recordings"][0]["fields"]
    assert fields["title"]["source"] == "abs"  # a rejected candidate contributes nothing
    assert fields["duration_seconds"]["verified"] is True
    # a forced rescan matches everything again, finds the same candidate and keeps the user's verdict
    scan(world30.world, force=True)
    again = httpx.get(f"{base}/api/v1/metadata/books/{item['library']['book_id']}", headers=h).json()
    assert {m["provider"]: m["state"] for m in again["recordings"][0]["matches"]}["audible"] == "rejected"
    assert httpx.post(f"{base}/api/v1/metadata/review/1/nobody", headers=h, json={"accept": True}).status_code == 404
