"""Series positions: one parser, one canonical spelling, one ordering, for every source.

Positions arrive as free text and numbers: ABS sequences ("1", "01", "2.50", "1 – 3", "Book 3"),
Audible sequences ("Book 1", "2, Dramatized Adaptation"), Hardcover floats (1.0) with omnibus
ranges in a text field, Open Library "#3" suffixes, MAM ``series_info`` ("2.5", "0", "1-3", "").
Two parsers with different rules used to disagree ("1.50" vs "1.5"), and a disagreement shows up
as a false gap. :class:`SeriesPosition` is the one value they all become.

The canonical spelling is a decimal without leading or trailing zeros ("01" → "1", "2.50" → "2.5",
"3.0" → "3"), ranges joined by "-" ("1 – 3" → "1-3"), labels and "of N" dropped ("Book 3 of 7" →
"3"). A letter suffix ("3a") orders as its number and is not part of the canonical form (gap
detection compares numbers). The canonical string is the comparison key; text a person or ABS
wrote is kept as they wrote it wherever it is displayed or written back (the library stores ABS's
own sequence, so a write-back compares like with like).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = ["SeriesPosition", "canonical_position"]

_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_WORD_NUMBERS = {
    w: n
    for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}
_NUM = r"(?:\d+(?:\.\d+)?|\.\d+|" + "|".join(_WORD_NUMBERS) + r")"
_LABEL = r"(?:(?:book|bk|volume|vol|part|pt|no|number|episode|ep)\.?\s*)"
#: The whole text is a position: an optional label or "#", a number or range, a letter, "of N".
_WHOLE = re.compile(
    rf"""^\s*{_LABEL}?\#?\s*
        (?P<start>{_NUM})
        (?:\s*(?:-|to|&)\s*(?P<end>{_NUM}))?
        (?P<suffix>[a-z])?
        (?:\s+of\s+\d+)?
        \s*$""",
    re.IGNORECASE | re.VERBOSE,
)
#: A position inside other text ("2, Dramatized Adaptation"): the first number or digit range.
_FIRST = re.compile(r"(\d+(?:\.\d+)?)(?:\s*-\s*(\d+(?:\.\d+)?))?")


def _number(text: str) -> Decimal:
    word = _WORD_NUMBERS.get(text.lower())
    return Decimal(word) if word is not None else Decimal(text)


def _spell(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


@dataclass(frozen=True, slots=True)
class SeriesPosition:
    """A place in a series: one number, or a range for an omnibus (``end`` set)."""

    start: Decimal
    end: Decimal | None = None

    @classmethod
    def parse(cls, raw: object) -> SeriesPosition | None:
        """The position the whole of ``raw`` states, or None ("", "garbage", "III", "1.2.3", "Book").

        Unknown text is reported as unknown rather than guessed: a wrong number would put a book in
        a gap it does not fill. Numbers (Hardcover's floats) are taken as they are.
        """
        if raw is None or isinstance(raw, bool):
            return None
        if isinstance(raw, int | float):
            if raw != raw or raw in (float("inf"), float("-inf")) or raw < 0:
                return None
            return cls(Decimal(repr(float(raw))))
        if not isinstance(raw, str):
            return None
        match = _WHOLE.match(raw.translate(_DASHES))
        if match is None:
            return None
        end = match.group("end")
        return cls(_number(match.group("start")), _number(end) if end is not None else None)

    @classmethod
    def find(cls, raw: object) -> SeriesPosition | None:
        """Like :meth:`parse`, else the first number or range inside the text.

        For fields that are known to hold a position but carry words around it (Audible's
        "2, Dramatized Adaptation" is book 2); not for titles, where a number is often no position.
        """
        parsed = cls.parse(raw)
        if parsed is not None or not isinstance(raw, str):
            return parsed
        match = _FIRST.search(raw.translate(_DASHES))
        if match is None:
            return None
        try:
            start, end = Decimal(match.group(1)), match.group(2)
            return cls(start, Decimal(end) if end is not None else None)
        except InvalidOperation:  # pragma: no cover - the pattern only matches decimals
            return None

    @property
    def canonical(self) -> str:
        """The comparison key: "1", "2.5", "0", "1-3"."""
        first = _spell(self.start)
        return first if self.end is None else f"{first}-{_spell(self.end)}"

    @property
    def sort_key(self) -> float:
        """Where the position orders: a range sorts where it starts."""
        return float(self.start)

    @property
    def is_range(self) -> bool:
        return self.end is not None

    @property
    def is_fractional(self) -> bool:
        """An in-between position ("2.5", a novella); "2.0" and ranges are not."""
        return self.end is None and self.start != self.start.to_integral_value()

    def covers(self, max_span: int = 100) -> set[str]:
        """Canonical positions this one fills: "1-3" fills "1", "2" and "3"; a fractional or very
        wide range fills only itself."""
        if self.end is None:
            return {self.canonical}
        whole = self.start == self.start.to_integral_value() and self.end == self.end.to_integral_value()
        if whole and 0 <= self.end - self.start <= max_span:
            return {str(n) for n in range(int(self.start), int(self.end) + 1)}
        return {self.canonical}

    def __str__(self) -> str:
        return self.canonical


def canonical_position(raw: object, details: object = None) -> str | None:
    """The canonical spelling of a provider's position field, or None when it holds none.

    ``details`` is Hardcover's free text beside its float ``position``: it carries omnibus ranges
    ("1-3") the float cannot, so a range there wins.
    """
    detail = SeriesPosition.parse(details)
    if detail is not None and detail.is_range:
        return detail.canonical
    found = SeriesPosition.find(raw)
    return found.canonical if found is not None else None
