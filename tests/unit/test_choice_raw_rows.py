"""The choice core fed by the MAM client's parser: raw rows as MAM sends them, quirks included.

The golden set models parsed rows; this checks the two meet, so a quirk the parser absorbs (numbers
as strings, flags as "0"/"1" or booleans, malformed ``author_info``) reaches the decision as the
golden set assumes.
"""

from __future__ import annotations

from shared.crawl.choice import RejectionCode, choose
from tests.fixtures.choice import account, target
from workers.crawl.mam_rows import parse_row

WANTED = target(title="The Colour of Magic", authors=["Terry Pratchett"], series_name="Discworld", position="1",
                runtime_seconds=25200, series_narrators=["Stephen Briggs"])


def _raw(torrent_id: object, **over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": torrent_id, "title": "The Colour of Magic", "author_info": '{"2571": "Terry Pratchett"}',
        "narrator_info": '{"877": "Stephen Briggs"}', "series_info": '{"1209": ["Discworld", "1"]}',
        "main_cat": "13", "category": "41", "catname": "Audiobooks - Fantasy", "lang_code": "ENG",
        "filetype": "m4b", "size": "287.4 MiB", "numfiles": "1", "seeders": "23", "leechers": "0",
        "vip": "0", "free": 0, "fl_vip": "1", "personal_freeleech": False, "my_snatched": "0",
        "added": "2019-03-14 18:22:05", "tags": "Unabridged, 64kbps, Harper Audio",
    }
    row.update(over)
    return row


def test_raw_rows_with_every_quirk_reach_the_expected_decision() -> None:
    raw = [
        _raw("412345"),
        _raw(412346, author_info='{"1": "Terry "Pratchett""}', series_info='{"9": ["Rincewind", "1"]}',
             seeders=90),  # malformed author_info and no Discworld position to confirm the book
        _raw(412347, main_cat="14", category="63", filetype="epub", seeders="400"),
        _raw(412348, my_snatched=True, seeders="50"),
        _raw(412349, lang_code="GER", seeders="60"),
    ]
    rows = [r for r in (parse_row(x) for x in raw) if r is not None]
    assert rows[0].seeders == 23 and rows[0].size_bytes is not None and rows[0].bitrate_kbps == 64
    assert rows[1].authors == () and rows[1].warnings  # the parser kept the row and said why
    decision = choose(WANTED, rows, account(classname="VIP"))
    chosen = decision.chosen
    assert chosen is not None and chosen.torrent_id == 412345 and str(chosen.cost.kind) == "free"  # fl_vip, VIP
    codes = {c.torrent_id: {r.code for r in c.rejections} for c in decision.candidates}
    assert codes[412346] == {RejectionCode.AUTHOR_UNKNOWN}
    assert codes[412347] == {RejectionCode.NOT_AUDIOBOOK}
    assert codes[412348] == {RejectionCode.ALREADY_SNATCHED}
    assert codes[412349] == {RejectionCode.WRONG_LANGUAGE}
    malformed = next(c for c in decision.candidates if c.torrent_id == 412346)
    assert "author_info" in malformed.rejections[0].reason  # the parser's warning is in the reason
