"""shared.crawl.choice.strategies: the searches for a wanted entry, cheapest first."""

from __future__ import annotations

from shared.crawl.choice import QueryKind, query_strategies
from tests.fixtures.choice import target


def test_every_strategy_in_order() -> None:
    wanted = target(title="Caliban's War: The Expanse, Book 2", authors=["James S. A. Corey"],
                    series_name="The Expanse", position="2", series_narrators=["Jefferson Mays"],
                    asin="B0058XXPXO")
    got = [s.as_dict() for s in query_strategies(wanted)]
    assert got == [
        {"kind": "title_author", "text": "Caliban s War Corey", "search_in": ["title", "author"], "position": None},
        {"kind": "series_position", "text": "The Expanse", "search_in": ["series"], "position": "2"},
        {"kind": "narrator", "text": "Caliban s War Mays", "search_in": ["title", "narrator"], "position": None},
        {"kind": "asin", "text": "B0058XXPXO", "search_in": ["description", "tags"], "position": None},
    ]


def test_only_what_the_entry_knows() -> None:
    kinds = [s.kind for s in query_strategies(target(title="It", authors=["Stephen King"]))]
    assert kinds == [QueryKind.TITLE_AUTHOR]
    bare = query_strategies(target(title="Dune: Book One"))
    assert [(s.kind, s.text) for s in bare] == [(QueryKind.TITLE_AUTHOR, "Dune")]
    assert [s.kind for s in query_strategies(target(title="", asin="B0058XXPXO"))] == [QueryKind.ASIN]
