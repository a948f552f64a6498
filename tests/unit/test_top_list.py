"""Top lists without MAM or a database: the window, the page size, the book's title from an
uploader's, which rows become suggestions and why the others do not, and the settings/arguments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from shared.crawl.jobs import TopListArgs
from shared.crawl.top_list import Pick, Skip, book_title, perpage_for, select_top, window
from shared.crawl.torrent import MamTorrent, TorrentSeries
from shared.infra.settings import Settings, parse_categories
from shared.models.metadata import wanted_key
from shared.positions import SeriesPosition


def row(tid: int, title: str, snatches: int, **kw: Any) -> MamTorrent:
    values: dict[str, Any] = {"authors": ("Ada Abbott",), "main_cat": 13, "category": 41, "lang_code": "ENG",
                              "times_completed": snatches, "category_name": "Audiobooks - Fantasy",
                              "added": datetime(2026, 11, 30, 12, tzinfo=UTC), "seeders": 9}
    values.update(kw)
    return MamTorrent(torrent_id=tid, title=title, **values)


def series(name: str, volume: str) -> TorrentSeries:
    position = SeriesPosition.parse(volume)
    return TorrentSeries(name, volume, (position,) if position else ())


def never_owned(pick: Pick) -> bool:
    return False


def test_the_window_is_the_full_days_before_today() -> None:
    win = window(date(2026, 12, 3), 7)
    assert (win.start, win.end) == (date(2026, 11, 26), date(2026, 12, 3))
    assert win.as_dict() == {"start": "2026-11-26", "end": "2026-12-03"}
    with pytest.raises(ValueError):
        window(date(2026, 12, 3), 0)


@pytest.mark.parametrize(("size", "perpage"), [(1, 25), (10, 30), (100, 300), (400, 1000)])
def test_a_page_asks_for_more_rows_than_the_list_keeps(size: int, perpage: int) -> None:
    assert perpage_for(size) == perpage


@pytest.mark.parametrize(("title", "rseries", "expected"), [
    ("The Colour of Magic (Unabridged)", (), "The Colour of Magic"),
    ("Discworld 01 - The Colour of Magic", (series("Discworld", "1"),), "The Colour of Magic"),
    ("Catch 22 - A Novel", (), "Catch 22 - A Novel"),  # no series on the row: the number is the title's
    ("Leviathan Wakes, Book 1 [64kbps]", (series("The Expanse", "1"),), "Leviathan Wakes"),
    ("(Unabridged)", (), "(Unabridged)"),  # nothing left after stripping: keep what there was
])
def test_the_book_title_drops_the_uploaders_notes(title: str, rseries: tuple[TorrentSeries, ...],
                                                   expected: str) -> None:
    assert book_title(row(1, title, 1, series=rseries)) == expected


def test_the_most_snatched_are_kept_in_order_whatever_order_the_rows_came_in() -> None:
    rows = [row(i, f"Book {chr(65 + i)}", snatches) for i, snatches in enumerate([5, 90, 40, 70, 10])]
    chosen = select_top(rows, category=41, size=3, owned=never_owned)
    assert [p.title for p in chosen.picks] == ["Book B", "Book D", "Book C"]
    assert [p.rank for p in chosen.picks] == [1, 2, 3]
    assert not chosen.skipped  # the rest were simply not reached


def test_each_skip_is_counted_by_its_reason_and_does_not_use_a_place() -> None:
    rows = [
        row(1, "An E-Book", 100, main_cat=14, category=63),
        row(2, "Ein Hörbuch", 99, lang_code="GER"),
        row(3, "Nobody Wrote This", 98, authors=()),
        row(4, "Already Snatched", 97, my_snatched=True),
        row(5, "Owned Already", 96),
        row(6, "The Kept One (Unabridged)", 95),
        row(7, "The Kept One [MP3]", 94),  # a second upload of the same work
        row(8, "Taken By Fantasy", 93),  # an earlier category of the run picked it
        row(9, "Second Kept", 92),
        row(10, "Not Reached", 1),
    ]

    def owned(pick: Pick) -> bool:
        return pick.title == "Owned Already"

    chosen = select_top(rows, category=47, size=2, owned=owned,
                        taken=frozenset({wanted_key("Taken By Fantasy", ["Ada Abbott"])}))
    assert [(p.title, p.rank, p.torrent.torrent_id) for p in chosen.picks] == [
        ("The Kept One", 1, 6), ("Second Kept", 2, 9)]
    assert chosen.skipped_dict() == {"duplicate": 2, "no_title_or_author": 1, "not_audiobook": 1,
                                     "not_english": 1, "owned": 1, "snatched": 1}
    assert set(chosen.skipped) == set(Skip)


def test_the_same_row_on_two_pages_counts_once() -> None:
    first = [row(1, "Alpha", 50), row(2, "Beta", 40)]
    chosen = select_top([*first, row(2, "Beta", 40), row(3, "Gamma", 30)], category=41, size=5, owned=never_owned)
    assert [p.torrent.torrent_id for p in chosen.picks] == [1, 2, 3] and not chosen.skipped


def test_a_row_without_a_language_code_is_taken_as_english() -> None:
    chosen = select_top([row(1, "Alpha", 5, lang_code=None)], category=41, size=1, owned=never_owned)
    assert [p.language for p in chosen.picks] == ["en"]


def test_a_pick_carries_its_series_and_the_evidence_but_no_secret() -> None:
    torrent = row(412345, "Discworld 01 - The Colour of Magic", 512,
                  series=(series("Discworld", "1"),), authors=("Terry Pratchett",))
    (pick,) = select_top([torrent], category=41, size=1, owned=never_owned).picks
    assert (pick.series_name, pick.position, pick.key) == (
        "Discworld", "1", wanted_key("The Colour of Magic", ["Terry Pratchett"]))
    assert pick.titles == ("The Colour of Magic", "Discworld 01 - The Colour of Magic")
    source = pick.source(window(date(2026, 12, 3), 7))
    assert source == {"category": 41, "category_name": "Audiobooks - Fantasy", "rank": 1, "torrent_id": 412345,
                      "times_completed": 512, "seeders": 9, "added": "2026-11-30T12:00:00+00:00",
                      "window": {"start": "2026-11-26", "end": "2026-12-03"}}


def test_a_volume_text_naming_several_positions_gives_none() -> None:
    positions = tuple(p for p in (SeriesPosition.parse("1-16"), SeriesPosition.parse("13.5")) if p)
    torrent = row(1, "The Whole Saga", 5, series=(TorrentSeries("Saga", "01-16, 13.5", positions),))
    (pick,) = select_top([torrent], category=41, size=1, owned=never_owned).picks
    assert (pick.series_name, pick.position) == ("Saga", None)


@pytest.mark.parametrize(("text", "parsed"), [("", ()), (" 41, 47 ,41,", (41, 47)), ("108", (108,))])
def test_categories_setting_parses(text: str, parsed: tuple[int, ...]) -> None:
    assert parse_categories(text) == parsed
    settings = Settings(database_url="postgresql://x", redis_url="redis://x", crawl_top_list_categories=text)
    assert settings.top_list_categories == parsed
    assert settings.crawl_top_list_categories == ",".join(map(str, parsed))


@pytest.mark.parametrize("text", ["41,fantasy", "0", "-41", "41;47", "4²"])
def test_categories_setting_refuses_what_is_not_a_list_of_ids(text: str) -> None:
    with pytest.raises(ValidationError, match="positive integers"):
        Settings(database_url="postgresql://x", redis_url="redis://x", crawl_top_list_categories=text)


def test_top_lists_are_off_by_default() -> None:
    settings = Settings(database_url="postgresql://x", redis_url="redis://x")
    assert settings.top_list_categories == () and settings.schedule_crawl_top_list == 0
    assert (settings.crawl_top_list_days, settings.crawl_top_list_size) == (7, 10)


def test_job_arguments_are_optional_overrides_within_bounds() -> None:
    assert TopListArgs().categories is None
    assert TopListArgs(categories=[41, 47], days=3, size=5).categories == [41, 47]
    for bad in ({"categories": [0]}, {"days": 0}, {"size": 101}, {"colour": "blue"}):
        with pytest.raises(ValidationError):
            TopListArgs(**bad)
