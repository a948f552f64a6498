"""Small pure translations of provider values into the shapes of :mod:`.base`.

Kept in one place so every client reads "english", "eng" and "en" as the same language;
disagreement here would show up as false gaps. Positions ("Book 1", 1.0, "1") have their own module,
shared across the library and the providers: :mod:`shared.positions`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from shared.infra.errors import MalformedResponse

_LANGUAGES = {
    "en": "en",
    "eng": "en",
    "english": "en",
    "de": "de",
    "ger": "de",
    "deu": "de",
    "german": "de",
    "deutsch": "de",
    "fr": "fr",
    "fre": "fr",
    "fra": "fr",
    "french": "fr",
    "français": "fr",
    "es": "es",
    "spa": "es",
    "spanish": "es",
    "español": "es",
    "it": "it",
    "ita": "it",
    "italian": "it",
    "italiano": "it",
    "ja": "ja",
    "jpn": "ja",
    "japanese": "ja",
    "pt": "pt",
    "por": "pt",
    "portuguese": "pt",
    "nl": "nl",
    "dut": "nl",
    "nld": "nl",
    "dutch": "nl",
}

_MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}


def normalize_language(raw: object) -> str | None:
    """ISO 639-1 for the languages providers spell out; unknown values pass through lowercased."""
    if isinstance(raw, dict):  # Open Library {"key": "/languages/eng"}
        raw = raw.get("key")
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip().lower().rsplit("/", 1)[-1]
    return _LANGUAGES.get(text, text)


def iso_date(raw: object) -> str | None:
    """ISO date prefix from the providers' spellings ("2019-03-05T07:00:00Z", "March 5, 2019", "2019")."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip()
    m = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", text)
    if m:
        return "-".join(part for part in m.groups() if part)
    m = re.match(r"^([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})$", text)
    if m and m.group(1).lower() in _MONTHS:
        return f"{m.group(3)}-{_MONTHS[m.group(1).lower()]:02d}-{int(m.group(2)):02d}"
    m = re.search(r"\b(\d{4})\b", text)
    return m.group(1) if m else None


def year_of(raw: object) -> str | None:
    """Release year as text, for providers that only give an integer year."""
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 < raw < 10000:
        return f"{raw:04d}"
    return iso_date(raw)


def text_or_none(raw: object) -> str | None:
    """Stripped text, or None for missing/blank/non-string values (partial records are normal)."""
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    return None


def names(items: object, key: str = "name") -> tuple[str, ...]:
    """Names from ``[{"name": ...}]`` or ``["..."]`` lists, skipping what is not a usable name."""
    if not isinstance(items, list):
        return ()
    out: list[str] = []
    for item in items:
        value = item.get(key) if isinstance(item, dict) else item
        text = text_or_none(value)
        if text and text not in out:
            out.append(text)
    return tuple(out)


def minutes_to_seconds(raw: object) -> int | None:
    if isinstance(raw, int | float) and not isinstance(raw, bool) and raw > 0:
        return int(round(raw * 60))
    return None


def positive_int(raw: object) -> int | None:
    if isinstance(raw, int | float) and not isinstance(raw, bool) and raw > 0:
        return int(round(raw))
    return None


def abridged_from_format(raw: object) -> bool | None:
    """Audible/Audnexus ``format_type``: "unabridged" -> False, "abridged" -> True, else unknown."""
    if not isinstance(raw, str):
        return None
    text = raw.strip().lower()
    if text == "unabridged":
        return False
    if text == "abridged":
        return True
    return None


def require_str(record: dict[str, Any], field: str, *, provider: str, what: str) -> str:
    """A field the record is useless without; its absence means the body is broken, not partial."""
    value = text_or_none(record.get(field))
    if value is None:
        raise MalformedResponse(f"{provider}: {what} without required field {field!r}")
    return value


def require_dict(data: object, *, provider: str, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise MalformedResponse(f"{provider}: {what} is {type(data).__name__}, expected an object")
    return data


def require_list(data: object, *, provider: str, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise MalformedResponse(f"{provider}: {what} is {type(data).__name__}, expected a list")
    return data


def isbn13_first(values: Iterable[object]) -> str | None:
    """The first ISBN-13 among identifiers, else the first ISBN-10 (digits and X only)."""
    cleaned = [re.sub(r"[^0-9Xx]", "", v) for v in values if isinstance(v, str)]
    for v in cleaned:
        if len(v) == 13:
            return v
    for v in cleaned:
        if len(v) == 10:
            return v.upper()
    return None


def parse_http_date_delta(value: str, now: float) -> float | None:
    """Seconds from ``now`` until an HTTP-date (Retry-After's second form)."""
    from email.utils import parsedate_to_datetime

    try:
        when: datetime = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)
