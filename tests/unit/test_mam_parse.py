"""Every MAM row quirk of the reference, named, one case each (workers/crawl/mam_parse.py, mam_rows.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from shared.infra.errors import MalformedResponse
from shared.positions import SeriesPosition
from workers.crawl.mam_account import parse_account
from workers.crawl.mam_parse import (
    Notes,
    bitrate_from_text,
    parse_added,
    parse_filetypes,
    parse_flag,
    parse_int,
    parse_mediainfo,
    parse_names,
    parse_positions,
    parse_series,
    parse_size,
    parse_text,
)
from workers.crawl.mam_query import MamQuery, SnatchedShape
from workers.crawl.mam_rows import MamApiError, parse_row, parse_search_body, snatched_ids, snatched_shape

REFERENCE_ROW = {
    "id": 412345, "title": "The Colour of Magic", "author_info": "{\"2571\": \"Terry Pratchett\"}",
    "narrator_info": "{\"877\": \"Nigel Planer\"}", "series_info": "{\"1209\": [\"Discworld\", \"1\"]}",
    "main_cat": 13, "category": 41, "catname": "Audiobooks - Fantasy", "lang_code": "ENG",
    "filetype": "m4b", "size": "287.4 MiB", "numfiles": 1, "seeders": 23, "leechers": 0,
    "times_completed": 512, "vip": 0, "free": 0, "fl_vip": 1, "personal_freeleech": 0,
    "my_snatched": 0, "added": "2019-03-14 18:22:05", "tags": "Unabridged, 64kbps, Harper Audio",
    "description": "<p>…</p>", "dl": "a1b2c3d4e5f6a1b2c3d4e5f6",
}


def pos(*texts: str) -> tuple[SeriesPosition, ...]:
    return tuple(p for t in texts if (p := SeriesPosition.parse(t)) is not None)


@pytest.mark.parametrize(("name", "raw", "expected"), [
    ("int", 7, 7),
    ("string", "512", 512),
    ("padded string", " 23 ", 23),
    ("thousands separator", "1,234", 1234),
    ("float string", "7.0", 7),
    ("float", 7.0, 7),
    ("empty", "", None),
    ("junk", "many", None),
])
def test_numbers_as_strings(name: str, raw: object, expected: int | None) -> None:
    assert parse_int(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    (0, False), (1, True), ("0", False), ("1", True), (True, True), (False, False),
    ("true", True), ("false", False), (None, None), ("maybe", None),
])
def test_flags_as_numbers_strings_or_booleans(raw: object, expected: bool | None) -> None:
    assert parse_flag(raw) is expected


def test_unreadable_flag_is_noted() -> None:
    notes = Notes()
    assert parse_flag("maybe", notes, "vip") is None
    assert notes.items and "vip" in notes.items[0]


@pytest.mark.parametrize(("raw", "expected"), [
    ("287.4 MiB", round(287.4 * 1024**2)),
    ("1.2 GiB", round(1.2 * 1024**3)),
    ("1.2 GB", round(1.2 * 1024**3)),  # decimal-looking labels read as binary (documented)
    ("512 KiB", 512 * 1024),
    ("900 B", 900),
    ("6324306932", 6324306932),  # bytes as a string
    (6324306932, 6324306932),  # bytes as a number
    ("1,5 GiB", round(1.5 * 1024**3)),
    ("huge", None),
    ("", None),
])
def test_sizes_human_or_bytes(raw: object, expected: int | None) -> None:
    assert parse_size(raw) == expected


def test_malformed_author_info_skips_the_field_keeps_the_row(caplog: pytest.LogCaptureFixture) -> None:
    row = dict(REFERENCE_ROW, author_info='{"2571": "Terry "Pratchett""}')
    parsed = parse_row(row)
    assert parsed is not None and parsed.authors == () and parsed.title == "The Colour of Magic"
    assert parsed.narrators == ("Nigel Planer",)
    assert any("author_info" in w and "malformed" in w for w in parsed.warnings)
    assert "author_info" in caplog.text and "a1b2c3d4e5f6" not in caplog.text


@pytest.mark.parametrize("field", ["narrator_info", "series_info"])
def test_malformed_json_in_other_fields(field: str) -> None:
    parsed = parse_row(dict(REFERENCE_ROW, **{field: "{\"1\": [\"oops\""}))
    assert parsed is not None and parsed.authors == ("Terry Pratchett",)
    assert any(field in w for w in parsed.warnings)


def test_info_already_an_object() -> None:
    assert parse_names({"1": "Terry Pratchett"}, Notes(), "author_info") == ("Terry Pratchett",)


@pytest.mark.parametrize(("raw", "expected"), [
    ("Tom &amp; Jerry", "Tom & Jerry"),
    ("L&#039;&Eacute;tranger", "L'Étranger"),
    ("Plain", "Plain"),
])
def test_html_entities(raw: str, expected: str) -> None:
    assert parse_text(raw) == expected


def test_html_entities_in_names_inside_json() -> None:
    names = parse_names(orjson.dumps({"1": "Ren&eacute;e O&#039;Brien"}).decode(), Notes(), "author_info")
    assert names == ("Renée O'Brien",)


def test_several_series() -> None:
    raw = orjson.dumps({"1209": ["Discworld", "4"], "77": ["Death", "1"]}).decode()
    series = parse_series(raw, Notes())
    assert [(s.name, s.volume_text, s.mam_series_id) for s in series] == [("Discworld", "4", 1209), ("Death", "1", 77)]
    assert series[0].positions == pos("4")


@pytest.mark.parametrize(("volume", "expected"), [
    ("2.5", ("2.5",)),
    ("0", ("0",)),
    ("1-3", ("1-3",)),
    ("", ()),
    ("01-16, 13.5", ("1-16", "13.5")),
    ("1 – 3", ("1-3",)),
])
def test_positions(volume: str, expected: tuple[str, ...]) -> None:
    assert tuple(p.canonical for p in parse_positions(volume)) == expected


def test_position_range_and_decimal_in_one_series() -> None:
    series = parse_series(orjson.dumps({"5": ["Wheel of Time", "01-16, 13.5"]}).decode(), Notes())
    assert series[0].positions == (SeriesPosition(Decimal(1), Decimal(16)), SeriesPosition(Decimal("13.5")))
    assert series[0].volume_text == "01-16, 13.5"


def test_unreadable_volume_part_is_noted() -> None:
    notes = Notes()
    assert parse_positions("1, omnibus", notes) == pos("1")
    assert notes.items


@pytest.mark.parametrize(("raw", "expected"), [
    (("m4b",), ("m4b",)),
    (("m4a mp3",), ("m4a", "mp3")),
    (("MP3,FLAC",), ("mp3", "flac")),
    (("m4b", ["m4b", "cue"]), ("m4b", "cue")),
    ((None,), ()),
])
def test_filetypes(raw: tuple[object, ...], expected: tuple[str, ...]) -> None:
    assert parse_filetypes(*raw) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Unabridged, 64kbps, Harper Audio", 64),
    ("128 kbps", 128),
    ("64–128 Kbps", 64),  # en dash range: the lower bound (documented)
    ("64-128kbps", 64),
    ("96 kb/s mp3", 96),
    ("Unabridged", None),
    ("Recorded 2019", None),
])
def test_bitrate_from_tags_or_title(text: str, expected: int | None) -> None:
    assert bitrate_from_text(text) == expected


def test_bitrate_trust_order_mediainfo_then_tags_then_title() -> None:
    media = orjson.dumps({"General": {"Duration": "11:32:00"}, "Audio1": {"BitRate": "62 kb/s"}}).decode()
    row = parse_row(dict(REFERENCE_ROW, mediainfo=media, title="Book (128kbps)"))
    assert row is not None and row.bitrate_kbps == 62 and row.duration_seconds == 11 * 3600 + 32 * 60
    row = parse_row(dict(REFERENCE_ROW, title="Book (128kbps)"))
    assert row is not None and row.bitrate_kbps == 64
    row = parse_row(dict(REFERENCE_ROW, title="Book (128kbps)", tags="Unabridged"))
    assert row is not None and row.bitrate_kbps == 128


@pytest.mark.parametrize(("media", "expected"), [
    ({"audio": {"bitrate": 64000}}, (64, None)),
    ({"Audio": [{"Bit_rate": "128 kbps"}], "General": {"duration": "41520.5"}}, (128, 41520.5)),
    ({"General": {"Duration": "11h 32mn"}}, (None, 11 * 3600 + 32 * 60)),
    ("not json {", (None, None)),
    (["unexpected", "shape"], (None, None)),
])
def test_mediainfo_shapes(media: object, expected: tuple[int | None, float | None]) -> None:
    raw = media if isinstance(media, str) else orjson.dumps(media).decode()
    assert parse_mediainfo(raw, Notes()) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("2019-03-14 18:22:05", datetime(2019, 3, 14, 18, 22, 5, tzinfo=UTC)),
    ("2019-03-14T18:22:05+02:00", datetime(2019, 3, 14, 16, 22, 5, tzinfo=UTC)),
    (1552587725, datetime(2019, 3, 14, 18, 22, 5, tzinfo=UTC)),
    ("1552587725", datetime(2019, 3, 14, 18, 22, 5, tzinfo=UTC)),
    ("last tuesday", None),
])
def test_added_as_utc(raw: object, expected: datetime | None) -> None:
    assert parse_added(raw) == expected


def test_reference_row_parses_whole_and_never_keeps_dl() -> None:
    row = parse_row(REFERENCE_ROW)
    assert row is not None
    assert (row.torrent_id, row.authors, row.narrators, row.main_cat, row.lang_code) == (
        412345, ("Terry Pratchett",), ("Nigel Planer",), 13, "ENG")
    assert row.size_bytes == round(287.4 * 1024**2) and row.fl_vip and not row.free
    assert row.my_snatched is False and row.bitrate_kbps == 64 and not row.warnings
    assert "a1b2c3d4e5f6" not in repr(row)


def test_row_numbers_and_flags_as_strings() -> None:
    quirky = {k: (str(v) if isinstance(v, int) else v) for k, v in REFERENCE_ROW.items()}
    row = parse_row(quirky)
    assert row is not None and row.torrent_id == 412345 and row.seeders == 23 and row.fl_vip is True


def test_row_flags_as_booleans() -> None:
    row = parse_row(dict(REFERENCE_ROW, fl_vip=True, free=False, my_snatched=True, personal_freeleech=True))
    assert row is not None and row.fl_vip and not row.free and row.my_snatched and row.personal_freeleech


def test_row_without_my_snatched_reads_unknown() -> None:
    row = parse_row({k: v for k, v in REFERENCE_ROW.items() if k != "my_snatched"})
    assert row is not None and row.my_snatched is None


@pytest.mark.parametrize("raw", [{"title": "no id"}, {"id": "abc"}, {"id": 0}, "not a row", None])
def test_row_without_usable_id_is_skipped(raw: object) -> None:
    assert parse_row(raw) is None


def test_search_body_nothing_returned_is_empty() -> None:
    page = parse_search_body({"error": "Nothing returned, out of 0"}, MamQuery(text="x"))
    assert page.rows == () and page.total_found == 0 and not page.has_more


@pytest.mark.parametrize("body", [{"error": "You are not allowed to do that"}, {"message": "Bad search"}])
def test_search_body_other_errors_raise(body: dict[str, str]) -> None:
    with pytest.raises(MamApiError):
        parse_search_body(body, MamQuery(text="x"))


@pytest.mark.parametrize("body", [[1, 2], {"data": "nope"}, "text"])
def test_search_body_wrong_shape_is_malformed(body: object) -> None:
    with pytest.raises(MalformedResponse):
        parse_search_body(body, MamQuery(text="x"))


def test_search_body_root_numbers_as_strings_and_skipped_rows() -> None:
    body = {"perpage": "5", "start": "5", "total_found": "12", "found": "12",
            "data": [REFERENCE_ROW, {"title": "no id"}]}
    page = parse_search_body(body, MamQuery(text="x", perpage=5, start_number=5))
    assert (len(page.rows), page.skipped, page.start, page.total_found, page.has_more) == (1, 1, 5, 12, True)
    assert page.warnings


def _rows(*flags: object) -> list:  # type: ignore[type-arg]
    rows = []
    for i, flag in enumerate(flags, start=1):
        raw = dict(REFERENCE_ROW, id=i)
        if flag == "absent":
            del raw["my_snatched"]
        else:
            raw["my_snatched"] = flag
        rows.append(parse_row(raw))
    return rows


@pytest.mark.parametrize(("flags", "shape", "snatched"), [
    ((0, 1, "0"), SnatchedShape.ANNOTATED, {2}),          # rows annotated: read row by row
    ((False, True), SnatchedShape.ANNOTATED, {2}),        # booleans, same reading
    ((1, "1", True), SnatchedShape.FILTERED, {1, 2, 3}),  # every row snatched: MAM filtered
    (("absent", "absent"), SnatchedShape.FILTERED, {1, 2}),  # no field: the rows are the snatches
    ((), SnatchedShape.EMPTY, set()),
])
def test_my_snatched_both_readings(flags: tuple[object, ...], shape: SnatchedShape, snatched: set[int]) -> None:
    rows = _rows(*flags)
    assert snatched_shape(rows) is shape
    assert snatched_ids(rows, shape) == snatched


def test_account_numbers_as_strings_counters_as_objects_and_no_secrets_in_raw() -> None:
    account = parse_account({
        "uid": "229001", "username": "mouse", "classname": "VIP", "ratio": "2.38", "uploaded": "1.2 TiB",
        "downloaded": "350.2 GiB", "seedbonus": "12,345.6", "wedges": "3", "vip_until": "2026-01-01 00:00:00",
        "unsat": {"count": "12", "limit": 150, "red": False, "size": 0}, "leeching": {"count": 1},
        "sSat": {"count": 230}, "ipv4": "203.0.113.9", "mam_id": "leaked-cookie-value",
    })
    assert (account.uid, account.ratio, account.wedges, account.unsat_count, account.unsat_limit) == (
        229001, 2.38, 3, 12, 150)
    assert account.uploaded_bytes == round(1.2 * 1024**4) and account.seedbonus == 12345.6
    assert account.vip_until == datetime(2026, 1, 1, tzinfo=UTC) and account.is_vip
    assert (account.leeching, account.satisfied) == (1, 230)
    assert "ipv4" not in account.raw and "leaked-cookie-value" not in repr(account)


def test_account_missing_everything_is_all_unknown() -> None:
    account = parse_account({})
    assert account.uid is None and account.unsat_count is None and account.ratio is None


def test_account_not_an_object_is_malformed() -> None:
    with pytest.raises(MalformedResponse):
        parse_account(["no"])
