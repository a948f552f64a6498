"""Total parsers for MAM's search rows: every quirk of the reference gets one small function.

MAM's JSON drifts between numbers and strings, flags between 0/1, "0"/"1" and booleans, sizes between
"287.4 MiB" and "6324306932", and carries JSON *inside strings* (``author_info``…) that can be
malformed. Each parser here returns a typed value or ``None``, never raises, and says what it skipped
through a :class:`Notes` list, so a row with one bad field is still a candidate and the reason it
lacks an author is visible (``MamTorrent.warnings``). Warnings name the field and the fault, never the
raw value beyond a short prefix, and never the personal ``dl`` hash (it is not read at all).

Choices made where the reference leaves room:

- **Bitrate ranges** ("64–128 Kbps") give the *lower* bound: the quality profile's threshold is a
  minimum (64 kbps acceptable), and a range means some files are at the low end, so the worst file
  decides. Trust order: ``mediainfo`` (measured), then ``tags`` (uploader-typed), then the title.
- **Sizes** with decimal-looking units ("1.2 GB") are read as binary like "GiB": MAM computes sizes
  in powers of 1024 whatever label it prints, and a 7 % error is harmless for plausibility checks.
- **``added``** without a zone is UTC (the reference says so); unix times are accepted too.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from shared.crawl.torrent import TorrentSeries
from shared.positions import SeriesPosition

log = logging.getLogger(__name__)

_TRUE = frozenset({"1", "true", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "no", "n", "off", ""})
_SIZE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*([kmgtp]?i?b|bytes?)?\s*$", re.IGNORECASE)
_UNITS = {"": 0, "b": 0, "byte": 0, "bytes": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}
#: "64kbps", "128 kbps", "64–128 Kbps", "64-128kbps", "96 kb/s", "~64 Kbps"
_BITRATE = re.compile(
    r"(\d{2,4})(?:\s*(?:kbps|kb/s|k)?\s*[-\u2010-\u2015~to]+\s*(\d{2,4}))?\s*(?:kbps|kb/s|kbit/s|kbits?)\b",
    re.IGNORECASE,
)
_FILETYPE_SPLIT = re.compile(r"[\s,;/|]+")
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
#: Plausible audio bitrates; a "2019" in a title next to "kbps" text is not one.
_MIN_KBPS, _MAX_KBPS = 8, 1536


class Notes:
    """What the parsers of one row skipped, in order; becomes ``MamTorrent.warnings``."""

    def __init__(self, context: str = "") -> None:
        self.context = context
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)
        log.warning("MAM %s: %s", self.context or "row", message)


def _snippet(value: object, limit: int = 40) -> str:
    text = value if isinstance(value, str) else repr(value)
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


# -- scalars ------------------------------------------------------------------------------------


def parse_int(value: object, notes: Notes | None = None, field: str = "") -> int | None:
    """An int from 7, 7.0, "7", " 7 ", "1,234", "7.0"; None (noted) for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if re.fullmatch(r"[+-]?\d+\.0*", text):
            return int(float(text))
    if notes is not None:
        notes.add(f"{field}: not an integer {_snippet(value)}; ignored")
    return None


def parse_float(value: object, notes: Notes | None = None, field: str = "") -> float | None:
    """A float from numbers or numeric strings ("1.23", "1,234.5"); "Inf"/"NaN" and junk give None."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", value.strip().replace(",", "")):
        number = float(value.strip().replace(",", ""))
    else:
        if notes is not None:
            notes.add(f"{field}: not a number {_snippet(value)}; ignored")
        return None
    return number if number == number and abs(number) != float("inf") else None


def parse_flag(value: object, notes: Notes | None = None, field: str = "") -> bool | None:
    """A flag from True/False, 0/1, "0"/"1", "true"/"false", "yes"/"no"; None when absent or unreadable."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    if notes is not None:
        notes.add(f"{field}: not a flag {_snippet(value)}; read as unknown")
    return None


