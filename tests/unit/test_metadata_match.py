"""Matching a library recording to provider records: identity first, then a scored check that tells
the right recording from the abridged, foreign and other-book distractors a title search returns."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.names import author_key, natural_name, series_core, title_forms, title_query
from workers.metadata.match import choose, identifier_confidence, isbn13, score
from workers.metadata.providers.base import ProviderBook, SeriesRef
from workers.metadata.recordings import LibraryRecording

HOURS = 3600

REC = LibraryRecording(recording_id=1, work_id=1, title="Iron Crown 3 - The Ashen Blade", authors=("Abbott, Ada",),
                       narrators=("Nils Vance",), series=(), asin=None, isbn=None, language="English",
                       duration_seconds=10 * HOURS + 25, abridged=False, item_ids=("li_1",))
MAIN = ProviderBook(source="audible", source_id="B0MAIN0001", asin="B0MAIN0001", title="The Ashen Blade",
                    authors=("Ada Abbott",), narrators=("Nils Vance",), duration_seconds=10 * HOURS,
                    language="en", abridged=False, series=(SeriesRef("Iron Crown", "3", "B0SERIES01"),))
ABRIDGED = replace(MAIN, source_id="B0ABRIDGED", asin="B0ABRIDGED", narrators=("Somebody Else",),
                   duration_seconds=int(4.5 * HOURS), abridged=True, series=())
GERMAN = replace(MAIN, source_id="B0GERMAN01", asin="B0GERMAN01", narrators=("Jonas Marsh",), language="de",
                 duration_seconds=int(11.2 * HOURS), series=())
OTHER = replace(MAIN, source_id="B0OTHER001", asin="B0OTHER001", title="The Ashen Throne")


def test_names_and_titles_are_compared_by_key() -> None:
    assert natural_name("Abbott, Ada") == "Ada Abbott" and natural_name("Smith, Jr.") == "Smith, Jr."
    assert author_key("Abbott, Ada") == author_key("ADA ABBOTT")
    assert {series_core(n) for n in ("The Iron Crown Chronicles", "Iron Crown Series",
                                     "Iron Crown Chronicles: An Epic Fantasy Series", "Iron Crown")} == {"iron crown"}
    assert series_core("Sword & Sun Saga") == series_core("Sword and Sun")
    assert title_query("Iron Crown 3 - The Ashen Blade") == "The Ashen Blade"
    assert title_query("The Ashen Blade: Iron Crown, Book 3") == "The Ashen Blade"
    assert title_forms("Iron Crown 3 - The Ashen Blade").overlaps(title_forms("The Ashen Blade"))
    assert title_forms("The Ashen Blade: A Novel").overlaps(title_forms("The Ashen Blade"))
    # two omnibus editions share the words before the colon, not a book
    assert not title_forms("Iron Crown: Books 1-3").overlaps(title_forms("Iron Crown: Books 4-6"))


def test_the_right_recording_wins_over_abridged_foreign_and_other_books() -> None:
    decision = choose(REC, [GERMAN, OTHER, ABRIDGED, MAIN], threshold=0.8)
    assert decision.book == MAIN and decision.method == "title_author_duration"
    assert decision.confidence >= 0.95
    assert score(REC, ABRIDGED).confidence < 0.5
    assert score(REC, GERMAN).confidence < 0.5
    assert score(REC, OTHER).confidence <= 0.4


def test_duration_alone_is_not_identity() -> None:
    same_length_other_book = replace(MAIN, title="A Different Story", authors=("Someone Else",))
    assert score(REC, same_length_other_book).confidence <= 0.4


def test_without_a_runtime_title_and_author_are_borderline() -> None:
    unknown = replace(REC, duration_seconds=None, narrators=())
    assert 0.7 <= score(unknown, MAIN).confidence <= 0.85


def test_isbn_identifies_even_in_either_spelling() -> None:
    assert isbn13("0-306-40615-2") == "9780306406157" and isbn13("9780306406157") == "9780306406157"
    rec = replace(REC, isbn="0306406152", title="Something odd", duration_seconds=None)
    decision = choose(rec, [replace(MAIN, isbn="9780306406157")], threshold=0.8)
    assert decision.method == "isbn" and decision.confidence == 1.0


def test_an_asin_that_points_at_another_book_goes_to_review() -> None:
    wrong = replace(OTHER, title="Completely Unrelated", duration_seconds=2 * HOURS)
    assert identifier_confidence(REC, wrong).confidence == 0.5
    assert identifier_confidence(REC, ABRIDGED).confidence == 0.75  # right book, wrong recording
    assert identifier_confidence(REC, MAIN).confidence == 1.0


def test_two_different_books_scoring_alike_are_not_decided() -> None:
    twin = replace(MAIN, source_id="B0TWIN0001", asin="B0TWIN0001", title="The Ashen Blades")
    rec = replace(REC, title="The Ashen Blade", narrators=())
    decision = choose(rec, [MAIN, twin], threshold=0.7)
    assert decision.confidence < 0.7 and "ambiguous" in decision.notes[0]


@pytest.mark.parametrize("language", ["English", "eng", "en", "english", None])
def test_language_spellings_agree(language: str | None) -> None:
    assert score(replace(REC, language=language), MAIN).language_ok
