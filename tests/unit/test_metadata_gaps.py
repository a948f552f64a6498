"""The gap rules, one behaviour per test: listings joined, ownership by identity, omnibus, novellas,
unreleased books, one edition per position, and the default priority."""

from __future__ import annotations

from datetime import date

import pytest

from workers.metadata.gaps import Entry, Owned, compute, covers, kind_of, merge_entries, released

AS_OF = date(2025, 6, 1)


def audible(asin: str, position: str | None, title: str, release: str = "2020-01-01", abridged: bool = False) -> Entry:
    return Entry("audible", asin, position, title, ("Ada Abbott",), asin, release, "en", abridged)


def hardcover(book_id: str, position: str | None, title: str, year: str = "2020") -> Entry:
    return Entry("hardcover", book_id, position, title, ("Ada Abbott",), None, year)


def run(entries: list[Entry], placed: dict[int, dict[str, list[str]]] | None = None, owned: Owned | None = None,
        rules: set[str] | None = None) -> dict[str, int]:
    books = merge_entries(entries)
    result = compute(books, placed or {}, owned or Owned(), author_keys_of={i: {"ada abbott"} for i in range(99)},
                     rules=rules or set(), as_of=AS_OF)
    return {g.position: g.priority for g in result.missing}


def test_kinds_and_covers() -> None:
    assert [kind_of(p) for p in ("3", "2.5", "0", "1-3", None)] == ["primary", "novella", "prequel", "omnibus",
                                                                   "unknown"]
    assert covers("1-3") == {"1", "2", "3"} and covers("2.5") == {"2.5"} and covers(None) == set()


@pytest.mark.parametrize(("release", "out"), [("2025-05-31", True), ("2025-06-02", False), ("2025", True),
                                              ("2026", False), ("2025-06", True), (None, True)])
def test_released(release: str | None, out: bool) -> None:
    assert released(release, AS_OF) is out


def test_interior_and_trailing_gaps_with_the_next_book_first() -> None:
    entries = [audible(f"A{n}", str(n), f"Book {n}") for n in range(1, 7)]
    missing = run(entries, placed={1: {"abs": ["1"]}, 2: {"abs": ["3"]}})
    assert missing == {"4": 100, "5": 89, "6": 88, "2": 60}


def test_sequence_missing_on_audible_comes_from_hardcover_and_books_join_by_title() -> None:
    entries = [audible("A1", "1", "Dawn"), audible("A2", None, "Noon"), audible("A3", "Book 3", "Dusk"),
               hardcover("h1", "1", "Dawn"), hardcover("h2", "2", "Noon"), hardcover("h3", "3", "Dusk"),
               hardcover("h4", "4", "Night")]  # Audible sells 4 but does not link it: Hardcover lists it
    books = merge_entries(entries)
    assert len(books) == 4
    assert {b.title: b.position for b in books} == {"Dawn": "1", "Noon": "2", "Dusk": "3", "Night": "4"}
    assert run(entries, placed={1: {"abs": ["1"]}}) == {"2": 100, "3": 89, "4": 88}


def test_owned_under_another_series_name_or_none_is_owned() -> None:
    entries = [audible(f"A{n}", str(n), f"Book {n}") for n in range(1, 5)]
    owned = Owned(asins={"A2"}, titles={"book 3": {"ada abbott"}})  # by regional-match ASIN, by title
    assert run(entries, placed={1: {"abs": ["1"]}}, owned=owned) == {"4": 100}


def test_a_title_alone_by_someone_else_does_not_own_a_book() -> None:
    entries = [audible("A1", "1", "Book 1"), audible("A2", "2", "Common Title")]
    owned = Owned(titles={"common title": {"somebody else"}})
    assert run(entries, placed={1: {"abs": ["1"]}}, owned=owned) == {"2": 100}


def test_omnibus_covers_its_volumes_and_is_never_wanted_by_default() -> None:
    entries = [audible(f"A{n}", str(n), f"Book {n}") for n in range(1, 6)] + [audible("O1", "1-3", "Books 1-3")]
    assert run(entries, owned=Owned(asins={"O1"})) == {"4": 100, "5": 89}
    assert "1-3" not in run(entries, placed={1: {"abs": ["5"]}})


def test_omnibus_rule_wants_it_only_when_every_volume_is_missing() -> None:
    entries = [audible(f"A{n}", str(n), f"Book {n}") for n in range(1, 5)] + [audible("O1", "1-3", "Books 1-3")]
    assert "1-3" in run(entries, placed={1: {"abs": ["4"]}}, rules={"omnibus"})
    assert "1-3" not in run(entries, placed={1: {"abs": ["2"]}}, rules={"omnibus"})


def test_novellas_prequels_and_unreleased_books_by_rule() -> None:
    entries = [audible("A1", "1", "One"), audible("A2", "2", "Two", release="2025-09-01"),
               audible("N1", "1.5", "Between"), audible("P0", "0", "Before")]
    placed = {1: {"abs": ["1"]}}
    assert run(entries, placed=placed) == {}
    assert set(run(entries, placed=placed, rules={"novella", "prequel", "unreleased"})) == {"2", "1.5", "0"}
    assert run(entries, placed=placed, rules={"unreleased"}) == {"2": 10}  # announced: wanted, but last


def test_one_edition_per_position_and_no_abridged_edition() -> None:
    entries = [audible("A1", "1", "One"), audible("B2", "2", "Two"), audible("A2", "2", "Two (Dramatized)"),
               audible("X2", "2", "Two", abridged=True)]
    books = merge_entries(entries)
    assert "X2" not in {b.asin for b in books}
    result = compute(books, {1: {"abs": ["1"]}}, Owned(), author_keys_of={}, rules=set(), as_of=AS_OF)
    assert [(g.position, g.book.asin) for g in result.missing] == [("2", "A2")]


def test_owned_positions_carry_their_sources() -> None:
    entries = [audible("A1", "1", "One"), audible("A2", "2", "Two")]
    result = compute(merge_entries(entries), {7: {"abs": ["1"], "audible": ["1"]}}, Owned(asins={"A2"}),
                     author_keys_of={}, rules=set(), as_of=AS_OF)
    assert result.owned_list() == [{"position": "1", "sources": ["abs", "audible"]},
                                   {"position": "2", "sources": ["listing:asin"]}]
    assert result.missing == []
