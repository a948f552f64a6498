"""The MAM simulator's own behaviour where the client does not exercise it: the GET form, ``dl``
links, the log's redaction, the catalogue builder, and torrent content that matches its pieces."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest

from tests.sims.mam import BASE_URL, MamSimState, build_catalogue, build_torrent, dl_hash, mam_http_client
from tests.sims.mam.torrents import PIECE_LENGTH, info_dict, torrent_file, write_content
from workers.crawl.bencode import bdecode


@pytest.fixture
def state() -> MamSimState:
    return MamSimState(catalogue=build_catalogue([
        {"title": f"Moon Tale {i}", "authors": ["Mia Writer"], "numfiles": 1 + i % 2} for i in range(8)
    ]))


def http(state: MamSimState) -> httpx.Client:
    client = mam_http_client(state)
    client.cookies.set("mam_id", state.session)
    return client


GET_FORM = {
    "tor[text]": "moon", "tor[searchType]": "all", "tor[srchIn][title]": "true", "tor[srchIn][author]": "true",
    "tor[searchIn]": "torrents", "tor[sortType]": "default", "tor[perpage]": "5", "tor[startNumber]": "0",
    "tor[cat][]": "0", "tor[browse_lang][0]": "1", "description": "1",
}


def test_get_form_and_post_form_agree(state: MamSimState) -> None:
    with http(state) as client:
        got = client.get("/tor/js/loadSearchJSONbasic.php", params=GET_FORM).json()
        posted = client.post("/tor/js/loadSearchJSONbasic.php", json={
            "tor": {"text": "moon", "srchIn": ["title", "author"], "startNumber": 0, "cat": ["0"],
                    "browse_lang": [1]}, "perpage": 5, "description": ""}).json()
    assert [r["id"] for r in got["data"]] == [r["id"] for r in posted["data"]]
    assert len(got["data"]) == 5 and got["total_found"] == 8 and "description" in got["data"][0]


def test_nothing_returned_shape(state: MamSimState) -> None:
    with http(state) as client:
        body = client.post("/tor/js/loadSearchJSONbasic.php", json={"tor": {"text": "zzz"}}).json()
    assert body == {"error": "Nothing returned, out of 0"}


def test_dl_link_rows_and_download_by_hash_with_a_masked_log(state: MamSimState) -> None:
    with http(state) as client:
        rows = client.post("/tor/js/loadSearchJSONbasic.php",
                           json={"tor": {"text": "moon"}, "dlLink": ""}).json()["data"]
        assert rows[0]["dl"] == dl_hash(rows[0]["id"], state.dl_secret)
        reply = client.get(f"/tor/download.php/{rows[0]['dl']}")
    assert reply.headers["content-type"] == "application/x-bittorrent"
    assert isinstance(bdecode(reply.content), dict)
    assert state.log[-1].path == "/tor/download.php/***" and rows[0]["dl"] not in repr(state.log)


def test_no_cookie_is_403_and_unknown_paths_404(state: MamSimState) -> None:
    with mam_http_client(state) as client:
        assert client.get("/jsonLoad.php").status_code == 403
    with http(state) as client:
        assert client.get("/login.php").status_code == 404
    assert [(e.route, e.session, e.status) for e in state.log] == [("account", "none", 403),
                                                                   ("unmatched", "s1", 404)]


def test_rotation_sets_a_cookie_header(state: MamSimState) -> None:
    state.rotate_every = 1
    with mam_http_client(state) as client:
        reply = client.get(f"{BASE_URL}/jsonLoad.php", headers={"cookie": f"mam_id={state.session}"})
    assert reply.headers["set-cookie"].startswith(f"mam_id={state.issued[1]};")


def test_root_numbers_as_strings(state: MamSimState) -> None:
    state.root_numbers_as_strings = True
    with http(state) as client:
        body = client.post("/tor/js/loadSearchJSONbasic.php", json={"tor": {"text": "moon"}, "perpage": 5}).json()
    assert body["total_found"] == "8" and body["perpage"] == "5"


def test_browsing_categories_over_a_date_window_by_snatches(state: MamSimState) -> None:
    """What a top list asks: a category (or several), main_cat 13, [startDate, endDate) in days or
    unix time, snatchedDesc."""
    day = datetime(2026, 12, 1, tzinfo=UTC)
    state.catalogue = build_catalogue([
        {"title": "Old", "category": 41, "times_completed": 999, "added": day - timedelta(days=8)},
        {"title": "First Day", "category": 41, "times_completed": 5, "added": day - timedelta(days=7)},
        {"title": "Busy", "category": 41, "times_completed": 300, "added": day - timedelta(days=2)},
        {"title": "Space", "category": 47, "times_completed": 200, "added": day - timedelta(days=1)},
        {"title": "Today", "category": 41, "times_completed": 900, "added": day},
        {"title": "Ebook", "category": 41, "main_cat": 14, "times_completed": 800, "added": day - timedelta(days=1)},
    ])

    def browse(cats: list[str], start: object, end: object) -> list[str]:
        with http(state) as client:
            body = client.post("/tor/js/loadSearchJSONbasic.php", json={
                "tor": {"text": "", "cat": cats, "main_cat": [13], "sortType": "snatchedDesc",
                        "startDate": start, "endDate": end}, "perpage": 25}).json()
        return [r["title"] for r in body.get("data", [])]

    assert browse(["41"], "2026-11-24", "2026-12-01") == ["Busy", "First Day"]
    assert browse(["41", "47"], "2026-11-24", "2026-12-01") == ["Busy", "Space", "First Day"]
    start, end = int((day - timedelta(days=7)).timestamp()), int(day.timestamp())
    assert browse(["0"], start, end) == ["Busy", "Space", "First Day"]


@pytest.mark.parametrize("spec", [{"title": "x", "colour": "red"}, {"title": "x", "quirks": ["sparkly"]}])
def test_builder_rejects_misspelt_input(spec: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        build_torrent(spec)


def test_quirk_rendering(state: MamSimState) -> None:
    state.catalogue = build_catalogue([{
        "title": "Tom & Jerry", "authors": ["O'Brien"], "series": [("Wheel", "01-16, 13.5")],
        "quirks": ["html_entities", "size_as_bytes", "flags_as_strings", "malformed_narrator_info"],
        "narrators": ["N"],
    }])
    with http(state) as client:
        row = client.post("/tor/js/loadSearchJSONbasic.php", json={"tor": {"text": "tom"}}).json()["data"][0]
    assert row["title"] == "Tom &amp; Jerry" and row["size"] == "301358284" and row["vip"] == "0"
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(row["narrator_info"])
    assert "01-16, 13.5" in row["series_info"]


@pytest.mark.parametrize("numfiles", [1, 3])
def test_written_content_matches_the_torrent_pieces(tmp_path: Path, numfiles: int) -> None:
    torrent = build_torrent({"title": "Seedable", "numfiles": numfiles, "filetype": "mp3"})
    root = write_content(torrent, tmp_path)
    files = sorted(root.iterdir()) if root.is_dir() else [root]
    data = b"".join(f.read_bytes() for f in files)
    info = info_dict(torrent)
    pieces = info["pieces"]
    assert isinstance(pieces, bytes)
    assert pieces == b"".join(hashlib.sha1(data[i:i + PIECE_LENGTH]).digest()
                              for i in range(0, len(data), PIECE_LENGTH))
    assert torrent_file(torrent, "http://tracker/x/announce").announce == "http://tracker/x/announce"
