"""One series position type for every source: canonical spelling, ordering, ranges, the odd cases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.normalize import position_sort_key, split_series_title_hint
from shared.positions import SeriesPosition, canonical_position


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        # MAM series_info positions come as these strings
        ("2.5", "2.5"),
        ("0", "0"),
        ("1-3", "1-3"),
        ("", None),
        # ABS sequences as people type them
        ("1", "1"),
        ("01", "1"),
        ("1.50", "1.5"),  # the library and the providers used to disagree here
        ("3.0", "3"),
        ("1 – 3", "1-3"),
        ("4 to 6", "4-6"),
        ("Book 3", "3"),
        ("Vol. 7", "7"),
        ("#4", "4"),
        ("3 of 7", "3"),
        ("Book Three", "3"),
        ("3a", "3"),
        (".5", "0.5"),
        ("10", "10"),
        ("100", "100"),  # never "1E+2"
        ("  ", None),
        ("garbage", None),
        ("III", None),
        ("1.2.3", None),
        (None, None),
        # Hardcover's floats
        (1.0, "1"),
        (2.5, "2.5"),
        (0, "0"),
        (float("nan"), None),
        (True, None),
    ],
)
def test_parse_gives_one_canonical_spelling(raw: object, canonical: str | None) -> None:
    parsed = SeriesPosition.parse(raw)
    assert (parsed.canonical if parsed else None) == canonical


def test_library_text_and_provider_text_compare_equal_through_the_canonical_key() -> None:
    """ABS keeps "1.50" as written; the comparison key is the same as Audible's "1.5"."""
    library = SeriesPosition.parse("1.50")
    provider = canonical_position("Book 1.5")
    assert library is not None and library.canonical == provider == "1.5"
    assert position_sort_key("1.50") == position_sort_key("1.5") == 1.5


def test_find_takes_the_first_number_in_free_text_but_parse_does_not() -> None:
    assert SeriesPosition.parse("2, Dramatized Adaptation") is None
    assert canonical_position("2, Dramatized Adaptation") == "2"
    assert canonical_position("1.2.3") == "1.2"  # a provider field known to be a position
    assert canonical_position("no number here") is None


def test_hardcover_details_range_wins_over_its_float() -> None:
    assert canonical_position(1.0, "1-3") == "1-3"
    assert canonical_position(1.0, "Book 1") == "1"
    assert canonical_position(None, "garbage") is None


def test_sort_key_ranges_and_fractions() -> None:
    omnibus, novella, prequel = (SeriesPosition.parse(x) for x in ("1-3", "2.5", "0"))
    assert omnibus is not None and omnibus.is_range and not omnibus.is_fractional and omnibus.sort_key == 1.0
    assert novella is not None and novella.is_fractional and not novella.is_range
    assert prequel is not None and prequel.sort_key == 0.0 and not prequel.is_fractional
    two = SeriesPosition.parse("2.0")
    assert two is not None and not two.is_fractional and two.start == Decimal("2.0")
    owned = ["10", "2", "1-3", "2.5", "0", "1", "1.50"]
    keys = {p: SeriesPosition.parse(p) for p in owned}
    assert sorted(owned, key=lambda p: keys[p].sort_key if keys[p] else 0.0) == [  # type: ignore[union-attr]
        "0", "1-3", "1", "1.50", "2", "2.5", "10"]


def test_covers() -> None:
    def covers(text: str) -> set[str]:
        parsed = SeriesPosition.parse(text)
        assert parsed is not None
        return parsed.covers()

    assert covers("1-3") == {"1", "2", "3"}
    assert covers("01-03") == {"1", "2", "3"}
    assert covers("2.5") == {"2.5"}
    assert covers("1.5-2.5") == {"1.5-2.5"}
    assert covers("1-500") == {"1-500"}  # wider than any real omnibus: only itself


def test_title_hints_spell_positions_canonically() -> None:
    assert split_series_title_hint("Edgedancer (The Stormlight Archive, Book 2.50)") == (
        "The Stormlight Archive", "2.5", "Edgedancer")
    assert split_series_title_hint("Discworld 01 - The Colour of Magic") == ("Discworld", "1", "The Colour of Magic")
