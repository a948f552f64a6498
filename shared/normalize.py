"""Identity keys for people and series, and parsing of series positions.

Audiobookshelf (ABS) keeps one author/series record per *spelling* (it matches case-insensitively,
nothing more), and every metadata source spells names its own way: Audible writes "J.R.R. Tolkien",
folder names say "J. R. R. Tolkien", tags carry "Stéphen" or a doubled space, OPF files use curly
quotes. Counting authors, series or narrators therefore needs one key per *person or series*, and
that key is :func:`fold_name`. Everything here is a pure function so the sync, the planner and the
tests all agree on the same identity.

Series positions arrive as free text ("1", "2.5", "0", "1-3", "Book 3", "#4", "3 of 7"). We keep the
text as the owned position (it is what ABS stores) and derive a float only for ordering
(:func:`position_sort_key`); parsing and the canonical spelling live in :mod:`shared.positions`.
"""

from __future__ import annotations

import re
import unicodedata

from shared.positions import SeriesPosition

__all__ = [
    "fold_name",
    "is_fractional_position",
    "is_range_position",
    "position_sort_key",
    "split_series_title_hint",
]

# Characters NFKD leaves alone but that people type interchangeably. Quotes and dashes are folded
# to ASCII so "The King’s Road" == "The King's Road"; letters without a decomposition (ø, ł, æ…)
# are spelled out the way English-language sources usually transliterate them.
_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u00f8": "o",
        "\u00d8": "O",
        "\u0111": "d",
        "\u0110": "D",
        "\u0142": "l",
        "\u0141": "L",
        "\u00e6": "ae",
        "\u00c6": "AE",
        "\u0153": "oe",
        "\u0152": "OE",
        "\u00fe": "th",
        "\u00de": "TH",
        "\u00f0": "d",
        "\u00d0": "D",
        "\u0131": "i",
    }
)
# A run of single-letter initials, each followed by a dot, with or without spaces between them:
# "J.R.R. ", "J. R. R. ", "A.J." — but not "St." (two letters) and not "1." (a digit).
_INITIALS = re.compile(r"(?<![^\W\d_])((?:[^\W\d_]\.\s*)+)")
_SPACE = re.compile(r"\s+")


def _join_initials(match: re.Match[str]) -> str:
    letters = "".join(ch for ch in match.group(1) if ch.isalpha())
    return letters + " "


def fold_name(s: str) -> str:
    """Return the identity key of an author, narrator or series name.

    Steps, in order, and why:

    1. Curly quotes, primes, acute/grave accents used as apostrophes and the dash family become
       ASCII ``'``, ``"`` and ``-`` — sources disagree on typography, never on identity.
    2. NFKD, then drop combining marks and format characters (zero-width spaces, soft hyphens):
       "Stéphen" == "Stephen", "ﬁ" == "fi", full-width letters == ASCII. Letters that have no
       decomposition (ø, ł, æ, œ, þ, ð, đ, ı) are transliterated explicitly.
    3. ``casefold`` (not ``lower``): "STRASSE" == "straße".
    4. Dotted initials are joined and lose their dots: "J.R.R. Tolkien", "J. R. R. Tolkien" and
       "JRR Tolkien" all become "jrr tolkien". Dots after single letters carry no identity, and
       spacing around them is the most common disagreement between Audible, folder names and
       tags. Undotted spaced initials ("J R R Tolkien") are *not* joined: a lone letter without a
       dot is too often a real word ("A Song of Ice and Fire").
    5. Collapse runs of whitespace to one space and strip the ends.

    Deliberately *not* done: removing punctuation such as commas ("Martin Smith, Jr." must stay
    one name and not collide with a "Martin Smith Jr" who is somebody else's typo we cannot
    judge), reordering "Last, First", or dropping articles from series names.
    """
    text = s.translate(_TRANSLATE)
    if not text.isascii():  # ASCII has no marks or format characters: skip the slow path
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Mn", "Me", "Cf"))
        # Transliterate again: NFKD can expose translatable characters (e.g. compatibility forms).
        text = text.translate(_TRANSLATE)
    text = text.casefold()
    text = _INITIALS.sub(_join_initials, text)
    return _SPACE.sub(" ", text).strip()


