"""shared.crawl.choice.edition: what a row's title, tags and fields say about its edition."""

from __future__ import annotations

import pytest

from shared.crawl.choice import read_edition
from shared.crawl.choice.edition import language_key
from tests.fixtures.choice import torrent


@pytest.mark.parametrize(
    ("tags", "title", "field", "kbps"),
    [
        ("Unabridged, 64kbps, Harper Audio", "Book", None, 64),
        ("128 kbps", "Book", None, 128),
        ("64\u2013128 Kbps", "Book", None, 64),  # a range counts as its lower end
        ("", "Book [96kbps]", None, 96),
        ("64kbps", "Book", 128, 128),  # the parser's value (mediaInfo) wins over tags
        ("Unabridged", "Book", None, None),
    ],
)
def test_bitrate(tags: str, title: str, field: int | None, kbps: int | None) -> None:
    assert read_edition(torrent(torrent_id=1, title=title, tags=tags, bitrate_kbps=field)).bitrate_kbps == kbps


def test_format_prefers_the_best_listed_audio_type_then_words() -> None:
    assert read_edition(torrent(torrent_id=1, title="B", filetypes=["mp3", "m4a"])).format == "m4a"
    assert read_edition(torrent(torrent_id=1, title="B", filetypes=[], tags="MP3 64kbps")).format == "mp3"
    assert read_edition(torrent(torrent_id=1, title="B", filetypes=[], tags="")).format is None


def test_abridged_dramatised_and_collection_words() -> None:
    assert not read_edition(torrent(torrent_id=1, title="B", tags="Unabridged")).abridged
    assert read_edition(torrent(torrent_id=1, title="B (Abridged)", tags="")).abridged
    ga = read_edition(torrent(torrent_id=1, title="B", tags="Graphic Audio, 128kbps"))
    assert ga.dramatised and ga.dramatisation_evidence == "tags say 'Graphic Audio'"
    assert read_edition(torrent(torrent_id=1, title="B [Full-Cast]")).dramatised
    assert read_edition(torrent(torrent_id=1, title="B", tags="BBC Radio 4 dramatisation")).dramatised
    assert read_edition(torrent(torrent_id=1, title="Saga Omnibus")).collection
    assert read_edition(torrent(torrent_id=1, title="Saga, Books 4 to 6")).collection
    assert read_edition(torrent(torrent_id=1, title="B", series_specs=["Saga: 01-16, 13.5"])).collection
    assert not read_edition(torrent(torrent_id=1, title="B", series_specs=["Saga: 3"])).collection


def test_words_of_the_wanted_title_are_not_evidence() -> None:
    row = torrent(torrent_id=1, title="The Collection")
    assert read_edition(row).collection
    assert not read_edition(row, wanted_title="The Collection").collection


def test_audiobook_or_not() -> None:
    assert read_edition(torrent(torrent_id=1, title="B")).is_audiobook
    assert not read_edition(torrent(torrent_id=1, title="B", main_cat=14)).is_audiobook
    assert not read_edition(torrent(torrent_id=1, title="B", filetypes=["epub"])).is_audiobook
    assert not read_edition(torrent(torrent_id=1, title="B", main_cat=None, category=63)).is_audiobook
    assert read_edition(torrent(torrent_id=1, title="B", main_cat=None, category=41)).is_audiobook


def test_language_and_asins() -> None:
    assert language_key("ENG") == language_key("English") == language_key("en") == "en"
    assert language_key("GER") == "de" and language_key(None) is None
    assert read_edition(torrent(torrent_id=1, title="B", lang="SPA")).language == "es"
    assert read_edition(torrent(torrent_id=1, title="B (Deutsch)", lang=None)).language == "de"
    assert read_edition(torrent(torrent_id=1, title="B", lang=None)).language is None
    row = torrent(torrent_id=1, title="B", description="<p>ASIN: b08g9prs1k</p> also B00ABCDEFG")
    assert read_edition(row).asins == {"B08G9PRS1K", "B00ABCDEFG"}
