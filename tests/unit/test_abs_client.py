"""The real ABS client against the simulator: paging, expansion, write-back checks, error mapping."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest

from shared.infra.errors import (
    AuthError,
    ConfigError,
    MalformedResponse,
    NotFound,
    PermanentError,
    RateLimited,
    UpstreamUnavailable,
)
from shared.normalize import fold_name
from tests.sims.abs import AbsState, Fault, SyncASGITransport, build_abs_app, generate_library, serve_abs
from tests.sims.abs import sim_http_client as sim_http
from workers.library.abs_client import AbsClient
from workers.library.abs_models import AuthorRef, parse_item
from workers.upstream import UpstreamAuthError, UpstreamOptions

BASE = "http://abs.test"
TOKEN = "tok-3f9a7c1e5b2d4e6f8a0b"  # distinctive, so a leak is easy to spot
FROZEN = 1_700_000_000_000


def _state() -> AbsState:
    s = AbsState(clock=lambda: FROZEN)
    root = s.add_user("root")
    s.add_api_key(TOKEN, root)
    s.add_api_key("user-key", s.add_user("listener", type="user", access_explicit=False, can_update=False))
    books = s.add_library("Audiobooks", folder_path="/audiobooks")
    s.add_library("Podcasts", "podcast", folder_path="/podcasts")
    s.add_book(
        books.id,
        title="The Colour of Magic",
        authors=["Terry Pratchett"],
        narrators=("Nigel Planer",),
        series=[("Discworld", "1")],
        added_at=FROZEN - 9000,
        duration=25000.5,
        asin="B0015T963C",
    )
    s.add_book(
        books.id,
        title="Good Omens",
        authors=["Martin Smith, Jr.", "Jane Doe"],
        added_at=FROZEN - 8000,
        n_files=3,
        codec="mp3",
        bitrate=128000,
    )
    for n in range(23):
        s.add_book(books.id, title=f"Filler {n:02d}", authors=["Anna Berg"], added_at=FROZEN - 5000 + n // 3)
    return s


@pytest.fixture
def state() -> AbsState:
    return _state()


@pytest.fixture
def requests_seen() -> list[httpx.Request]:
    return []


@pytest.fixture
def client(state: AbsState, requests_seen: list[httpx.Request]) -> Iterator[AbsClient]:
    http = sim_http(state, BASE)
    http.event_hooks["request"].append(requests_seen.append)
    with AbsClient(UpstreamOptions(BASE, http=http), TOKEN) as abs_client:
        yield abs_client
    http.close()


def _book_lib(state: AbsState) -> str:
    return next(lib.id for lib in state.libraries.values() if lib.media_type == "book")


def _by_title(state: AbsState, title: str) -> str:
    return next(i.id for i in state.items.values() if i.title == title)


# ---------------------------------------------------------------------------- libraries and listing
def test_list_libraries_flags_podcasts(client: AbsClient) -> None:
    libs = client.list_libraries()
    assert [(lib.name, lib.is_book, lib.is_podcast) for lib in libs] == [
        ("Audiobooks", True, False),
        ("Podcasts", False, True),
    ]
    assert [lib.name for lib in client.book_libraries()] == ["Audiobooks"]


def test_iter_minified_pages_by_page_with_a_sort(
    state: AbsState, client: AbsClient, requests_seen: list[httpx.Request]
) -> None:
    entries = list(client.iter_minified(_book_lib(state), page_size=10))
    assert len(entries) == len({e.id for e in entries}) == 25
    pages = [r.url.params for r in requests_seen if r.url.path.endswith("/items")]
    assert [p["page"] for p in pages] == ["0", "1", "2"]
    assert all(p["sort"] == "addedAt" and p["limit"] == "10" and "offset" not in p for p in pages)
    colour = next(e for e in entries if e.title == "The Colour of Magic")
    assert colour.ino.isdigit() and colour.path.startswith("/audiobooks/") and colour.updated_at > 0


def test_iter_minified_dedupes_and_completes_when_ties_reshuffle(state: AbsState, client: AbsClient) -> None:
    state.tie_order = "shuffled"  # equal addedAt rows come back in a new order per request
    entries = list(client.iter_minified(_book_lib(state), page_size=4))
    assert sorted(e.id for e in entries) == sorted(state.library_items[_book_lib(state)])


def test_iter_minified_repages_when_an_item_is_removed_mid_listing(state: AbsState) -> None:
    lib = _book_lib(state)
    victim = next(iter(state.library_items[lib]))  # first in addedAt order: shifts every later page
    calls: list[int] = []

    def remove_after_first_page(response: httpx.Response) -> None:
        calls.append(1)
        if len(calls) == 1:
            state.remove_item(victim)

    http = sim_http(state, BASE)
    http.event_hooks["response"].append(remove_after_first_page)
    ids = [e.id for e in AbsClient(UpstreamOptions(BASE, http=http), TOKEN).iter_minified(lib, page_size=5)]
    assert len(ids) == len(set(ids))
    assert set(state.library_items[lib]) <= set(ids)  # nothing that still exists was skipped


def test_iter_minified_rejects_page_size_zero(client: AbsClient) -> None:
    with pytest.raises(ValueError, match="limit=0"):
        next(client.iter_minified("x", page_size=0))


# ---------------------------------------------------------------------------- expanded items
def test_get_expanded_chunks_keeps_order_and_drops_unknown(state: AbsState, client: AbsClient) -> None:
    ids = list(reversed(state.items))
    items = client.get_expanded([*ids, "unknown-id", ids[0]], chunk_size=10)
    assert [i.id for i in items] == ids
    assert state.count("POST /api/items/batch/get") == 3
    assert client.get_expanded([]) == [] and state.count("POST /api/items/batch/get") == 3


def test_expanded_authors_come_from_the_array_not_the_display_string(state: AbsState, client: AbsClient) -> None:
    item = client.get_expanded([_by_title(state, "Good Omens")])[0]
    assert [a.name for a in item.authors] == ["Martin Smith, Jr.", "Jane Doe"]
    assert all(isinstance(a, AuthorRef) and a.id for a in item.authors)
    assert [(f.codec, f.bitrate, f.format) for f in item.audio_files] == [
        ("mp3", 128000, "MP2/3 (MPEG audio layer 2/3)")
    ] * 3
    colour = client.get_item(_by_title(state, "The Colour of Magic"))
    assert [(s.name, s.sequence) for s in colour.series] == [("Discworld", "1")]
    assert (colour.narrators, colour.asin, colour.duration_seconds) == (("Nigel Planer",), "B0015T963C", 25000.5)


def test_nul_characters_from_tags_are_removed_before_anything_uses_them(state: AbsState, client: AbsClient) -> None:
    """PostgreSQL text cannot hold NUL; ID3 tags padded with NULs must not fail a sync chunk forever."""
    item_id = state.add_book(_book_lib(state), title="Padded\x00\x00", authors=["Anna Berg\x00"],
                             narrators=("Nigel\x00 Planer",), series=[("Disc\x00world", "1\x00")]).id
    item = client.get_expanded([item_id])[0]
    assert item.title == "Padded" and [a.name for a in item.authors] == ["Anna Berg"]
    assert item.narrators == ("Nigel Planer",) and [(s.name, s.sequence) for s in item.series] == [("Discworld", "1")]
    assert fold_name(item.authors[0].name) == fold_name("Anna Berg")  # one author, not two


def test_parse_item_refuses_a_minified_item(state: AbsState) -> None:
    with sim_http(state, BASE) as http:
        row = http.get(f"/api/libraries/{_book_lib(state)}/items", headers={"Authorization": f"Bearer {TOKEN}"})
    with pytest.raises(MalformedResponse, match="authors"):
        parse_item(row.json()["results"][0])


# ---------------------------------------------------------------------------- PATCH media
def test_patch_media_writes_the_accepted_schema(
    state: AbsState, client: AbsClient, requests_seen: list[httpx.Request]
) -> None:
    item_id = _by_title(state, "Good Omens")
    before = state.items[item_id].updated_at
    stored = client.patch_media(
        item_id,
        {
            "title": "Good Omens",
            "published_year": 1990,
            "authors": ["Terry Pratchett", {"name": "Neil Gaiman"}],
            "series": [("Omens", 1), ("Collected", 2.5)],
            "narrators": ["Stephen Briggs", "Martin Jarvis"],
            "tags": ["comedy"],
            "explicit": False,
        },
    )
    body = orjson.loads(next(r for r in requests_seen if r.method == "PATCH").content)
    assert body["metadata"]["authors"] == [{"name": "Terry Pratchett"}, {"name": "Neil Gaiman"}]
    assert body["metadata"]["series"] == [{"name": "Omens", "sequence": "1"}, {"name": "Collected", "sequence": "2.5"}]
    assert body["tags"] == ["comedy"] and "tags" not in body["metadata"]
    assert [a.name for a in stored.authors] == ["Terry Pratchett", "Neil Gaiman"]
    assert [(s.name, s.sequence) for s in stored.series] == [("Omens", "1"), ("Collected", "2.5")]
    assert stored.published_year == "1990" and stored.updated_at > before


def test_patch_media_that_changes_nothing_is_not_malformed(state: AbsState, client: AbsClient) -> None:
    """Real ABS 2.36.0 answers a PATCH that changes nothing without ``updated`` (``false || undefined``):
    the values were already stored, which the read-back confirms."""
    item_id = _by_title(state, "Good Omens")
    first = client.patch_media(item_id, {"title": "Good Omens", "published_year": "1990"})
    again = client.patch_media(item_id, {"title": "Good Omens", "published_year": "1990"})
    assert again.updated_at == first.updated_at and again.published_year == "1990"


def test_patch_media_refuses_shapes_abs_would_mangle(state: AbsState, client: AbsClient) -> None:
    item_id = _by_title(state, "Good Omens")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"seriesName": "Omens #1"}, "seriesName"),
        ({"explicit": "false"}, "explicit"),
        ({"narrators": ["A", 3]}, "narrators"),
        ({"series": [{"sequence": "1"}]}, "series"),
        ({"authors": "Terry Pratchett"}, "authors"),
    ]
    for fields, match in cases:
        with pytest.raises(PermanentError, match=match):
            client.patch_media(item_id, fields)
    assert state.count("PATCH /api/items/{id}/media") == 0


def _rewriting_client(state: AbsState, rewrite: Callable[[dict], dict]) -> AbsClient:
    """A client whose PATCH bodies are rewritten on the way, as an older or buggy proxy might."""
    inner = SyncASGITransport(build_abs_app(state))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            body = rewrite(orjson.loads(request.read()))
            headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
            request = httpx.Request("PATCH", request.url, headers=headers, content=orjson.dumps(body))
        return inner.handle_request(request)

    return AbsClient(UpstreamOptions(BASE, http=httpx.Client(transport=httpx.MockTransport(handler))), TOKEN)


def test_patch_media_detects_authors_silently_wiped(state: AbsState) -> None:
    def plain_strings(body: dict) -> dict:
        body["metadata"]["authors"] = [a["name"] for a in body["metadata"]["authors"]]
        return body

    item_id = _by_title(state, "Good Omens")
    with pytest.raises(PermanentError, match=r"authors: sent \['Neil Gaiman'\], stored \[\]"):
        _rewriting_client(state, plain_strings).patch_media(item_id, {"authors": ["Neil Gaiman"]})
    assert state.items[item_id].author_ids == ()  # ABS really did wipe them


def test_patch_media_detects_sequence_cleared_and_series_skipped(state: AbsState) -> None:
    def numeric_sequence(body: dict) -> dict:
        for s in body["metadata"]["series"]:
            s["sequence"] = float(s["sequence"])
        return body

    item_id = _by_title(state, "The Colour of Magic")
    with pytest.raises(
        PermanentError, match=r"series: sent \[\['Discworld', '2'\]\], stored \[\['Discworld', None\]\]"
    ):
        _rewriting_client(state, numeric_sequence).patch_media(item_id, {"series": [("Discworld", "2")]})

    def missing_name(body: dict) -> dict:
        body["metadata"]["series"].append({"sequence": "9"})
        return body

    with pytest.raises(PermanentError, match="series"):
        _rewriting_client(state, missing_name).patch_media(item_id, {"series": [("Other", "1")]})


def test_patch_media_accepts_abs_case_insensitive_author_identity(state: AbsState, client: AbsClient) -> None:
    stored = client.patch_media(_by_title(state, "The Colour of Magic"), {"authors": ["terry pratchett"]})
    assert [a.name for a in stored.authors] == ["Terry Pratchett"]


def test_patch_media_tolerates_description_sanitising(state: AbsState, client: AbsClient) -> None:
    stored = client.patch_media(_by_title(state, "Good Omens"), {"description": "<p>Hi</p><script>x()</script>"})
    assert stored.description == "<p>Hi</p>"


# ---------------------------------------------------------------------------- errors
def test_401_is_auth_error_without_the_token_anywhere(state: AbsState, caplog: pytest.LogCaptureFixture) -> None:
    bad_token = "tok-NOT-VALID-7d1e0c9b2a"
    caplog.set_level(logging.DEBUG)
    abs_client = AbsClient(UpstreamOptions(BASE, http=sim_http(state, BASE)), bad_token)
    with pytest.raises(AuthError) as caught:
        abs_client.list_libraries()
    text = " ".join([str(caught.value), repr(caught.value), repr(abs_client), caplog.text, str(caught.value.args)])
    assert "401" in text and "Unauthorized" in text
    assert bad_token not in text


def test_server_text_echoing_the_token_is_scrubbed(state: AbsState) -> None:
    state.faults.fail_next("/api/libraries", status=502, body=f"upstream said: bad token {TOKEN}")
    with pytest.raises(UpstreamUnavailable) as caught:
        AbsClient(UpstreamOptions(BASE, http=sim_http(state, BASE)), TOKEN).list_libraries()
    assert TOKEN not in str(caught.value) and "***" in str(caught.value)


def test_403_404_and_other_4xx(state: AbsState, client: AbsClient) -> None:
    user = AbsClient(UpstreamOptions(BASE, http=sim_http(state, BASE)), "user-key")
    with pytest.raises(AuthError):
        user.scan_library(_book_lib(state))
    with pytest.raises(NotFound):
        client.get_item("no-such-item")
    state.faults.fail_next("/api/tasks", status=400, body="Invalid request")
    with pytest.raises(PermanentError) as caught:
        client.tasks()
    assert not isinstance(caught.value, AuthError | NotFound)


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_5xx_and_429_are_upstream_unavailable_with_retry_after(state: AbsState, client: AbsClient, status: int) -> None:
    state.faults.fail_next("/api/libraries", status=status, retry_after=7)
    with pytest.raises(UpstreamUnavailable) as caught:
        client.list_libraries()
    assert caught.value.retry_after == 7.0
    assert client.list_libraries()  # the fault was one-shot


def test_redirect_from_an_auth_proxy_is_permanent(state: AbsState, client: AbsClient) -> None:
    state.faults.add(Fault("/api/libraries", 1, status=302, body=b"", headers={"Location": "https://sso/login"}))
    with pytest.raises(PermanentError, match="redirect to https://sso/login"):
        client.list_libraries()


def test_malformed_json_is_malformed_response(state: AbsState, client: AbsClient) -> None:
    state.faults.malformed_next("/api/libraries/*/items")
    with pytest.raises(MalformedResponse, match="unparsable JSON"):
        list(client.iter_minified(_book_lib(state)))
    state.faults.fail_next("/api/libraries", status=200, body='{"libraries": "nope"}')
    with pytest.raises(MalformedResponse, match="array"):
        client.list_libraries()


def test_throttle_runs_before_every_request_and_rate_limits_propagate(state: AbsState) -> None:
    calls: list[int] = []

    def throttle() -> None:
        calls.append(state.count("GET /api/libraries"))
        if len(calls) == 3:
            raise RateLimited("abs", 1.5)

    abs_client = AbsClient(UpstreamOptions(BASE, http=sim_http(state, BASE), throttle=throttle), TOKEN)
    abs_client.list_libraries()
    abs_client.list_libraries()
    with pytest.raises(RateLimited):
        abs_client.list_libraries()
    assert calls == [0, 1, 2] and state.count("GET /api/libraries") == 2  # throttled call never sent


def test_constructor_validates_config() -> None:
    with pytest.raises(ConfigError):
        AbsClient(UpstreamOptions(BASE), "  ")
    with pytest.raises(ConfigError):
        AbsClient(UpstreamOptions("abs.local:13378"), TOKEN)
    with AbsClient(UpstreamOptions(BASE), TOKEN) as abs_client:
        assert TOKEN not in repr(abs_client) and TOKEN not in str(vars(abs_client))


# ---------------------------------------------------------------------------- scans
def test_scans_and_tasks(state: AbsState, client: AbsClient) -> None:
    lib = _book_lib(state)
    state.queue_scan_change(lib, lambda s: s.add_book(lib, title="Fresh", authors=["Anna Berg"]))
    client.scan_library(lib, force=True)
    assert state.tasks and state.tasks[0].force
    polls = 0
    while client.scan_running(lib):
        polls += 1
        assert polls < 10
    assert any(e.title == "Fresh" for e in client.iter_minified(lib))
    item_id = _by_title(state, "Good Omens")
    assert client.scan_item(item_id) == "UPTODATE"
    state.edit_item(item_id, is_file=True)
    with pytest.raises(UpstreamUnavailable):
        client.scan_item(item_id)


# ---------------------------------------------------------------------------- real HTTP
def test_over_real_http_end_to_end_including_timeouts_and_refusal(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # httpx/httpcore debug logging must not carry the token either
    state = _state()
    base_url, stop = serve_abs(state)
    try:
        with AbsClient(UpstreamOptions(base_url, timeout=0.5), TOKEN) as abs_client:
            assert abs_client.ping() and abs_client.server_version() == "2.36.0"
            ids = [e.id for lib in abs_client.book_libraries() for e in abs_client.iter_minified(lib.id, 7)]
            assert len(ids) == 25
            assert len(abs_client.get_expanded(ids, chunk_size=8)) == 25
            stored = abs_client.patch_media(ids[0], {"subtitle": "Over the wire"})
            assert stored.subtitle == "Over the wire"
            state.faults.delay_next("/api/libraries", 0.9)
            with pytest.raises(UpstreamUnavailable, match="no answer within 0.5s"):
                abs_client.list_libraries()
            with pytest.raises(AuthError):
                AbsClient(UpstreamOptions(base_url), "wrong").list_libraries()
    finally:
        stop()
    gone_options = UpstreamOptions(base_url, timeout=1)
    with pytest.raises(UpstreamUnavailable, match="ConnectError"), AbsClient(gone_options, TOKEN) as gone:
        gone.list_libraries()
    assert "GET /api/libraries" in caplog.text and TOKEN not in caplog.text


# ---------------------------------------------------------------------------- ground truth via the client
def test_client_reproduces_generator_ground_truth() -> None:
    state, truth = generate_library(800, seed=9)
    with AbsClient(UpstreamOptions(BASE, http=sim_http(state, BASE)), truth.admin_token) as abs_client:
        libs = abs_client.list_libraries()
        assert {lib.id for lib in libs if lib.is_podcast} == set(truth.podcast_library_ids)
        listed = [e for lib in libs if lib.is_book for e in abs_client.iter_minified(lib.id, page_size=97)]
        present = [e.id for e in listed if not e.is_missing]
        items = abs_client.get_expanded(present)
    assert {i.id for i in items} == truth.present_item_ids
    works = {(fold_name(i.title or ""), frozenset(fold_name(a.name) for a in i.authors)) for i in items}
    assert len(works) == truth.books
    assert len({fold_name(a.name) for i in items for a in i.authors}) == truth.authors
    assert len({fold_name(s.name) for i in items for s in i.series}) == truth.series
    assert len({fold_name(n) for i in items for n in i.narrators}) == truth.narrators
    assert sum(i.duration_seconds or 0 for i in items) / 3600 == pytest.approx(truth.hours)


def test_401_is_fatal_for_the_service_but_a_403_is_about_one_request(state: AbsState) -> None:
    """A refused key fails every request (fatal); a user lacking one permission does not."""
    with pytest.raises(UpstreamAuthError) as refused:
        AbsClient(UpstreamOptions(BASE, http=sim_http(state, BASE)), "tok-NOT-VALID-7d1e0c9b2a").list_libraries()
    assert refused.value.fatal and refused.value.service == "ABS"
    user = AbsClient(UpstreamOptions(BASE, http=sim_http(state, BASE)), "user-key")
    with pytest.raises(UpstreamAuthError) as forbidden:
        user.scan_library(_book_lib(state))
    assert not forbidden.value.fatal
