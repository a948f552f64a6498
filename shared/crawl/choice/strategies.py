"""The searches to try for a wanted entry, cheapest (most specific, fewest rows) first.

The crawl worker runs them in order and stops once a decision is ``confident``. Plain values: the
MAM client turns each into its request (``tor[text]``, ``srchIn``) and the request cache keys on
them, so two entries asking the same query share one request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from shared.crawl.choice.target import Target
from shared.normalize import split_series_title_hint

__all__ = ["QueryKind", "QueryStrategy", "query_strategies"]

_NON_WORD = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")


class QueryKind(StrEnum):
    TITLE_AUTHOR = "title_author"
    SERIES_POSITION = "series_position"
    NARRATOR = "narrator"
    ASIN = "asin"


@dataclass(frozen=True, slots=True)
class QueryStrategy:
    kind: QueryKind
    text: str  # what goes in tor[text]; non-word characters removed like Jackett does
    search_in: tuple[str, ...]  # tor[srchIn]: title, author, narrator, series, description, tags
    position: str | None = None  # series_position only: the canonical position the rows must have

    def as_dict(self) -> dict[str, object]:
        return {"kind": str(self.kind), "text": self.text, "search_in": list(self.search_in),
                "position": self.position}


def _clean(text: str) -> str:
    return _SPACE.sub(" ", _NON_WORD.sub(" ", text)).strip()


def _title_core(title: str) -> str:
    """The title without a series prefix/suffix or a subtitle: MAM's "all words" search would miss
    an upload whose title lacks the subtitle."""
    hint = split_series_title_hint(title)
    raw = hint[2] if hint is not None else title
    return raw.split(":", 1)[0].strip() or raw


def _surname(name: str) -> str:
    words = _clean(name).split()
    return words[-1] if words else ""


def query_strategies(target: Target) -> tuple[QueryStrategy, ...]:
    title = _clean(_title_core(target.title))
    out: list[QueryStrategy] = []
    if title:
        author = _surname(target.authors[0]) if target.authors else ""
        text = f"{title} {author}".strip()
        out.append(QueryStrategy(QueryKind.TITLE_AUTHOR, text, ("title", "author")))
    if target.series_name:
        series = _clean(target.series_name)
        position = target.position.canonical if target.position is not None else None
        # The position is not searchable text on MAM (it sits in series_info): the series name finds
        # the rows, and the decision sorts them out by position.
        if series:
            out.append(QueryStrategy(QueryKind.SERIES_POSITION, series, ("series",), position))
    for narrator in dict.fromkeys(target.preferred_narrators + target.narrators):
        if title and _clean(narrator):
            out.append(QueryStrategy(QueryKind.NARRATOR, f"{title} {_surname(narrator)}", ("title", "narrator")))
            break
    if target.asin:
        out.append(QueryStrategy(QueryKind.ASIN, _clean(target.asin), ("description", "tags")))
    seen: set[tuple[str, tuple[str, ...]]] = set()
    unique: list[QueryStrategy] = []
    for strategy in out:
        key = (strategy.text.casefold(), strategy.search_in)
        if key not in seen:
            seen.add(key)
            unique.append(strategy)
    return tuple(unique)
