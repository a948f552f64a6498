"""Comparable forms of titles, names and series for judging MAM rows.

A pure re-implementation of the few helpers ``workers/metadata/names.py`` keeps for provider records
(shared code may not import ``workers``): the folding itself is :func:`shared.normalize.fold_name`
and people's identity is :func:`shared.models.metadata.author_key`, so "J.R.R. Tolkien" and
"Tolkien, J. R. R." are one person here exactly as in the library.

Titles on MAM carry noise the wanted entry does not: "Discworld 01 - The Colour of Magic",
"The Colour of Magic (Unabridged)", "The Colour of Magic: Discworld, Book 1". :func:`title_forms`
strips those into a set of candidate keys; :mod:`.match` decides how alike two sets are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import SequenceMatcher

from shared.models.metadata import author_key
from shared.normalize import fold_name, split_series_title_hint

__all__ = [
    "author_keys",
    "names_agree",
    "plain",
    "ratio",
    "series_core",
    "series_names_agree",
    "strip_series_prefix",
    "title_forms",
    "title_words",
]

_PUNCT = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")
_ARTICLES = frozenset({"the", "a", "an"})
#: A bracketed group anywhere: "(Unabridged)", "[64kbps]", "{Discworld #1}". Stripped for a second form.
_BRACKETS = re.compile(r"\s*[(\[{][^()\[\]{}]*[)\]}]")
#: A trailing "Book 3" / ", Vol. 2" / "#4" label: the title's series position, not its words.
_TRAILING_LABEL = re.compile(r"[\s,:\-]*(?:book|bk|volume|vol|part|no|#)\.?\s*\d+(?:\.\d+)?\s*$", re.IGNORECASE)
#: Words uploaders append to titles that never belong to the book's own title.
_NOISE = frozenset({"unabridged", "audiobook", "m4b", "mp3", "retail"})
#: Generic words dropped from the end of series names ("The Expanse Series" == "The Expanse").
_GENERIC = frozenset({"series", "saga", "chronicles", "chronicle", "cycle", "sequence", "trilogy", "books",
                      "novels", "universe"})
_SEPARATOR = re.compile(r"\s*(?::|\s-\s|\s\u2013\s|\s\u2014\s)\s*")


def plain(text: str) -> str:
    """Folded, punctuation-free, single-spaced: the key every comparison here uses."""
    folded = fold_name(text).replace("&", " and ")
    return _SPACE.sub(" ", _PUNCT.sub(" ", folded)).strip()


def title_words(text: str) -> tuple[str, ...]:
    """The words of a plain title without a leading article ("The Colour of Magic" → colour, of, magic)."""
    words = plain(text).split()
    if len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    return tuple(words)


def _key(text: str) -> str:
    words = list(title_words(text))
    while len(words) > 1 and words[-1] in _NOISE:
        words.pop()
    return " ".join(words)


def strip_series_prefix(title: str, series_name: str) -> str | None:
    """The title without a leading "<series> [N] [-:]" ("Discworld 1 - The Colour of Magic"), or None."""
    head, series = plain(title), plain(series_name)
    if not series or not head.startswith(series + " "):
        return None
    rest = re.sub(r"^(?:(?:book|bk|volume|vol|part|no)\s*)?\d+(?:\s\d+)?\s+", "", head[len(series) + 1:])
    return rest or None


def title_forms(title: str, prefixes: Iterable[str] = ()) -> tuple[frozenset[str], frozenset[str]]:
    """``(full, short)`` keys of a title.

    ``full``: the title as written, without bracketed groups, without a trailing "Book N", without a
    series prefix or suffix (from :func:`shared.normalize.split_series_title_hint`), without a known
    prefix (a series or author name: "Discworld - ...", "Terry Pratchett - ..."). ``short``: the
    first segment before a ":" or " - " separator ("Dune: Book One of the Dune Chronicles" → "dune");
    callers weigh a short-form match below a full one.
    """
    raw = title.strip()
    variants = {raw, _BRACKETS.sub("", raw).strip()}
    for text in list(variants):
        variants.add(_TRAILING_LABEL.sub("", text).strip())
    for text in list(variants):
        hint = split_series_title_hint(text)
        if hint is not None:
            variants.add(hint[2])
        for name in prefixes:
            stripped = strip_series_prefix(text, name)
            if stripped is not None:
                variants.add(stripped)
    full = {_key(v) for v in variants}
    short = {_key(_SEPARATOR.split(v, maxsplit=1)[0]) for v in variants if _SEPARATOR.search(v)}
    full.discard("")
    short.discard("")
    return frozenset(full), frozenset(short - full)


def ratio(a: str, b: str) -> float:
    """0..1 likeness of two keys (1.0 only when equal). difflib is enough for strings this short;
    rapidfuzz is not a dependency of this project."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def author_keys(names: Iterable[str]) -> frozenset[str]:
    return frozenset(k for k in (author_key(n) for n in names) if k)


def names_agree(left: Iterable[str], right: Iterable[str]) -> float | None:
    """1.0 when one person is on both sides, else the best likeness of two keys (a typo, initials
    spelled out); None when either side names nobody."""
    a, b = author_keys(left), author_keys(right)
    if not a or not b:
        return None
    if a & b:
        return 1.0
    return max(ratio(x, y) for x in a for y in b)


def series_core(name: str) -> str:
    """The distinctive part of a series name: no article, no ": subtitle", no trailing "Series"."""
    words = plain(fold_name(name).split(":", 1)[0]).split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    while len(words) > 1 and words[-1] in _GENERIC:
        words = words[:-1]
    return " ".join(words)


def series_names_agree(a: str, b: str) -> bool:
    left, right = series_core(a), series_core(b)
    return bool(left) and (left == right or ratio(left, right) >= 0.9)
