"""shared.crawl.choice.text and .match: title keys, names, series positions, plausibility, confidence."""

from __future__ import annotations

from typing import Any

import pytest

from shared.crawl.choice import QualityProfile, read_edition
from shared.crawl.choice.match import (
    MatchConfidence,
    Plausibility,
    SeriesVerdict,
    TitleVerdict,
    compare_titles,
    match_torrent,
    series_verdict,
)
from shared.crawl.choice.text import series_names_agree, strip_series_prefix, title_forms
from shared.names import names_agree
from tests.fixtures.choice import target, torrent


def test_title_forms_strip_series_prefix_brackets_and_labels() -> None:
    full, _ = title_forms("Discworld 01 - The Colour of Magic")
    assert "colour of magic" in full
    assert "colour of magic" in title_forms("The Colour of Magic (Unabridged)")[0]
    assert "colour of magic" in title_forms("The Colour of Magic, Book 1")[0]
    assert "colour of magic" in title_forms("Discworld: The Colour of Magic", ("Discworld",))[0]
    assert title_forms("Dune: Book One of the Dune Chronicles")[1] == frozenset({"dune"})


def test_strip_series_prefix_only_at_the_start() -> None:
    assert strip_series_prefix("Discworld 1 - The Colour of Magic", "Discworld") == "the colour of magic"
    assert strip_series_prefix("The Colour of Magic", "Discworld") is None


@pytest.mark.parametrize(
    ("wanted", "offered", "verdict"),
    [
        ("The Name of the Wind", "Name of the Wind", TitleVerdict.EXACT),
        ("The Colour of Magic", "The Color of Magic", TitleVerdict.FUZZY),
        ("Spider-Man: Forever Young", "Spiderman: Forever Young", TitleVerdict.FUZZY),
        ("Dune", "Dune: Book One of the Dune Chronicles", TitleVerdict.SUBTITLE),
        ("It", "It Ends with Us", TitleVerdict.LONGER),
        ("Dune", "Dune Messiah", TitleVerdict.LONGER),
        ("Dune Messiah", "Dune", TitleVerdict.DIFFERENT),
        ("Leviathan Wakes", "Leviathan Falls", TitleVerdict.DIFFERENT),
        ("Red Rising", "Golden Son", TitleVerdict.DIFFERENT),
        ("The Jungle", "The Jungle Book", TitleVerdict.LONGER),  # "book" is a title word, not noise
        ("The Hobbit", "The Hobbit Unabridged Audiobook", TitleVerdict.EXACT),
    ],
)
def test_compare_titles(wanted: str, offered: str, verdict: TitleVerdict) -> None:
    got, score = compare_titles(wanted, offered)
    assert got == verdict
    good = verdict in (TitleVerdict.EXACT, TitleVerdict.SUBTITLE, TitleVerdict.FUZZY)
    assert (score >= 0.85) is good


def test_names_and_series_agree() -> None:
    assert names_agree(["Patrick Rothfuss"], ["Rothfuss, Patrick"]) == 1.0
    assert names_agree(["J.R.R. Tolkien"], ["J. R. R. Tolkien"]) == 1.0
    assert names_agree(["Terry Pratchett"], []) is None
    low = names_agree(["Marie Lu"], ["David Gemmell"])
    assert low is not None and low < 0.5
    assert series_names_agree("The Expanse Series", "Expanse")
    assert not series_names_agree("The Expanse", "Discworld")


