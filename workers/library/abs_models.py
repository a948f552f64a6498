"""Typed records parsed from Audiobookshelf (ABS) JSON, and the parsers that build them.

Parsers raise :class:`shared.infra.errors.MalformedResponse` the moment a field we rely on is missing or
has the wrong type: ABS answering 200 with a body we cannot trust should fail the job loudly (and be
retried), never turn into half-filled records that a sync then writes to the database.

People and series come **only** from the expanded ``authors[]``/``series[]``/``narrators[]`` arrays.
The minified display strings (``authorName`` "Martin Smith, Jr., Jane Doe") are joined with ", " and
cannot be split back when a name contains a comma, so :func:`parse_item` refuses items without the
arrays instead of guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from shared.infra.errors import MalformedResponse, PermanentError


class AuthorRef(NamedTuple):
    id: str
    name: str


class SeriesRef(NamedTuple):
    id: str
    name: str
    sequence: str | None  # ABS stores text: "1", "2.5", "0", "1-3"


class AudioFileInfo(NamedTuple):
    track: int  # ABS ``index``: 1-based play order
    ino: str
    filename: str | None
    codec: str | None
    bitrate: int | None  # bit/s
    duration: float | None  # seconds
    channels: int | None
    format: str | None  # ffprobe format_long_name, e.g. "QuickTime / MOV"
    size: int | None
    mime_type: str | None


@dataclass(frozen=True, slots=True)
class AbsLibrary:
    id: str
    name: str
    media_type: str  # "book" | "podcast"
    display_order: int
    folders: tuple[str, ...]
    last_scan: int | None

    @property
    def is_book(self) -> bool:
        return self.media_type == "book"

    @property
    def is_podcast(self) -> bool:
        return self.media_type == "podcast"


@dataclass(frozen=True, slots=True)
class AbsListEntry:
    """One row of ``GET /api/libraries/:id/items`` (always the minified shape)."""

    id: str
    library_id: str
    ino: str
    path: str
    rel_path: str
    media_type: str
    added_at: int
    updated_at: int
    is_missing: bool
    is_invalid: bool
    is_file: bool
    title: str | None
    size: int | None
    duration_seconds: float | None


@dataclass(frozen=True, slots=True)
class AbsItem:
    """An expanded library item: everything the sync stores about one ABS item."""

    id: str
    library_id: str
    ino: str
    path: str
    rel_path: str
    media_type: str
    added_at: int
    updated_at: int  # ms; changes whenever ABS saves the item
    is_missing: bool
    is_invalid: bool
    is_file: bool
    title: str | None
    subtitle: str | None
    authors: tuple[AuthorRef, ...]
    series: tuple[SeriesRef, ...]
    narrators: tuple[str, ...]
    genres: tuple[str, ...]
    tags: tuple[str, ...]
    published_year: str | None
    published_date: str | None
    publisher: str | None
    description: str | None
    abridged: bool
    explicit: bool
    duration_seconds: float | None
    asin: str | None
    isbn: str | None
    language: str | None
    size: int | None
    audio_files: tuple[AudioFileInfo, ...]


@dataclass(frozen=True, slots=True)
class AbsTask:
    id: str
    action: str
    library_id: str | None
    is_finished: bool
    title: str | None


# ---------------------------------------------------------------------------- field readers
def _bad(what: str, context: str) -> MalformedResponse:
    return MalformedResponse(f"ABS {context}: {what}")


def as_dict(value: Any, context: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"expected an object, got {type(value).__name__}", context)
    return value


def as_list(value: Any, context: str) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(f"expected an array, got {type(value).__name__}", context)
    return value


def req_str(d: Mapping[str, Any], key: str, context: str) -> str:
    value = d.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # inodes are strings since ABS 2.x, numbers in older payloads
    if not isinstance(value, str) or not value:
        raise _bad(f"field {key!r} missing or not a string", context)
    return value


def opt_str(d: Mapping[str, Any], key: str) -> str | None:
    value = d.get(key)
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def req_int(d: Mapping[str, Any], key: str, context: str) -> int:
    value = d.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"field {key!r} missing or not a number", context)
    return int(value)


def opt_int(d: Mapping[str, Any], key: str) -> int | None:
    value = d.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def opt_float(d: Mapping[str, Any], key: str) -> float | None:
    value = d.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def str_tuple(d: Mapping[str, Any], key: str, context: str) -> tuple[str, ...]:
    value = d.get(key)
    if value is None:
        return ()
    items = as_list(value, f"{context} {key}")
    if not all(isinstance(v, str) for v in items):
        raise _bad(f"field {key!r} holds non-strings", context)
    return tuple(items)


# ---------------------------------------------------------------------------- parsers
def parse_library(raw: Any) -> AbsLibrary:
    d = as_dict(raw, "library")
    context = f"library {d.get('id')!r}"
    folders = tuple(req_str(as_dict(f, context), "fullPath", context) for f in as_list(d.get("folders", []), context))
    return AbsLibrary(
        id=req_str(d, "id", context),
        name=req_str(d, "name", context),
        media_type=req_str(d, "mediaType", context),
        display_order=opt_int(d, "displayOrder") or 0,
        folders=folders,
        last_scan=opt_int(d, "lastScan"),
    )


def parse_list_entry(raw: Any) -> AbsListEntry:
    d = as_dict(raw, "list item")
    context = f"list item {d.get('id')!r}"
    media = as_dict(d.get("media"), context)
    metadata = as_dict(media.get("metadata"), context)
    return AbsListEntry(
        id=req_str(d, "id", context),
        library_id=req_str(d, "libraryId", context),
        ino=req_str(d, "ino", context),
        path=req_str(d, "path", context),
        rel_path=opt_str(d, "relPath") or "",
        media_type=req_str(d, "mediaType", context),
        added_at=req_int(d, "addedAt", context),
        updated_at=req_int(d, "updatedAt", context),
        is_missing=bool(d.get("isMissing")),
        is_invalid=bool(d.get("isInvalid")),
        is_file=bool(d.get("isFile")),
        title=opt_str(metadata, "title"),
        size=opt_int(d, "size"),
        duration_seconds=opt_float(media, "duration"),
    )


def _audio_file(raw: Any, context: str) -> AudioFileInfo:
    d = as_dict(raw, context)
    raw_meta = d.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    return AudioFileInfo(
        track=opt_int(d, "index") or 0,
        ino=req_str(d, "ino", context),
        filename=opt_str(meta, "filename"),
        codec=opt_str(d, "codec"),
        bitrate=opt_int(d, "bitRate"),
        duration=opt_float(d, "duration"),
        channels=opt_int(d, "channels"),
        format=opt_str(d, "format"),
        size=opt_int(meta, "size"),
        mime_type=opt_str(d, "mimeType"),
    )


def _authors(metadata: Mapping[str, Any], context: str) -> tuple[AuthorRef, ...]:
    if "authors" not in metadata:
        raise _bad("no authors[] array (minified item where an expanded one was needed?)", context)
    out = []
    for raw in as_list(metadata["authors"], f"{context} authors"):
        a = as_dict(raw, f"{context} author")
        out.append(AuthorRef(req_str(a, "id", context), req_str(a, "name", context)))
    return tuple(out)


def _series(metadata: Mapping[str, Any], context: str) -> tuple[SeriesRef, ...]:
    if "series" not in metadata:
        raise _bad("no series[] array (minified item where an expanded one was needed?)", context)
    out = []
    for raw in as_list(metadata["series"], f"{context} series"):
        s = as_dict(raw, f"{context} series")
        out.append(SeriesRef(req_str(s, "id", context), req_str(s, "name", context), opt_str(s, "sequence")))
    return tuple(out)


def parse_item(raw: Any) -> AbsItem:
    """Parse an expanded (or "old"-shape) item; books must carry the authors/series arrays."""
    d = as_dict(raw, "item")
    context = f"item {d.get('id')!r}"
    media_type = req_str(d, "mediaType", context)
    media = as_dict(d.get("media"), context)
    metadata = as_dict(media.get("metadata"), context)
    is_book = media_type == "book"
    if is_book:
        files = tuple(_audio_file(f, f"{context} audio file") for f in as_list(media.get("audioFiles", []), context))
    else:  # podcasts keep one audio file per episode
        episodes = as_list(media.get("episodes", []), context)
        files = tuple(
            _audio_file(as_dict(e, context).get("audioFile"), f"{context} episode")
            for e in episodes
            if isinstance(e, dict) and e.get("audioFile") is not None
        )
    duration = opt_float(media, "duration")
    if duration is None and files and all(f.duration is not None for f in files):
        duration = sum(f.duration or 0.0 for f in files)  # "old" shape has no media.duration
    return AbsItem(
        id=req_str(d, "id", context),
        library_id=req_str(d, "libraryId", context),
        ino=req_str(d, "ino", context),
        path=req_str(d, "path", context),
        rel_path=opt_str(d, "relPath") or "",
        media_type=media_type,
        added_at=req_int(d, "addedAt", context),
        updated_at=req_int(d, "updatedAt", context),
        is_missing=bool(d.get("isMissing")),
        is_invalid=bool(d.get("isInvalid")),
        is_file=bool(d.get("isFile")),
        title=opt_str(metadata, "title"),
        subtitle=opt_str(metadata, "subtitle"),
        authors=_authors(metadata, context) if is_book else (),
        series=_series(metadata, context) if is_book else (),
        narrators=str_tuple(metadata, "narrators", context),
        genres=str_tuple(metadata, "genres", context),
        tags=str_tuple(media, "tags", context),
        published_year=opt_str(metadata, "publishedYear"),
        published_date=opt_str(metadata, "publishedDate"),
        publisher=opt_str(metadata, "publisher"),
        description=opt_str(metadata, "description"),
        abridged=bool(metadata.get("abridged")),
        explicit=bool(metadata.get("explicit")),
        duration_seconds=duration,
        asin=opt_str(metadata, "asin"),
        isbn=opt_str(metadata, "isbn"),
        language=opt_str(metadata, "language"),
        size=opt_int(d, "size") if "size" in d else opt_int(media, "size"),
        audio_files=files,
    )


def parse_task(raw: Any) -> AbsTask:
    d = as_dict(raw, "task")
    context = f"task {d.get('id')!r}"
    raw_data = d.get("data")
    data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
    return AbsTask(
        id=req_str(d, "id", context),
        action=opt_str(d, "action") or "",
        library_id=opt_str(data, "libraryId"),
        is_finished=bool(d.get("isFinished")),
        title=opt_str(d, "title"),
    )


# ---------------------------------------------------------------------------- PATCH media schema
# ABS metadata key → AbsItem attribute (our field name); callers may use either spelling
_STRING_ATTRS = dict(
    pair.split("=")
    for pair in "title=title subtitle=subtitle publishedYear=published_year publishedDate=published_date "
    "publisher=publisher description=description isbn=isbn asin=asin language=language".split()
)
_STRING_KEYS = {k: k for k in _STRING_ATTRS} | {v: k for k, v in _STRING_ATTRS.items()}
_FLAG_KEYS = ("explicit", "abridged")
_LIST_KEYS = ("narrators", "genres", "tags")
PATCHABLE_FIELDS = frozenset(_STRING_KEYS) | frozenset(_FLAG_KEYS) | frozenset(_LIST_KEYS) | {"authors", "series"}


def _number_text(value: int | float) -> str:
    """What JavaScript's String() would print: 1 → "1", 1.0 → "1", 2.5 → "2.5"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _reject(field: str, why: str) -> PermanentError:
    return PermanentError(f"cannot write {field!r} to ABS: {why}")


