"""Comparable forms of titles and series names, and how alike two of them are.

Sources spell the same series "The Iron Crown Chronicles", "Iron Crown Series" and "Iron Crown
Chronicles: An Epic Fantasy Series", and the same book "Title", "Title: Subtitle" and
"Iron Crown 3 - Title". Identity decisions (is this owned? is this the same series?) compare the
*keys* made here, never display strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from shared.models.metadata import author_key, natural_name
from shared.normalize import fold_name, split_series_title_hint

__all__ = ["TitleForms", "author_key", "author_keys", "natural_name", "series_core", "similarity", "title_forms",
           "title_query"]

_PUNCT = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")
_EDITION = re.compile(r"\((?:un)?abridged\)|\[(?:un)?abridged\]", re.IGNORECASE)
# Words that say "this is a series" without naming it; dropped from the end of series names.
_GENERIC = frozenset({"series", "saga", "chronicles", "chronicle", "cycle", "sequence", "archives", "trilogy",
                      "books", "novels", "collection", "tales"})


def _plain(text: str) -> str:
    text = fold_name(text).replace("&", " and ")
    return _SPACE.sub(" ", _PUNCT.sub(" ", text)).strip()


def series_core(name: str) -> str:
    """The distinctive part of a series name: no article, no ": subtitle", no trailing "Series"/"Saga"."""
    text = fold_name(name).split(":", 1)[0]
    words = _plain(text).split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    while len(words) > 1 and words[-1] in _GENERIC:
        words = words[:-1]
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class TitleForms:
    """Comparable forms of a title. ``full``: the whole title, and the title without a series prefix
    or suffix. ``short``: the part before a colon. A short form is only ever compared with the other
    side's full forms: "Saga: Books 1-3" and "Saga: Books 4-6" share a short form, not a book."""

    full: frozenset[str]
    short: frozenset[str]

    def __or__(self, other: TitleForms) -> TitleForms:
        return TitleForms(self.full | other.full, self.short | other.short)

    def overlaps(self, other: TitleForms) -> bool:
        return bool(self.full & (other.full | other.short) or self.short & other.full)

    def similarity(self, other: TitleForms) -> float:
        pairs = [(a, b) for a in self.full for b in other.full | other.short]
        pairs += [(a, b) for a in self.short for b in other.full]
        return max((similarity(a, b) for a, b in pairs), default=0.0)


def title_forms(title: str) -> TitleForms:
    raw = _EDITION.sub("", title).strip()
    full = {_plain(raw)}
    hint = split_series_title_hint(raw)
    if hint is not None:
        full.add(_plain(hint[2]))
        raw = hint[2]
    short = {_plain(raw.split(":", 1)[0])} if ":" in raw else set()
    full.discard("")
    short.discard("")
    return TitleForms(frozenset(full), frozenset(short - full))


def title_query(title: str) -> str:
    """What to search a provider for: the title without a series prefix or a subtitle."""
    raw = _EDITION.sub("", title).strip()
    hint = split_series_title_hint(raw)
    if hint is not None:
        raw = hint[2]
    return raw.split(":", 1)[0].strip() or raw


def similarity(a: str, b: str) -> float:
    """0..1: how alike two plain keys are (1.0 only when equal)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def author_keys(names: list[str] | tuple[str, ...]) -> set[str]:
    return {k for k in (author_key(n) for n in names) if k}


def authors_agree(left: set[str], right: set[str]) -> float:
    """1.0 when a person is on both sides, else the best fuzzy likeness (initials, typos)."""
    if not left or not right:
        return 0.0
    if left & right:
        return 1.0
    return max(similarity(a, b) for a in left for b in right)