def position_sort_key(pos: str | None) -> float | None:
    """Float used to order and compare series positions; ``None`` when the text is not a position.

    "1" → 1.0, "2.5" → 2.5, "0" → 0.0, ".5" → 0.5, "1-3" → 1.0 (an omnibus sorts where it starts),
    "Book 3"/"Vol. 3"/"#3"/"3 of 7"/"Book Three" → 3.0, "3a" → 3.0. Anything else ("garbage",
    "III", "") → ``None``: see :meth:`shared.positions.SeriesPosition.parse`.
    """
    parsed = SeriesPosition.parse(pos)
    return None if parsed is None else parsed.sort_key


def is_range_position(pos: str | None) -> bool:
    """True for omnibus positions such as "1-3", "1–3" or "4 to 6" (they own several slots)."""
    parsed = SeriesPosition.parse(pos)
    return parsed is not None and parsed.is_range


def is_fractional_position(pos: str | None) -> bool:
    """True for in-between positions such as "2.5" (novellas); false for "2", "2.0" and ranges."""
    parsed = SeriesPosition.parse(pos)
    return parsed is not None and parsed.is_fractional


def _clean_position(text: str) -> str:
    """The canonical spelling of a position the hint patterns matched: "01" → "1", "1 – 3" → "1-3"."""
    parsed = SeriesPosition.parse(text)
    return parsed.canonical if parsed is not None else text


_HINT_POS = r"(?P<pos>\d+(?:\.\d+)?(?:\s*[-\u2013]\s*\d+(?:\.\d+)?)?)"
_HINT_LABEL = r"(?:book|bk|volume|vol|part|no)\.?\s*"
_LABEL_WORDS = frozenset({"book", "bk", "volume", "vol", "part", "pt", "no", "number", "episode", "ep"})
# "Title (Series, Book 3)", "Title [Series #3]", "Title (Series Book 3)", "Title (Series, 3)"
_HINT_PAREN = re.compile(
    rf"^(?P<title>.+?)\s*[(\[]\s*(?P<series>[^()\[\]]+?)"
    rf"(?:\s*,\s*(?:{_HINT_LABEL}|\#)?|\s+(?:{_HINT_LABEL}|\#)|\s*\#)"
    rf"{_HINT_POS}\s*[)\]]\s*$",
    re.IGNORECASE,
)
# "Title: Series, Book 3" (Audible-style subtitle folded into the title)
_HINT_COLON = re.compile(
    rf"^(?P<title>.+?):\s+(?P<series>.+?),\s*{_HINT_LABEL}{_HINT_POS}\s*$",
    re.IGNORECASE,
)
# "Series 3 - Title", "Series, Book 3 - Title", "Series #3: Title"
_HINT_PREFIX = re.compile(
    rf"^(?P<series>.*?[^\W\d_].*?)\s*,?\s+(?:{_HINT_LABEL}|\#)?{_HINT_POS}\s*(?:[-\u2013\u2014:]\s+)(?P<title>.+)$",
    re.IGNORECASE,
)


def split_series_title_hint(title: str) -> tuple[str, str, str] | None:
    """Split a title that carries its series, returning ``(series, position, title)`` or ``None``.

    Recognised shapes: "Title (Series, Book 3)", "Title [Series #3]", "Title: Series, Book 3" and
    "Series 3 - Title" / "Series, Book 3 - Title" / "Series #3: Title". The position is returned as
    text with leading zeros dropped ("01" → "1"), ranges kept ("1-3").

    This is a *hint*: the bare-number prefix form cannot tell "Discworld 01 - The Colour of Magic"
    from "Catch 22 - A Novel", so callers should only use it to fill a missing series, never to
    override one ABS already has. The parenthesised form requires a label, "#" or a comma before the
    number for the same reason ("Blade Runner (2049)" is not a series).
    """
    for pattern in (_HINT_PAREN, _HINT_COLON, _HINT_PREFIX):
        match = pattern.match(title.strip())
        if match is None:
            continue
        series = match.group("series").strip(" ,")
        rest = match.group("title").strip()
        # "Vol 1 - Title" / "Book 1 - Title": the "series" is only a label, so there is no series.
        if series and rest and series.casefold().rstrip(".") not in _LABEL_WORDS:
            return series, _clean_position(match.group("pos")), rest
    return None
