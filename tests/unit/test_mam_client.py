"""The MAM client against the MAM simulator (in-process; one test over real HTTP)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.infra.errors import MalformedResponse, MamcError, UpstreamUnavailable
from tests.sims.mam import (
    BASE_URL,
    MamSimState,
    build_catalogue,
    dl_hash,
    mam_http_client,
    serve_mam,
    torrent_file,
)
from workers.crawl import (
    MamApiError,
    MamClient,
    MamDownloadError,
    MamEndpointRefused,
    MamForbiddenSpend,
    MamQuery,
    MamSessionInvalid,
    SnatchedShape,
    snatched_ids,
    snatched_shape,
)
from workers.crawl.bencode import bdecode, info_hash
from workers.upstream import UpstreamAuthError, UpstreamOptions


def catalogue() -> list[Any]:
    specs: list[dict[str, Any]] = [
        {"title": f"Dragon Book {i}", "authors": ["Ann Author"], "narrators": ["Nora Reader"],
         "series": [("Dragons", str(i))], "seeders": i, "times_completed": 100 - i,
         "added": datetime(2024, 1, i, 12, tzinfo=UTC)}
        for i in range(1, 13)
    ]
    specs += [
        {"title": "Dragon Book 1", "authors": ["Ann Author"], "main_cat": 14, "category": 63,
         "catname": "E-Books - Fantasy", "filetype": "epub"},
        {"title": "Dragon Book 1", "authors": ["Ann Author"], "lang_code": "GER"},
        {"title": "The Colour of Magic", "authors": ["Terry Pratchett"], "narrators": ["Nigel Planer"],
         "series": [("Discworld", "1")], "snatched": True, "vip": True, "fl_vip": True,
         "quirks": ["numbers_as_strings", "flags_as_booleans", "html_entities", "size_as_bytes"]},
        {"title": "Mort", "authors": ["Terry Pratchett"], "series": [("Discworld", "4"), ("Death", "1")],
         "quirks": ["malformed_author_info", "flags_as_strings"], "numfiles": 3, "filetype": "m4a mp3"},
    ]
    return build_catalogue(specs)


@pytest.fixture
def state() -> MamSimState:
    return MamSimState(catalogue=catalogue())


def make_client(state: MamSimState, renewed: list[str] | None = None, cookie: str | None = None) -> MamClient:
    callback = renewed.append if renewed is not None else None
    return MamClient(UpstreamOptions(BASE_URL, http=mam_http_client(state)), cookie or state.session,
                     on_cookie_renewed=callback)


@pytest.fixture
def client(state: MamSimState) -> Iterator[MamClient]:
    with make_client(state) as mam:
        yield mam


def secrets_of(state: MamSimState) -> list[str]:
    hashes = [dl_hash(t.id, state.dl_secret) for t in state.catalogue]
    return [*state.issued, state.passkey, state.dl_secret, *hashes]


# -- search ---------------------------------------------------------------------------------------


def test_search_pages_through_every_result(client: MamClient, state: MamSimState) -> None:
    query = MamQuery(text="dragon", perpage=5)
    seen: list[int] = []
    pages = 0
    while True:
        page = client.search(query)
        pages += 1
        seen += [row.torrent_id for row in page.rows]
        if not page.has_more:
            break
        query = query.next_page()
    assert pages == 3 and len(seen) == len(set(seen)) == 12  # the e-book and the German edition excluded
    starts = [entry.params["tor"]["startNumber"] for entry in state.requests_to("search")]
    assert starts == [0, 5, 10]
    assert all(entry.params["tor"]["main_cat"] == [13] and entry.params["perpage"] == 5
               for entry in state.requests_to("search"))


def test_no_results_is_an_empty_page(client: MamClient) -> None:
    page = client.search(MamQuery(text="no such book anywhere"))
    assert page.rows == () and page.total_found == 0 and not page.has_more


def test_search_never_asks_for_the_dl_hash(client: MamClient, state: MamSimState) -> None:
    client.search(MamQuery(text="dragon"))
    assert "dlLink" not in state.requests_to("search")[0].params


def test_quirky_rows_come_back_typed(client: MamClient) -> None:
    rows = {row.title: row for row in client.search(MamQuery(text="pratchett")).rows}
    colour, mort = rows["The Colour of Magic"], rows["Mort"]
    assert colour.vip and colour.fl_vip and colour.my_snatched is True and colour.size_bytes == 301_358_284
    assert colour.authors == ("Terry Pratchett",) and colour.series[0].positions[0].canonical == "1"
    assert mort.authors == () and any("author_info" in w for w in mort.warnings)
    assert mort.filetypes == ("m4a", "mp3") and [s.name for s in mort.series] == ["Discworld", "Death"]


def test_sort_snatched_desc_and_date_window(client: MamClient) -> None:
    page = client.search(MamQuery(sort_type="snatchedDesc", start_date=date(2024, 1, 3),
                                  end_date=date(2024, 1, 6), perpage=5))
    # start inclusive, end exclusive: Jan 3, 4, 5 (added at noon); most snatched first
    assert [row.title for row in page.rows] == ["Dragon Book 3", "Dragon Book 4", "Dragon Book 5"]


def test_search_type_active_and_vip(client: MamClient, state: MamSimState) -> None:
    state.catalogue[0].seeders = 0
    active = client.search(MamQuery(text="dragon", search_type="active"))
    assert "Dragon Book 1" not in {row.title for row in active.rows}
    vip = client.search(MamQuery(search_type="VIP"))
    assert [row.title for row in vip.rows] == ["The Colour of Magic"]


@pytest.mark.parametrize(("mode", "shape", "expected"), [
    ("annotate", SnatchedShape.ANNOTATED, {"The Colour of Magic"}),
    ("filter", SnatchedShape.FILTERED, {"The Colour of Magic"}),
    ("filter_no_field", SnatchedShape.FILTERED, {"The Colour of Magic"}),
])
def test_my_snatched_either_reading(state: MamSimState, mode: Any, shape: SnatchedShape, expected: set[str]) -> None:
    state.snatched_mode = mode
    with make_client(state) as client:
        page = client.search(MamQuery(text="pratchett", my_snatched=True))
    assert snatched_shape(page.rows) is shape
    titles = {row.title for row in page.rows if row.torrent_id in snatched_ids(page.rows, shape)}
    assert titles == expected


# -- session --------------------------------------------------------------------------------------


def test_renewed_cookie_is_persisted_and_used_next(state: MamSimState) -> None:
    state.rotate_every, state.grace = 2, 0
    first = state.session
    renewed: list[str] = []
    with make_client(state, renewed) as client:
        for _ in range(5):
            client.search(MamQuery(text="dragon"))
        assert "mam_id" not in client._http.cookies  # the secret lives in one place only
    assert renewed == state.issued[1:] and len(renewed) == 2 and renewed[0] != first
    assert [entry.session for entry in state.log] == ["s1", "s1", "s2", "s2", "s3"]
    assert all(entry.status == 200 for entry in state.log)
    with make_client(state, cookie=first) as stale, pytest.raises(MamSessionInvalid):
        stale.account()  # grace 0: the superseded value is refused


def test_old_cookie_works_for_the_grace_count(state: MamSimState) -> None:
    state.rotate_every, state.grace = 1, 2
    first = state.session
    with make_client(state) as client:
        client.account()  # answered with a renewed cookie; the first value now has two uses left
    with make_client(state, cookie=first) as stale:  # a client that never saw the renewal
        stale.account()
        stale.account()
        with pytest.raises(MamSessionInvalid):
            stale.account()
    assert [entry.status for entry in state.log] == [200, 200, 200, 403]


def test_403_is_session_invalid_and_fatal(client: MamClient, state: MamSimState) -> None:
    state.expire()
    with pytest.raises(MamSessionInvalid) as caught:
        client.search(MamQuery(text="dragon"))
    assert isinstance(caught.value, UpstreamAuthError) and caught.value.fatal and caught.value.service == "MAM"
    assert state.log[-1].status == 403 and state.log[-1].session == "expired"


def test_new_session_resumes(state: MamSimState) -> None:
    state.expire()
    fresh = state.set_session()
    with make_client(state, cookie=fresh) as client:
        assert client.account().uid == state.account.uid


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_429_and_5xx_are_transient_with_retry_after(client: MamClient, state: MamSimState, status: int) -> None:
    state.fail(status, retry_after="7", route="search")
    with pytest.raises(UpstreamUnavailable) as caught:
        client.search(MamQuery(text="dragon"))
    assert caught.value.retry_after == 7.0
    assert client.search(MamQuery(text="dragon")).rows  # the fault was one request


# -- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/index.php", "/login.php", "/tor/browse.php", "/tor/download.php/abc123",
                                  "/jsonLoad.php?x=1", "/json/dynamicSeedbox.php", "/../jsonLoad.php"])
def test_allowlist_refuses_before_sending(client: MamClient, state: MamSimState, path: str) -> None:
    with pytest.raises(MamEndpointRefused):
        client.request("GET", path)
    assert state.log == []


@pytest.mark.parametrize("spendtype", ["gift", "sendWedge", "SENDWEDGE", "Gift", "millionaires"])
def test_gift_and_sendwedge_never_sent(client: MamClient, state: MamSimState, spendtype: str) -> None:
    with pytest.raises(MamForbiddenSpend):
        client.bonus_buy(spendtype, amount=100)
    assert state.requests_to("bonus") == [] and state.forbidden_spends == []


def test_the_sim_itself_refuses_and_logs_gift(state: MamSimState) -> None:
    with make_client(state) as client:
        reply = client.send("GET", "/json/bonusBuy.php/", params={"spendtype": "gift", "amount": 100})
    assert reply.ok and b'"success":false' in reply.content
    assert state.forbidden_spends == [{"spendtype": "gift", "amount": "100"}]


def test_bonus_buys(client: MamClient, state: MamSimState) -> None:
    target = state.catalogue[0]
    bought = client.bonus_buy("personalFL", torrent_id=target.id)
    assert bought.spendtype == "personalFL" and target.personal_freeleech and state.account.wedges == 2
    upload = client.bonus_buy("upload", amount=2)
    assert upload.seedbonus == pytest.approx(12_345.6 - 1000)
    with pytest.raises(MamApiError):
        client.bonus_buy("upload", amount=1000)  # not enough points: refused, and said so
    assert [p["spendtype"] for p in state.purchases] == ["personalFL", "upload"]


# -- account and download -------------------------------------------------------------------------


def test_account_snapshot(client: MamClient, state: MamSimState) -> None:
    state.account.numbers_as_strings = True
    account = client.account()
    assert (account.classname, account.unsat_count, account.unsat_limit, account.wedges) == ("Power User", 12, 100, 3)
    assert account.ratio == state.account.ratio and not account.is_vip
    assert "ipv4" not in account.raw and state.log[-1].params == {"snatch_summary": ""}


def test_download_is_a_bencoded_private_torrent_with_the_personal_announce(client: MamClient,
                                                                          state: MamSimState) -> None:
    target = state.catalogue[-1]  # multi-file
    data = client.download_torrent(target.id)
    decoded = bdecode(data)
    assert isinstance(decoded, dict)
    assert decoded[b"announce"] == state.announce_url.encode()
    info = decoded[b"info"]
    assert isinstance(info, dict) and info[b"private"] == 1 and len(info[b"files"]) == 3  # type: ignore[arg-type]
    assert info_hash(data) == torrent_file(target, state.announce_url, state.payload_bytes).info_hash
    assert state.log[-1].params == {"tid": str(target.id)}


@pytest.mark.parametrize("case", ["unknown", "vip_only"])
def test_download_error_pages_are_named_errors(client: MamClient, state: MamSimState, case: str) -> None:
    tid = 999 if case == "unknown" else next(t.id for t in state.catalogue if t.vip)
    with pytest.raises(MamDownloadError):
        client.download_torrent(tid)


# -- bodies that are not answers ------------------------------------------------------------------


def test_malformed_json_body_is_malformed_response(client: MamClient, state: MamSimState) -> None:
    state.malformed(route="search")
    with pytest.raises(MalformedResponse):
        client.search(MamQuery(text="dragon"))


def test_html_body_is_malformed_response(client: MamClient, state: MamSimState) -> None:
    state.html(route="account")
    with pytest.raises(MalformedResponse):
        client.account()


@pytest.mark.parametrize("fault", ["error_text", "error_json"])
def test_error_answers_are_api_errors(client: MamClient, state: MamSimState, fault: str) -> None:
    getattr(state, fault)("Error: search disabled", route="search")
    with pytest.raises(MamApiError):
        client.search(MamQuery(text="dragon"))


# -- secrets --------------------------------------------------------------------------------------


def test_secrets_never_in_errors_reprs_or_logs(state: MamSimState, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    state.rotate_every = 1
    errors: list[MamcError] = []
    with make_client(state, renewed=[]) as client:
        client.search(MamQuery(text="dragon"))
        client.download_torrent(state.catalogue[0].id)
        # bodies that quote secrets back: the client must mask them in every message
        for fault in (lambda: state.error_text(f"Error bad cookie {state.session}"),
                      lambda: state.error_json(f"session {state.session} passkey {state.passkey}"),
                      lambda: state.malformed(), lambda: state.fail(503), lambda: state.expire()):
            fault()
            try:
                client.search(MamQuery(text="dragon"))
            except MamcError as exc:
                errors.append(exc)
        texts = [str(e) for e in errors] + [repr(e) for e in errors]
        texts += [repr(client), repr(vars(client)), caplog.text, repr(state.log)]
    assert len(errors) == 5
    leaked = [(s, t) for s in secrets_of(state) for t in texts if s in t]
    assert leaked == []


# -- real HTTP ------------------------------------------------------------------------------------


def test_over_real_http_with_rotation(state: MamSimState) -> None:
    state.rotate_every = 1
    base_url, stop = serve_mam(state)
    renewed: list[str] = []
    try:
        with MamClient(UpstreamOptions(base_url), state.session, on_cookie_renewed=renewed.append) as client:
            assert client.search(MamQuery(text="dragon", perpage=5)).total_found == 12
            assert client.account().uid == state.account.uid
            assert bdecode(client.download_torrent(state.catalogue[0].id))
    finally:
        stop()
    assert len(renewed) == 3 and [entry.session for entry in state.log] == ["s1", "s2", "s3"]