def parse_text(value: object) -> str:
    """Display text with HTML entities unescaped ("Tom &amp; Jerry" → "Tom & Jerry"); "" for None."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return html.unescape(text).strip()


def parse_size(value: object, notes: Notes | None = None, field: str = "size") -> int | None:
    """Bytes from 6324306932, "6324306932", "287.4 MiB", "1.2 GiB", "1,2 GB", "512 KB", "900 B"."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if value >= 0 else None
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match is not None:
            number = float(match.group(1).replace(",", "."))
            unit = (match.group(2) or "").lower()
            power = _UNITS.get(unit if unit.startswith("byte") else unit[:1] if unit != "b" else "b")
            if power is not None:
                return int(round(number * 1024**power))
    if notes is not None:
        notes.add(f"{field}: unreadable size {_snippet(value)}; ignored")
    return None


def parse_added(value: object, notes: Notes | None = None, field: str = "added") -> datetime | None:
    """UTC datetime from "yyyy-MM-dd HH:mm:ss" (MAM's UTC), ISO text, or unix seconds."""
    if value is None or value == "":
        return None
    seconds = parse_float(value) if not isinstance(value, str) or value.strip().isdigit() else None
    if seconds is not None:
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        text = value.strip()
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(text, fmt).replace(tzinfo=UTC)
            except ValueError:
                continue
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if notes is not None:
        notes.add(f"{field}: unreadable date {_snippet(value)}; ignored")
    return None


# -- JSON inside strings ------------------------------------------------------------------------


