"""The Audiobookshelf simulator behaves like the reference says ABS does — quirks first.

These talk raw HTTP to the simulator (no client), so a quirk the client papers over is still
proven to exist here; the client tests then prove the client copes with it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from shared.normalize import fold_name, position_sort_key
from tests.sims.abs import ADMIN_TOKEN, USER_TOKEN, AbsState, SimItem, generate_library, sim_http_client
from tests.sims.abs_names import strip_accents

FROZEN = 1_700_000_000_000


@pytest.fixture
def state() -> AbsState:
    """A small hand-built library: a comma author, co-authors, two series on one book, an explicit
    book, a podcast library, a root key and a non-admin key that cannot see explicit items."""
    s = AbsState(clock=lambda: FROZEN)
    root = s.add_user("root")
    s.add_api_key("root-key", root)
    user = s.add_user("listener", type="user", access_explicit=False, can_update=False)
    s.add_api_key("user-key", user)
    books = s.add_library("Audiobooks", folder_path="/audiobooks")
    s.add_library("Podcasts", "podcast", folder_path="/podcasts")
    s.add_book(
        books.id,
        title="The Colour of Magic",
        authors=["Terry Pratchett"],
        narrators=("Nigel Planer",),
        series=[("Discworld", "1"), ("Discworld Reading Order", "1")],
        added_at=FROZEN - 5000,
        duration=25000.5,
    )
    s.add_book(
        books.id,
        title="Good Omens",
        authors=["Martin Smith, Jr.", "Jane Doe"],
        added_at=FROZEN - 4000,
        n_files=3,
        codec="mp3",
    )
    s.add_book(books.id, title="Night Things", authors=["Anna Berg"], explicit=True, added_at=FROZEN - 3000)
    for n in range(7):
        s.add_book(books.id, title=f"Filler {n}", authors=["Anna Berg"], added_at=FROZEN - 2000 + n)
    return s


@pytest.fixture
def http(state: AbsState) -> Iterator[httpx.Client]:
    with sim_http_client(state) as client:
        yield client


def _auth(token: str = "root-key") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _book_lib(state: AbsState) -> str:
    return next(lib.id for lib in state.libraries.values() if lib.media_type == "book")


def _item(state: AbsState, title: str) -> SimItem:
    return next(i for i in state.items.values() if i.title == title)


# ---------------------------------------------------------------------------- auth and health
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic cm9vdDp4"}])
def test_auth_failures_are_plain_text_401(http: httpx.Client, headers: dict[str, str]) -> None:
    response = http.get("/api/libraries", headers=headers)
    assert response.status_code == 401
    assert response.text == "Unauthorized"
    assert response.headers["content-type"].startswith("text/plain")
    assert "www-authenticate" not in response.headers


def test_token_in_query_string_is_accepted(http: httpx.Client) -> None:
    assert http.get("/api/libraries", params={"token": "root-key"}).status_code == 200


def test_refresh_inactive_and_expired_keys_get_401(state: AbsState, http: httpx.Client) -> None:
    root = next(iter(state.users.values()))
    state.add_api_key("refresh", root, kind="refresh")
    state.add_api_key("inactive", root, is_active=False)
    expired = state.add_api_key("expired", root, expires_at_ms=FROZEN - 1)
    for token in ("refresh", "inactive", "expired"):
        assert http.get("/api/libraries", headers=_auth(token)).status_code == 401
    assert expired.is_active is False  # deactivated on first use


def test_health_endpoints_need_no_auth(http: httpx.Client) -> None:
    assert http.get("/ping").json() == {"success": True}
    assert http.get("/healthcheck").text == "OK"
    status = http.get("/status").json()
    assert status["serverVersion"] == "2.36.0" and status["app"] == "audiobookshelf"


# ---------------------------------------------------------------------------- libraries
def test_libraries_list_books_and_podcasts_in_display_order(http: httpx.Client) -> None:
    libs = http.get("/api/libraries", headers=_auth()).json()["libraries"]
    assert [(lib["name"], lib["mediaType"]) for lib in libs] == [("Audiobooks", "book"), ("Podcasts", "podcast")]
    assert libs[0]["folders"][0]["fullPath"] == "/audiobooks"


def test_library_access_404_and_403(state: AbsState, http: httpx.Client) -> None:
    lib = _book_lib(state)
    restricted = state.add_user("kid", type="user", library_ids=[])
    state.add_api_key("kid-key", restricted)
    assert http.get("/api/libraries/nope", headers=_auth()).status_code == 404
    assert http.get(f"/api/libraries/{lib}", headers=_auth("kid-key")).status_code == 403
    assert http.get("/api/libraries", headers=_auth("kid-key")).json() == {"libraries": []}
    data = http.get(f"/api/libraries/{lib}", params={"include": "filterdata"}, headers=_auth()).json()
    assert {a["name"] for a in data["filterdata"]["authors"]} >= {"Martin Smith, Jr.", "Jane Doe"}


# ---------------------------------------------------------------------------- list paging quirks
def _list(http: httpx.Client, lib: str, token: str = "root-key", **params: str | int) -> httpx.Response:
    return http.get(f"/api/libraries/{lib}/items", params=params, headers=_auth(token))


@pytest.mark.parametrize("params", [{}, {"limit": 0}, {"limit": "abc"}, {"limit": ""}, {"limit": 0, "page": 3}])
def test_limit_zero_absent_or_garbage_returns_everything(state: AbsState, http: httpx.Client, params: dict) -> None:
    body = _list(http, _book_lib(state), **params).json()
    assert len(body["results"]) == body["total"] == 10


@pytest.mark.parametrize(("name", "value"), [("limit", -1), ("limit", "1.5"), ("page", -2), ("page", "0.5")])
def test_negative_or_fractional_paging_is_a_plain_text_400(
    state: AbsState, http: httpx.Client, name: str, value: object
) -> None:
    response = _list(http, _book_lib(state), **{name: value, "sort": "addedAt"})  # type: ignore[arg-type]
    assert response.status_code == 400
    assert response.text == f"Invalid request. {name} must be a positive integer"


def test_page_is_zero_based_and_offset_is_not_an_input(state: AbsState, http: httpx.Client) -> None:
    lib = _book_lib(state)
    first = _list(http, lib, sort="addedAt", limit=3, page=0).json()
    again = _list(http, lib, sort="addedAt", limit=3, page=0, offset=6).json()
    second = _list(http, lib, sort="addedAt", limit=3, page=1).json()
    assert [r["id"] for r in first["results"]] == [r["id"] for r in again["results"]]
    assert second["offset"] == 3 and first["offset"] == 0
    assert second["results"][0]["media"]["metadata"]["title"] == "Filler 0"  # rows 3..5


def test_envelope_keys(state: AbsState, http: httpx.Client) -> None:
    body = _list(http, _book_lib(state), limit=2, desc=1).json()
    assert "sortBy" not in body and "filterBy" not in body and body["sortDesc"] is True
    assert {"results", "total", "limit", "page", "mediaType", "minified", "collapseseries", "include", "offset"} <= set(
        body
    )
    assert _list(http, _book_lib(state), sort="addedAt", desc="true").json()["sortDesc"] is False  # only "1"


def test_without_sort_each_request_has_its_own_order(state: AbsState, http: httpx.Client) -> None:
    lib = _book_lib(state)
    orders = {tuple(r["id"] for r in _list(http, lib).json()["results"]) for _ in range(5)}
    assert len(orders) > 1
    # naive paging without sort loses and repeats rows: the trap the client must avoid
    seen: list[str] = []
    for page in range(4):
        seen += [r["id"] for r in _list(http, lib, limit=3, page=page).json()["results"]]
    assert len(seen) == 10 and len(set(seen)) < 10


def test_sorted_pages_partition_the_library(state: AbsState, http: httpx.Client) -> None:
    lib = _book_lib(state)
    seen = [r["id"] for p in range(4) for r in _list(http, lib, sort="addedAt", limit=3, page=p).json()["results"]]
    assert len(seen) == len(set(seen)) == 10


def test_shuffled_ties_reorder_equal_keys_per_request(state: AbsState, http: httpx.Client) -> None:
    state.tie_order = "shuffled"
    lib = _book_lib(state)
    orders = {tuple(r["id"] for r in _list(http, lib, sort="progress").json()["results"]) for _ in range(5)}
    assert len(orders) > 1


def test_list_items_are_always_minified(state: AbsState, http: httpx.Client) -> None:
    body = _list(http, _book_lib(state), sort="addedAt", minified=0, expanded=1).json()
    good_omens = next(r for r in body["results"] if r["media"]["metadata"]["title"] == "Good Omens")
    metadata = good_omens["media"]["metadata"]
    assert "authors" not in metadata and "series" not in metadata and "audioFiles" not in good_omens["media"]
    assert metadata["authorName"] == "Martin Smith, Jr., Jane Doe"  # ambiguous on purpose
    colour = next(r for r in body["results"] if r["media"]["metadata"]["title"] == "The Colour of Magic")
    assert colour["media"]["metadata"]["seriesName"] == "Discworld #1, Discworld Reading Order #1"
    assert isinstance(colour["ino"], str) and body["minified"] is False


def test_explicit_items_vanish_for_users_without_access(state: AbsState, http: httpx.Client) -> None:
    lib, night = _book_lib(state), _item(state, "Night Things")
    assert _list(http, lib, "user-key").json()["total"] == 9
    assert http.get(f"/api/items/{night.id}", headers=_auth("user-key")).status_code == 403
    # batch/get performs no per-user check in ABS: the simulator keeps that leak
    body = http.post("/api/items/batch/get", json={"libraryItemIds": [night.id]}, headers=_auth("user-key")).json()
    assert [i["id"] for i in body["libraryItems"]] == [night.id]


def test_series_filter_adds_series_object(state: AbsState, http: httpx.Client) -> None:
    import base64

    colour = _item(state, "The Colour of Magic")
    series_id = colour.series[0][0]
    encoded = base64.b64encode(series_id.encode()).decode()
    body = _list(http, _book_lib(state), filter=f"series.{encoded}").json()
    assert body["total"] == 1
    assert body["results"][0]["media"]["metadata"]["series"] == {"id": series_id, "name": "Discworld", "sequence": "1"}


# ---------------------------------------------------------------------------- items
def test_batch_get_shape_order_and_limits(state: AbsState, http: httpx.Client) -> None:
    ids = [i.id for i in state.items.values()][:3]
    body = http.post("/api/items/batch/get", json={"libraryItemIds": [ids[2], "nope", ids[0]]}, headers=_auth())
    items = body.json()["libraryItems"]
    assert [i["id"] for i in items] == [ids[0], ids[2]]  # database order, unknown dropped
    assert {"authors", "series", "narrators", "authorName"} <= set(items[0]["media"]["metadata"])
    assert items[0]["media"]["audioFiles"][0]["codec"] == "aac" and "libraryFiles" in items[0]
    empty = http.post("/api/items/batch/get", json={"libraryItemIds": []}, headers=_auth())
    assert (empty.status_code, empty.text) == (403, "Invalid payload")


def test_single_item_old_shape_versus_expanded(state: AbsState, http: httpx.Client) -> None:
    item = _item(state, "Good Omens")
    old = http.get(f"/api/items/{item.id}", headers=_auth()).json()
    assert "numFiles" not in old and "size" not in old
    assert "duration" not in old["media"] and "tracks" not in old["media"]
    assert "authorName" not in old["media"]["metadata"]
    assert [a["name"] for a in old["media"]["metadata"]["authors"]] == ["Martin Smith, Jr.", "Jane Doe"]
    expanded = http.get(f"/api/items/{item.id}", params={"expanded": 1}, headers=_auth()).json()
    minified = next(r for r in _list(http, item.library_id, sort="addedAt").json()["results"] if r["id"] == item.id)
    assert set(minified) <= set(expanded) and set(minified["media"]) <= set(expanded["media"])
    assert len(expanded["media"]["tracks"]) == 3
    assert sum(f["duration"] for f in expanded["media"]["audioFiles"]) == pytest.approx(item.duration, abs=0.01)
    assert http.get("/api/items/nope", headers=_auth()).status_code == 404


# ---------------------------------------------------------------------------- PATCH media
def _patch(http: httpx.Client, item: SimItem, body: object, token: str = "root-key") -> httpx.Response:
    return http.patch(f"/api/items/{item.id}/media", json=body, headers=_auth(token))


def test_patch_plain_string_authors_detach_everyone(state: AbsState, http: httpx.Client) -> None:
    item = _item(state, "Good Omens")
    before = item.updated_at
    body = _patch(http, item, {"metadata": {"authors": ["Martin Smith, Jr.", "Jane Doe"]}}).json()
    assert body["updated"] is True and body["libraryItem"]["media"]["metadata"]["authors"] == []
    assert item.updated_at > before
    assert not any(a.name == "Jane Doe" for a in state.authors.values())  # orphan author removed


def test_patch_author_matching_is_case_insensitive(state: AbsState, http: httpx.Client) -> None:
    item = _item(state, "The Colour of Magic")
    body = _patch(http, item, {"metadata": {"authors": [{"name": " terry pratchett "}]}}).json()
    assert body["updated"] is False
    assert body["libraryItem"]["media"]["metadata"]["authors"][0]["name"] == "Terry Pratchett"
    body = _patch(http, item, {"metadata": {"authors": [{"id": "ignored", "name": "Anna Berg"}]}}).json()
    assert [a["name"] for a in body["libraryItem"]["media"]["metadata"]["authors"]] == ["Anna Berg"]
    berg = [a for a in state.authors.values() if a.name == "Anna Berg"]
    assert len(berg) == 1  # linked to the existing row, not a new one


def test_patch_series_traps(state: AbsState, http: httpx.Client) -> None:
    item = _item(state, "The Colour of Magic")
    numeric = _patch(http, item, {"metadata": {"series": [{"name": "Discworld", "sequence": 1}]}}).json()
    assert numeric["libraryItem"]["media"]["metadata"]["series"] == [
        {"id": item.series[0][0], "name": "Discworld", "sequence": None}
    ]
    assert not any(s.name == "Discworld Reading Order" for s in state.series.values())  # orphan deleted
    before = item.updated_at
    skipped = _patch(http, item, {"metadata": {"series": [{"name": "New", "sequence": "2"}, {"sequence": "3"}]}})
    assert skipped.json()["updated"] is False and item.updated_at == before
    assert _patch(http, item, {"metadata": {"series": [None]}}).status_code == 500


def test_patch_ignored_keys_and_shapes(state: AbsState, http: httpx.Client) -> None:
    item = _item(state, "The Colour of Magic")
    before = item.updated_at
    ignored = {
        "metadata": {
            "seriesName": "X #1",
            "authorName": "Someone",
            "narratorName": "N",
            "unknown": 1,
            "narrators": ["A", 3],
            "tags": ["in-metadata"],
            "title": True,
        },
        "seriesName": "Y",
    }
    body = _patch(http, item, ignored).json()
    assert body["updated"] is False and item.updated_at == before
    assert item.narrators == ("Nigel Planer",) and item.tags == () and item.title == "The Colour of Magic"


def test_patch_string_number_and_boolean_coercions(state: AbsState, http: httpx.Client) -> None:
    item = _item(state, "Good Omens")
    body = _patch(
        http,
        item,
        {
            "metadata": {
                "title": 42,
                "publishedYear": 1990,
                "subtitle": "",
                "explicit": "false",
                "abridged": 0,
                "description": "<p>Hi</p><script>alert(1)</script><img src=x>",
            },
            "tags": ["funny"],
        },
    ).json()
    metadata = body["libraryItem"]["media"]["metadata"]
    assert (metadata["title"], metadata["publishedYear"], metadata["subtitle"]) == ("42", "1990", None)
    assert metadata["explicit"] is True  # JavaScript truthiness: "false" is true
    assert metadata["description"] == "<p>Hi</p>"
    assert body["libraryItem"]["media"]["tags"] == ["funny"]


def test_patch_requires_update_permission(state: AbsState, http: httpx.Client) -> None:
    item = _item(state, "Good Omens")
    assert _patch(http, item, {"metadata": {"title": "x"}}, token="user-key").status_code == 403


# ---------------------------------------------------------------------------- scans and tasks
def test_library_scan_task_lifecycle(state: AbsState, http: httpx.Client) -> None:
    lib = _book_lib(state)
    state.queue_scan_change(lib, lambda s: s.add_book(lib, title="New Arrival", authors=["Anna Berg"]))
    response = http.post(f"/api/libraries/{lib}/scan", headers=_auth())
    assert (response.status_code, response.text) == (200, "OK")
    assert http.post(f"/api/libraries/{lib}/scan", headers=_auth()).status_code == 200  # dropped duplicate
    assert len(state.tasks) == 1
    polls = 0
    while http.get("/api/tasks", headers=_auth()).json()["tasks"]:
        polls += 1
        assert polls < 10
    assert any(i.title == "New Arrival" for i in state.items.values())
    assert http.post(f"/api/libraries/{lib}/scan", headers=_auth("user-key")).status_code == 403


def test_item_scan_results(state: AbsState, http: httpx.Client) -> None:
    item = _item(state, "Good Omens")
    assert http.post(f"/api/items/{item.id}/scan", headers=_auth()).json() == {"result": "UPTODATE"}
    state.queue_item_rescan(item.id, lambda s: s.edit_item(item.id, subtitle="Rescanned"))
    assert http.post(f"/api/items/{item.id}/scan", headers=_auth()).json() == {"result": "UPDATED"}
    assert item.subtitle == "Rescanned"
    state.edit_item(item.id, is_file=True)
    assert http.post(f"/api/items/{item.id}/scan", headers=_auth()).status_code == 500


# ---------------------------------------------------------------------------- faults, counters, helpers
def test_faults_and_counters(state: AbsState, http: httpx.Client) -> None:
    lib = _book_lib(state)
    state.faults.fail_next("/api/libraries/*/items", 2, retry_after=7)
    state.faults.malformed_next("/api/libraries", method="GET")
    for _ in range(2):
        failed = _list(http, lib)
        assert (failed.status_code, failed.headers["retry-after"]) == (500, "7")
    assert _list(http, lib).status_code == 200
    garbled = http.get("/api/libraries", headers=_auth())
    assert garbled.status_code == 200 and garbled.text.startswith('{"results":[')
    assert state.count("GET /api/libraries/{id}/items") == 3
    assert state.count("GET /api/libraries") == 1
    state.faults.delay_next("/ping", 0.2)
    started = time.monotonic()
    assert http.get("/ping").status_code == 200
    assert time.monotonic() - started >= 0.2
    assert state.faults.pending == 0


def test_mutation_helpers_bump_updated_at(state: AbsState, http: httpx.Client) -> None:
    item = _item(state, "Good Omens")
    before = item.updated_at
    state.edit_item(item.id, title="Better Omens", authors=["Jane Doe"])
    assert item.updated_at > before and item.title == "Better Omens"
    state.mark_missing(item.id)
    body = http.get(f"/api/items/{item.id}", params={"expanded": 1}, headers=_auth()).json()
    assert body["isMissing"] is True and body["updatedAt"] == item.updated_at
    state.remove_item(item.id)
    assert http.get(f"/api/items/{item.id}", headers=_auth()).status_code == 404


# ---------------------------------------------------------------------------- generator
def test_generator_is_deterministic() -> None:
    a, truth_a = generate_library(300, seed=11)
    b, truth_b = generate_library(300, seed=11)
    c, _ = generate_library(300, seed=12)
    assert list(a.items) == list(b.items) and truth_a == truth_b
    assert [i.title for i in a.items.values()] == [i.title for i in b.items.values()]
    assert list(a.items) != list(c.items)


def test_generate_10000_items() -> None:
    """Its speed is not asserted: a timing assertion fails on a loaded machine and proves nothing
    about correctness (speed is measured by `make bench`, which generates libraries of this size)."""
    state, truth = generate_library(10_000, seed=1)
    assert sum(1 for i in state.items.values() if i.media_type == "book") == 10_000
    assert truth.books > 9_000


def _recount(state: AbsState, truth_present: frozenset[str]) -> dict[str, object]:
    """Figures recomputed from what ABS *stores*, folded: independent of how the generator counted."""
    book_libs = {lib.id for lib in state.libraries.values() if lib.media_type == "book"}
    present = [i for i in state.items.values() if i.library_id in book_libs and not i.is_missing]
    assert {i.id for i in present} == truth_present
    works: dict[tuple[str, frozenset[str]], set[str]] = {}
    series_positions: dict[str, set[str]] = {}
    for item in present:
        authors = frozenset(fold_name(state.authors[a].name) for a in item.author_ids)
        works.setdefault((fold_name(item.title or ""), authors), set()).add(item.id)
        for sid, seq in item.series:
            bucket = series_positions.setdefault(fold_name(state.series[sid].name), set())
            if seq is not None:
                bucket.add(seq)
    per_author: dict[str, int] = {}
    for _, authors in works:
        for a in authors:
            per_author[a] = per_author.get(a, 0) + 1
    return {
        "books": len(works),
        "authors": len({fold_name(state.authors[a].name) for i in present for a in i.author_ids}),
        "series": len(series_positions),
        "narrators": len({fold_name(n) for i in present for n in i.narrators}),
        "hours": sum(i.duration for i in present) / 3600,
        "per_author": per_author,
        "positions": {
            k: tuple(sorted(v, key=lambda p: (position_sort_key(p) or 0.0, p))) for k, v in series_positions.items()
        },
    }


def test_ground_truth_matches_what_abs_stores() -> None:
    state, truth = generate_library(3000, seed=2)
    figures = _recount(state, truth.present_item_ids)
    assert figures["books"] == truth.books
    assert figures["authors"] == truth.authors
    assert figures["series"] == truth.series
    assert figures["narrators"] == truth.narrators
    assert figures["hours"] == pytest.approx(truth.hours)
    assert figures["per_author"] == truth.author_book_counts
    assert figures["positions"] == truth.series_positions
    assert sum(truth.series_book_counts.values()) >= sum(len(p) for p in truth.series_positions.values())


def test_generated_library_is_messy_in_every_promised_way() -> None:
    state, truth = generate_library(3000, seed=2)
    books = [i for i in state.items.values() if i.media_type == "book"]
    author_names = {a.name for a in state.authors.values()}
    assert len({n.lower() for n in author_names}) > truth.authors  # spellings differ beyond case
    assert any(", " in n for n in author_names)  # "Martin Smith, Jr."
    spellings: dict[str, set[str]] = {}
    for name in author_names:
        spellings.setdefault(fold_name(name), set()).add(name)
    groups = [g for g in spellings.values() if len(g) > 1]
    assert any(len({n.lower() for n in g}) < len(g) for g in groups)  # case only (across libraries)
    assert any(any("  " in n for n in g) for g in groups)  # doubled whitespace
    assert any(len({strip_accents(n) for n in g}) < len(g) for g in groups)  # diacritics only
    assert any(len(i.author_ids) > 1 for i in books)
    assert any(len(i.series) > 1 for i in books)
    assert any(not i.series for i in books)
    sequences = {seq for i in books for _, seq in i.series}
    assert {"0", "1-3"} <= sequences and any(s and s.endswith(".5") for s in sequences)
    assert truth.explicit_item_ids and truth.missing_item_ids and truth.podcast_item_ids
    assert truth.duplicate_groups and set(truth.asin_region.values()) == {"us", "uk"}
    assert any(i.asin is None for i in books) and any(i.isbn for i in books)
    assert any(len(i.narrators) > 1 for i in books)
    assert {i.codec for i in books} >= {"aac", "mp3"} and any(i.is_file for i in books)
    assert len(truth.book_library_ids) == 2 and len(truth.podcast_library_ids) == 1
    # a duplicated work counts once in books but both copies count in hours
    group = truth.duplicate_groups[0]
    assert len({truth.work_of_item[i] for i in group}) == 1
    assert ADMIN_TOKEN != USER_TOKEN


def test_generated_state_clock_runs_after_the_library() -> None:
    # the client pages by addedAt ascending because new items land last; the generator must agree
    state, truth = generate_library(500, seed=4)
    newest = max(i.added_at for i in state.items.values())
    fresh = state.add_book(truth.book_library_ids[0], title="Brand New", authors=["Anna Berg"])
    later = state.add_book(truth.book_library_ids[0], title="Newer Still", authors=["Anna Berg"])
    assert newest < fresh.added_at < later.added_at
    item = state.items[next(iter(truth.present_item_ids))]
    before = item.updated_at
    state.edit_item(item.id, subtitle="edited")
    assert item.updated_at > before
