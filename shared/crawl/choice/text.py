"""Comparable forms of MAM titles and series names, for judging MAM rows.

The folding itself, people's identity and the likeness of two keys are :mod:`shared.names` (the
metadata workers use the same module), so "J.R.R. Tolkien" and "Tolkien, J. R. R." are one person
here exactly as in the library. What is left here is the chooser's own reading of MAM.

Titles on MAM carry noise the wanted entry does not: "Discworld 01 - The Colour of Magic",
"The Colour of Magic (Unabridged)", "The Colour of Magic: Discworld, Book 1". :func:`title_forms`
strips those into a set of candidate keys; :mod:`.match` decides how alike two sets are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from shared.names import mam_series_core, plain, similarity
from shared.normalize import split_series_title_hint

__all__ = ["series_names_agree", "strip_series_prefix", "title_forms", "title_words"]

_ARTICLES = frozenset({"the", "a", "an"})
#: A bracketed group anywhere: "(Unabridged)", "[64kbps]", "{Discworld #1}". Stripped for a second form.
_BRACKETS = re.compile(r"\s*[(\[{][^()\[\]{}]*[)\]}]")
#: A trailing "Book 3" / ", Vol. 2" / "#4" label: the title's series position, not its words.
_TRAILING_LABEL = re.compile(r"[\s,:\-]*(?:book|bk|volume|vol|part|no|#)\.?\s*\d+(?:\.\d+)?\s*$", re.IGNORECASE)
#: Words uploaders append to titles that never belong to the book's own title.
_NOISE = frozenset({"unabridged", "audiobook", "m4b", "mp3", "retail"})
_SEPARATOR = re.compile(r"\s*(?::|\s-\s|\s\u2013\s|\s\u2014\s)\s*")


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


def series_names_agree(a: str, b: str) -> bool:
    """One series under two spellings: equal cores, or cores nearly alike (a typo, a plural)."""
    left, right = mam_series_core(a), mam_series_core(b)
    return bool(left) and (left == right or similarity(left, right) >= 0.9)