def parse_json_field(value: object, notes: Notes, field: str) -> Any:
    """The JSON a string field carries (``author_info``…), or the value itself when MAM already sent
    an object; None (noted, field skipped, row kept) when the string is malformed."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        notes.add(f"{field}: malformed JSON ({str(exc).split(':')[0]}); field skipped")
        return None


def parse_names(value: object, notes: Notes, field: str) -> tuple[str, ...]:
    """Names from an id → name map (``{"2571": "Terry Pratchett"}``), in MAM's order, unescaped,
    de-duplicated; a list of names is accepted too."""
    data = parse_json_field(value, notes, field)
    if data is None:
        return ()
    if isinstance(data, Mapping):
        raw_names: list[object] = list(data.values())
    elif isinstance(data, list):
        raw_names = list(data)
    else:
        notes.add(f"{field}: expected an id → name map, got {type(data).__name__}; field skipped")
        return ()
    names: list[str] = []
    for raw in raw_names:
        name = parse_text(raw) if isinstance(raw, str | int) else ""
        if name and name not in names:
            names.append(name)
    return tuple(names)


def parse_positions(volume_text: str, notes: Notes | None = None, field: str = "series_info") -> tuple[
    SeriesPosition, ...
]:
    """Every position a volume text names: "2.5", "0", "1-3", "01-16, 13.5" (split on commas and
    semicolons); "" names none. Parts that are no position are skipped with a note."""
    positions: list[SeriesPosition] = []
    for part in re.split(r"[,;]", volume_text):
        if not part.strip():
            continue
        position = SeriesPosition.parse(part)
        if position is None:
            if notes is not None:
                notes.add(f"{field}: volume part {_snippet(part.strip())} is no position; skipped")
            continue
        if position not in positions:
            positions.append(position)
    return tuple(positions)


def parse_series(value: object, notes: Notes, field: str = "series_info") -> tuple[TorrentSeries, ...]:
    """``{"1209": ["Discworld", "1"], "77": ["Rincewind", "1-3"]}``: every series the torrent lists."""
    data = parse_json_field(value, notes, field)
    if data is None:
        return ()
    if not isinstance(data, Mapping):
        notes.add(f"{field}: expected an id → [name, volume] map, got {type(data).__name__}; field skipped")
        return ()
    series: list[TorrentSeries] = []
    for key, entry in data.items():
        name, volume = _series_entry(entry)
        if not name:
            notes.add(f"{field}: series {_snippet(str(key))} has no name; skipped")
            continue
        series.append(TorrentSeries(
            name=name, volume_text=volume, positions=parse_positions(volume, notes, field),
            mam_series_id=parse_int(key),
        ))
    return tuple(series)


def _series_entry(entry: object) -> tuple[str, str]:
    if isinstance(entry, list | tuple):
        name = parse_text(entry[0]) if entry else ""
        volume = parse_text(entry[1]) if len(entry) > 1 and entry[1] is not None else ""
        return name, volume
    if isinstance(entry, Mapping):
        return parse_text(entry.get("name")), parse_text(entry.get("position") or entry.get("volume"))
    return (parse_text(entry), "") if isinstance(entry, str) else ("", "")


def parse_filetypes(*values: object) -> tuple[str, ...]:
    """Lower-case file types from "m4b", "m4a mp3", "mp3,flac", lists; first appearance wins."""
    found: list[str] = []
    for value in values:
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if not isinstance(item, str):
                continue
            for part in _FILETYPE_SPLIT.split(parse_text(item).lower()):
                part = part.strip(".")
                if part and part not in found:
                    found.append(part)
    return tuple(found)


# -- bitrate and duration -----------------------------------------------------------------------


def bitrate_from_text(text: str) -> int | None:
    """Kbps named in free text: "64kbps" → 64, "128 kbps" → 128, "64–128 Kbps" → 64 (lower bound,
    see the module docstring); the lowest figure when several are named."""
    found: list[int] = []
    for match in _BITRATE.finditer(parse_text(text)):
        values = [int(g) for g in match.groups() if g]
        found.extend(v for v in values if _MIN_KBPS <= v <= _MAX_KBPS)
    return min(found) if found else None


def parse_mediainfo(value: object, notes: Notes) -> tuple[int | None, float | None]:
    """(kbps, seconds) from the undocumented ``mediainfo`` object: any key naming a bitrate or a
    duration, at any depth, read defensively ("64 kb/s", 64000, "11h 32m", "41520.5")."""
    data = parse_json_field(value, notes, "mediainfo")
    bitrates: list[int] = []
    durations: list[float] = []
    _walk_mediainfo(data, bitrates, durations, depth=0)
    return (min(bitrates) if bitrates else None), (max(durations) if durations else None)


def _walk_mediainfo(data: object, bitrates: list[int], durations: list[float], depth: int) -> None:
    if depth > 4 or not isinstance(data, Mapping | list):
        return
    items = data.items() if isinstance(data, Mapping) else enumerate(data)
    for key, value in items:
        name = str(key).lower().replace("_", "")
        if "bitrate" in name or name in {"bitratekbps", "kbps"}:
            kbps = _kbps(value)
            if kbps is not None:
                bitrates.append(kbps)
        elif "duration" in name or name in {"length", "runtime"}:
            seconds = _seconds(value)
            if seconds is not None:
                durations.append(seconds)
        else:
            _walk_mediainfo(value, bitrates, durations, depth + 1)


def _kbps(value: object) -> int | None:
    if isinstance(value, str):
        from_text = bitrate_from_text(value.replace("kb/s", "kbps"))
        if from_text is not None:
            return from_text
    number = parse_float(value)
    if number is None or number <= 0:
        return None
    kbps = int(round(number / 1000)) if number >= 8000 else int(round(number))  # bits/s or kbps
    return kbps if _MIN_KBPS <= kbps <= _MAX_KBPS else None


def _seconds(value: object) -> float | None:
    number = parse_float(value)
    if number is not None:
        return number if number > 0 else None
    if not isinstance(value, str):
        return None
    clock = re.fullmatch(r"\s*(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)\s*", value)
    if clock:
        return int(clock.group(1)) * 3600 + int(clock.group(2)) * 60 + float(clock.group(3))
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(h|mn|min|m|s)\b", value.lower())
    scale = {"h": 3600, "mn": 60, "min": 60, "m": 60, "s": 1}
    total = sum(float(n) * scale[u] for n, u in parts)
    return total or None
