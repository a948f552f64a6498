"""Identity keys and series positions: the cases real libraries throw at us."""

from __future__ import annotations

import random

import pytest

from shared.normalize import (
    fold_name,
    is_fractional_position,
    is_range_position,
    position_sort_key,
    split_series_title_hint,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Brandon Sanderson", "brandon  sanderson"),
        ("Brandon Sanderson", "  BRANDON\tSanderson "),
        ("Stephen King", "Stéphen King"),
        ("Zoë Brontë", "Zoe Bronte"),
        ("J.R.R. Tolkien", "J. R. R. Tolkien"),
        ("J.R.R. Tolkien", "JRR Tolkien"),
        ("J.R.R. Tolkien", "J.R.R.Tolkien"),
        ("Anna K. Berg", "Anna K.  Berg"),
        ("The King's Road", "The King\u2019s Road"),
        ("Conan O'Brien", "Conan O\u00b4Brien"),
        ("Søren Sjøberg", "Soren Sjoberg"),
        ("Łucja Dvořák", "Lucja Dvorak"),
        ("Straße", "STRASSE"),
        ("Jean-Luc", "Jean\u2013Luc"),
        ("ﬁre", "fire"),  # ligature, compatibility decomposition
        ("Ｆｕｌｌ Width", "Full Width"),
        ("Zero\u200bWidth", "ZeroWidth"),
        ("Non\u00a0Breaking", "Non Breaking"),
    ],
)
def test_fold_name_equates_spellings_of_one_name(a: str, b: str) -> None:
    assert fold_name(a) == fold_name(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Martin Smith, Jr.", "Martin Smith"),  # the suffix is part of the name
        ("Martin Smith, Jr.", "Smith, Martin"),  # we do not reorder Last, First
        ("J R R Tolkien", "JRR Tolkien"),  # undotted single letters may be words
        ("A Song of Ice and Fire", "ASong of Ice and Fire"),
        ("St. Louis", "S. T. Louis"),
        ("Discworld", "Discworld 2"),
    ],
)
def test_fold_name_keeps_different_names_apart(a: str, b: str) -> None:
    assert fold_name(a) != fold_name(b)


def test_fold_name_output_shape_and_idempotence() -> None:
    assert fold_name("  J. R. R.   Tolkien ") == "jrr tolkien"
    assert fold_name("Martin Smith, Jr.") == "martin smith, jr."
    assert fold_name("") == ""
    samples = ["Zoë  Brontë", "J. R. R. Tolkien", "The King’s Road", "Martin Smith, Jr.", "ＡＢＣ"]
    for s in samples:
        assert fold_name(fold_name(s)) == fold_name(s)


def test_generator_spelling_variants_fold_to_the_canonical_key() -> None:
    # the simulator's messy spellings must be recoverable, or its ground truth would be unreachable
    from tests.sims import abs_names

    rng = random.Random(7)
    for _ in range(2000):
        name = abs_names.person_name(rng) if rng.random() < 0.7 else abs_names.series_name(rng)
        assert fold_name(abs_names.variant(name, rng)) == fold_name(name), name


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("1", 1.0),
        ("01", 1.0),
        ("2.5", 2.5),
        ("0", 0.0),
        (".5", 0.5),
        ("1-3", 1.0),
        ("1 – 3", 1.0),
        ("4 to 6", 4.0),
        ("Book 3", 3.0),
        ("book 3", 3.0),
        ("Vol. 7", 7.0),
        ("Volume 2", 2.0),
        ("#4", 4.0),
        ("3 of 7", 3.0),
        ("Book Three", 3.0),
        ("3a", 3.0),
        (" 12 ", 12.0),
        ("garbage", None),
        ("", None),
        (None, None),
        ("III", None),
        ("1.2.3", None),
        ("Book", None),
    ],
)
def test_position_sort_key(text: str | None, key: float | None) -> None:
    assert position_sort_key(text) == key


@pytest.mark.parametrize(
    ("text", "is_range", "is_fraction"),
    [
        ("1-3", True, False),
        ("1–3", True, False),
        ("2.5", False, True),
        ("0.5", False, True),
        ("2", False, False),
        ("2.0", False, False),
        ("0", False, False),
        ("garbage", False, False),
        (None, False, False),
    ],
)
def test_range_and_fraction_flags(text: str | None, is_range: bool, is_fraction: bool) -> None:
    assert is_range_position(text) is is_range
    assert is_fractional_position(text) is is_fraction


def test_positions_order_numerically_not_lexically() -> None:
    owned = ["10", "2", "1-3", "2.5", "0", "1"]
    assert sorted(owned, key=lambda p: position_sort_key(p) or 0.0) == ["0", "1-3", "1", "2", "2.5", "10"]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Discworld 01 - The Colour of Magic", ("Discworld", "1", "The Colour of Magic")),
        ("Discworld, Book 3 - Equal Rites", ("Discworld", "3", "Equal Rites")),
        ("The Expanse #2: Caliban's War", ("The Expanse", "2", "Caliban's War")),
        ("The Expanse 1-3 - Omnibus", ("The Expanse", "1-3", "Omnibus")),
        ("The Way of Kings (The Stormlight Archive, Book 1)", ("The Stormlight Archive", "1", "The Way of Kings")),
        ("Edgedancer (The Stormlight Archive, Book 2.5)", ("The Stormlight Archive", "2.5", "Edgedancer")),
        ("Mistborn [Mistborn #1]", ("Mistborn", "1", "Mistborn")),
        ("Leviathan Wakes (The Expanse Book 1)", ("The Expanse", "1", "Leviathan Wakes")),
        ("Storm Front: The Dresden Files, Book 1", ("The Dresden Files", "1", "Storm Front")),
    ],
)
def test_split_series_title_hint_recognises_common_shapes(title: str, expected: tuple[str, str, str]) -> None:
    assert split_series_title_hint(title) == expected


@pytest.mark.parametrize(
    "title",
    [
        "The Colour of Magic",
        "101 Dalmatians",
        "Blade Runner (2049)",
        "Vol 1 - The Colour of Magic",  # a label is not a series
        "Book 1 - The Colour of Magic",
        "Title (Unabridged)",
        "Project Hail Mary: A Novel",
        "",
    ],
)
def test_split_series_title_hint_declines_non_series_titles(title: str) -> None:
    assert split_series_title_hint(title) is None
