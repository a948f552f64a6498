"""Comparable forms of people's names, series names and titles, and how alike two of them are.

Sources spell the same series "The Iron Crown Chronicles", "Iron Crown Series" and "Iron Crown
Chronicles: An Epic Fantasy Series", the same person "Abbott, Ada" and "Ada Abbott", and the same
book "Title", "Title: Subtitle" and "Iron Crown 3 - Title". Identity decisions (is this owned? is
this the same series? is this MAM row the wanted book?) compare the *keys* made here, never display
strings. The metadata workers and the edition choice (:mod:`shared.crawl.choice`) both use this one
module, on top of :func:`shared.normalize.fold_name`, so "J.R.R. Tolkien" and "Tolkien, J. R. R."
are one person everywhere.

Where the two callers want different answers the difference is a named function, not a flag:
:func:`authors_agree` (keys, 0.0 when a side is empty) and :func:`names_agree` (names, ``None`` when
a side is empty); :func:`series_core` and :func:`mam_series_core` (which generic words a series
name loses). The chooser's reading of MAM's noisy titles stays in ``shared/crawl/choice/text.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Set
from dataclasses import dataclass
from difflib import SequenceMatcher

from shared.normalize import fold_name, split_series_title_hint

__all__ = [
    "TitleForms",
    "author_key",
    "author_keys",
    "authors_agree",
    "mam_series_core",
    "names_agree",
    "natural_name",
    "plain",
    "series_core",
    "similarity",
    "title_forms",
    "title_query",
]

_PUNCT = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")
_EDITION = re.compile(r"\((?:un)?abridged\)|\[(?:un)?abridged\]", re.IGNORECASE)
_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md", "esq"})
# Words that say "this is a series" without naming it; dropped from the end of series names.
_GENERIC = frozenset({"series", "saga", "chronicles", "chronicle", "cycle", "sequence", "trilogy", "books", "novels"})
#: The metadata workers' list: series clusters and provider listings. "Universe" is kept: an author's
#: umbrella ("The Abbott Universe") is not one of the series under it.
_SERIES_GENERIC = _GENERIC | {"archives", "collection", "tales"}
#: The edition choice's list for MAM's series names: "Expanse Universe" is The Expanse.
_MAM_SERIES_GENERIC = _GENERIC | {"universe"}


# -- people ---------------------------------------------------------------------------------------


def natural_name(name: str) -> str:
    """ "Abbott, Ada" -> "Ada Abbott": taggers write "Last, First", providers "First Last".

    One comma followed by something that is not a suffix ("Smith, Jr.") is read as "Last, First".
    """
    text = name.strip()
    if text.count(",") == 1:
        last, first = (part.strip() for part in text.split(","))
        if first and last and first.lower().rstrip(".") not in _NAME_SUFFIXES:
            return f"{first} {last}"
    return text


def author_key(name: str) -> str:
    """Identity of a person across sources: "Abbott, Ada" and "Ada Abbott" are one author."""
    return fold_name(natural_name(name))


def author_keys(names: Iterable[str]) -> set[str]:
    return {k for k in (author_key(n) for n in names) if k}


def authors_agree(left: Set[str], right: Set[str]) -> float:
    """1.0 when a person is on both sides, else the best fuzzy likeness (initials, typos); 0.0 when
    either side has no key (the metadata matcher weighs a missing author like a wrong one)."""
    if not left or not right:
        return 0.0
    if left & right:
        return 1.0
    return max(similarity(a, b) for a in left for b in right)


def names_agree(left: Iterable[str], right: Iterable[str]) -> float | None:
    """:func:`authors_agree` over names, but ``None`` when either side names nobody: the edition
    choice tells "no evidence" (a MAM row without an author) from "another person"."""
    a, b = author_keys(left), author_keys(right)
    if not a or not b:
        return None
    return authors_agree(a, b)


# -- keys and likeness ----------------------------------------------------------------------------


def plain(text: str) -> str:
    """Folded, punctuation-free, single-spaced, "&" read as "and": the key every comparison uses."""
    text = fold_name(text).replace("&", " and ")
    return _SPACE.sub(" ", _PUNCT.sub(" ", text)).strip()


def similarity(a: str, b: str) -> float:
    """0..1: how alike two plain keys are (1.0 only when equal). difflib is enough for strings this
    short; rapidfuzz is not a dependency of this project."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


# -- series names ---------------------------------------------------------------------------------


def _series_core(name: str, generic: frozenset[str]) -> str:
    words = plain(fold_name(name).split(":", 1)[0]).split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    while len(words) > 1 and words[-1] in generic:
        words = words[:-1]
    return " ".join(words)


def series_core(name: str) -> str:
    """The distinctive part of a series name: no article, no ": subtitle", no trailing "Series"/"Saga"
    (nor "Archives", "Collection", "Tales"). The metadata workers' series identity."""
    return _series_core(name, _SERIES_GENERIC)


def mam_series_core(name: str) -> str:
    """:func:`series_core` as the edition choice reads MAM's series names: a trailing "Universe" goes
    too, while "Archives", "Collection" and "Tales" stay."""
    return _series_core(name, _MAM_SERIES_GENERIC)


# -- titles of provider records -------------------------------------------------------------------


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
    """The forms of a library or provider title ("(Unabridged)" dropped, a series hint split off)."""
    raw = _EDITION.sub("", title).strip()
    full = {plain(raw)}
    hint = split_series_title_hint(raw)
    if hint is not None:
        full.add(plain(hint[2]))
        raw = hint[2]
    short = {plain(raw.split(":", 1)[0])} if ":" in raw else set()
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