@pytest.mark.parametrize(
    ("wanted", "offered", "verdict"),
    [
        ("2", ["The Expanse: 2"], SeriesVerdict.SAME),
        ("2", ["The Expanse: 02"], SeriesVerdict.SAME),
        ("2", ["The Expanse: 2.5"], SeriesVerdict.NOVELLA),
        ("2.5", ["The Expanse: 2"], SeriesVerdict.OTHER_POSITION),
        ("2", ["The Expanse: 3"], SeriesVerdict.OTHER_POSITION),
        ("2", ["The Expanse: 1-3"], SeriesVerdict.OMNIBUS),
        ("13.5", ["The Expanse: 01-16, 13.5"], SeriesVerdict.OMNIBUS),
        ("1-3", ["The Expanse: 1-3"], SeriesVerdict.SAME),
        ("1-3", ["The Expanse: 2"], SeriesVerdict.OTHER_POSITION),
        ("2", ["Discworld: 2"], SeriesVerdict.UNKNOWN),
        ("2", ["The Expanse: "], SeriesVerdict.SERIES_ONLY),
        ("2", ["Expanse Universe: 3", "The Expanse: 2"], SeriesVerdict.SAME),  # several series on one row
    ],
)
def test_series_verdict(wanted: str, offered: list[str], verdict: SeriesVerdict) -> None:
    t = target(title="X", series_name="The Expanse", position=wanted)
    assert series_verdict(t, torrent(torrent_id=1, title="X", series_specs=offered))[0] == verdict


def test_series_position_from_the_title_when_series_info_is_empty() -> None:
    t = target(title="The Colour of Magic", series_name="Discworld", position="1")
    verdict, evidence = series_verdict(t, torrent(torrent_id=1, title="Discworld 02 - The Light Fantastic"))
    assert verdict == SeriesVerdict.OTHER_POSITION and evidence == "title says Discworld 2"


def _match(wanted_kw: dict[str, Any], **row: Any) -> MatchConfidence:
    t = target(**wanted_kw)
    tor = torrent(torrent_id=1, **row)
    return match_torrent(t, tor, read_edition(tor, t.title), QualityProfile())


def test_plausibility_from_size_and_duration() -> None:
    base = {"title": "Book", "authors": ["A"], "runtime_seconds": 36000}
    ok = _match(base, title="Book", authors=["A"], size=36000 * 64 * 125)
    assert ok.plausibility_verdict == Plausibility.PLAUSIBLE and round(ok.implied_kbps) == 64
    tiny = _match(base, title="Book", authors=["A"], size=36000 * 10 * 125)
    assert tiny.plausibility_verdict == Plausibility.IMPLAUSIBLE_SIZE
    huge = _match(base, title="Book", authors=["A"], size=36000 * 500 * 125)
    assert huge.plausibility_verdict == Plausibility.IMPLAUSIBLE_SIZE
    short = _match(base, title="Book", authors=["A"], duration_seconds=20000)
    assert short.plausibility_verdict == Plausibility.IMPLAUSIBLE_DURATION
    near = _match(base, title="Book", authors=["A"], duration_seconds=35000)
    assert near.plausibility_verdict == Plausibility.PLAUSIBLE
    unknown = _match({"title": "Book", "authors": ["A"]}, title="Book", authors=["A"], size=10)
    assert unknown.plausibility_verdict == Plausibility.UNKNOWN
    # A collection's size is several books': not judged against one book's runtime.
    box = _match(base, title="Book Box Set", authors=["A"], size=36000 * 500 * 125)
    assert box.plausibility_verdict == Plausibility.UNKNOWN


def test_confidence_falls_with_missing_evidence_and_is_capped_on_disagreement() -> None:
    wanted = {"title": "The Colour of Magic", "authors": ["Terry Pratchett"], "series_name": "Discworld",
              "position": "1", "runtime_seconds": 25200}
    full = _match(wanted, title="The Colour of Magic", series_specs=["Discworld: 1"], size=25200 * 64 * 125)
    no_author = _match(wanted, title="The Colour of Magic", authors=[], series_specs=["Discworld: 1"],
                       size=25200 * 64 * 125)
    other = _match(wanted, title="The Colour of Magic", authors=["Somebody Else"], series_specs=["Discworld: 1"])
    assert full.confidence > no_author.confidence > other.confidence
    assert no_author.authors is None
    assert other.confidence <= 0.3 and other.authors == 0.0