def _text(field: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value or None  # ABS stores "" as null anyway
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number_text(value)
    raise _reject(field, f"expected text, got {type(value).__name__}")


def _names(field: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise _reject(field, "expected a list of strings")
    if not all(isinstance(v, str) for v in value):
        raise _reject(field, "every element must be a string (ABS ignores the whole list otherwise)")
    return tuple(value)


def _author_name(value: Any) -> str:
    if isinstance(value, AuthorRef):
        value = value.name
    elif isinstance(value, Mapping):
        value = value.get("name")
    if not isinstance(value, str) or not value.strip():
        raise _reject("authors", f"every author needs a non-empty name, got {value!r}")
    return value.strip()


def _series_entry(value: Any) -> tuple[str, str | None]:
    name: Any
    sequence: Any
    if isinstance(value, str):
        name, sequence = value, None
    elif isinstance(value, SeriesRef):
        name, sequence = value.name, value.sequence
    elif isinstance(value, Mapping):
        name, sequence = value.get("name"), value.get("sequence")
    elif isinstance(value, tuple | list) and len(value) == 2:
        name, sequence = value[0], value[1]
    else:
        raise _reject("series", f"expected (name, sequence), got {value!r}")
    if not isinstance(name, str) or not name.strip():
        raise _reject("series", f"every series needs a non-empty name (ABS skips the whole list), got {name!r}")
    return name.strip(), _text("series sequence", sequence)


@dataclass(frozen=True, slots=True)
class MediaPatch:
    """A validated ``PATCH /api/items/:id/media`` body, built so ABS cannot misread it.

    The shapes ABS silently mangles are converted (numbers → text, sequences → text, authors →
    ``[{name}]``, ``tags`` at the top level) or refused up front (non-bool flags: ``"false"`` is
    true in JavaScript; lists with non-strings; unknown keys such as ``seriesName``, which ABS
    ignores).
    """

    strings: dict[str, str | None]
    flags: dict[str, bool]
    lists: dict[str, tuple[str, ...]]
    authors: tuple[str, ...] | None
    series: tuple[tuple[str, str | None], ...] | None

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> MediaPatch:
        unknown = sorted(set(fields) - PATCHABLE_FIELDS)
        if unknown:
            raise PermanentError(
                f"cannot write {unknown} to ABS: not media fields ABS stores (allowed: {sorted(PATCHABLE_FIELDS)})"
            )
        strings = {_STRING_KEYS[k]: _text(k, v) for k, v in fields.items() if k in _STRING_KEYS}
        flags = {}
        for key in _FLAG_KEYS:
            if key in fields:
                if not isinstance(fields[key], bool):
                    raise _reject(key, f"expected true/false, got {fields[key]!r}")
                flags[key] = fields[key]
        lists = {k: _names(k, fields[k]) for k in _LIST_KEYS if k in fields}
        authors = None
        if "authors" in fields:
            if isinstance(fields["authors"], str) or not isinstance(fields["authors"], list | tuple):
                raise _reject("authors", "expected a list of names")
            seen: dict[str, str] = {}
            for raw in fields["authors"]:
                name = _author_name(raw)
                seen.setdefault(name.lower(), name)
            authors = tuple(seen.values())
        series = None
        if "series" in fields:
            if isinstance(fields["series"], str) or not isinstance(fields["series"], list | tuple):
                raise _reject("series", "expected a list of (name, sequence)")
            series = tuple(_series_entry(raw) for raw in fields["series"])
        return cls(strings, flags, lists, authors, series)

    def payload(self) -> dict[str, Any]:
        metadata: dict[str, Any] = dict(self.strings) | dict(self.flags)
        for key in ("narrators", "genres"):
            if key in self.lists:
                metadata[key] = list(self.lists[key])
        if self.authors is not None:
            metadata["authors"] = [{"name": n} for n in self.authors]
        if self.series is not None:
            metadata["series"] = [{"name": n, "sequence": q} for n, q in self.series]
        body: dict[str, Any] = {"metadata": metadata}
        if "tags" in self.lists:
            body["tags"] = list(self.lists["tags"])  # top level: metadata.tags is ignored by ABS
        return body

    def unapplied(self, item: AbsItem) -> list[str]:
        """What the stored item does not reflect, one readable line per field.

        Authors and series are compared case-insensitively because that is ABS's own identity rule
        (it links to an existing same-named row and cannot re-case it). ``description`` is only
        checked for being wiped: ABS HTML-sanitises it, so a changed text is expected.
        """
        problems = []
        for key, sent in self.strings.items():
            stored = getattr(item, _STRING_ATTRS[key])
            if key == "description":
                if sent is not None and stored is None:
                    problems.append(f"description: sent {len(sent)} characters, stored null")
            elif stored != sent:
                problems.append(f"{key}: sent {sent!r}, stored {stored!r}")
        for key, flag in self.flags.items():
            if getattr(item, key) != flag:
                problems.append(f"{key}: sent {flag}, stored {getattr(item, key)}")
        for key, values in self.lists.items():
            if getattr(item, key) != values:
                problems.append(f"{key}: sent {list(values)}, stored {list(getattr(item, key))}")
        if self.authors is not None:
            stored_names = sorted(a.name.lower() for a in item.authors)
            if stored_names != sorted(n.lower() for n in self.authors):
                problems.append(f"authors: sent {list(self.authors)}, stored {[a.name for a in item.authors]}")
        if self.series is not None:
            stored_series = {s.name.lower(): s.sequence for s in item.series}
            if stored_series != {n.lower(): q for n, q in self.series}:
                problems.append(
                    f"series: sent {[list(s) for s in self.series]}, "
                    f"stored {[[s.name, s.sequence] for s in item.series]}"
                )
        return problems
