"""Compact records the Audiobookshelf simulator keeps per library, item, author, series and user.

Items are slotted dataclasses holding only what cannot be derived: a 100,000-item library must fit
in a test process, so the media id, folder id, per-file inodes, file names, chapter list and sizes
are computed at render time from the item's own fields instead of being stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

MediaType = Literal["book", "podcast"]
UserType = Literal["root", "admin", "user", "guest"]
TokenKind = Literal["api", "access", "legacy", "refresh"]

SERVER_VERSION = "2.36.0"

# (codec, container format as ffprobe's format_long_name, file extension, mime type)
CODECS: dict[str, tuple[str, str, str]] = {
    "aac": ("QuickTime / MOV", ".m4b", "audio/mp4"),
    "mp3": ("MP2/3 (MPEG audio layer 2/3)", ".mp3", "audio/mpeg"),
    "opus": ("Ogg", ".opus", "audio/ogg"),
    "flac": ("raw FLAC", ".flac", "audio/flac"),
}


def default_library_settings() -> dict[str, Any]:
    """ABS defaults (``server/models/Library.js:56-86``)."""
    return {
        "coverAspectRatio": 1,
        "disableWatcher": False,
        "autoScanCronExpression": None,
        "skipMatchingMediaWithAsin": False,
        "skipMatchingMediaWithIsbn": False,
        "audiobooksOnly": False,
        "epubsAllowScriptedContent": False,
        "hideSingleBookSeries": False,
        "onlyShowLaterBooksInContinueSeries": False,
        "metadataPrecedence": ["folderStructure", "audioMetatags", "nfoFile", "txtFiles", "opfFile", "absMetadata"],
        "markAsFinishedPercentComplete": None,
        "markAsFinishedTimeRemaining": 10,
    }


@dataclass(slots=True)
class SimLibrary:
    id: str
    name: str
    media_type: MediaType
    folder_id: str
    folder_path: str
    display_order: int
    created_at: int
    last_scan: int | None = None
    provider: str = "audible"
    settings: dict[str, Any] = field(default_factory=default_library_settings)
    disk_path: str | None = None  # a real folder scanned as ``folder_path`` (tests/sims/abs_disk.py)


@dataclass(slots=True)
class SimAuthor:
    """ABS keeps one author row per library per case-insensitive spelling."""

    id: str
    library_id: str
    name: str
    added_at: int


@dataclass(slots=True)
class SimSeries:
    id: str
    library_id: str
    name: str
    added_at: int


@dataclass(frozen=True, slots=True)
class SimFile:
    """A real file of an item scanned from disk (``abs_disk``): what ABS's ``LibraryFile`` and, for
    audio, its ffprobe of the file record."""

    rel_path: str  # inside the item folder, "/"-separated
    ino: str
    size: int
    mtime_ms: int
    file_type: str  # audio | ebook | image | text | metadata | unknown
    duration: float = 0.0
    codec: str | None = None
    bitrate: int | None = None
    channels: int | None = None
    format: str | None = None
    mime_type: str | None = None
    tags: tuple[tuple[str, str], ...] = ()  # ABS's metaTags: ("tagArtist", "..."), ...


@dataclass(slots=True)
class SimItem:
    """One library item. ``author_ids``/``series`` reference the state's author/series tables."""

    id: str
    library_id: str
    ino: str
    rel_path: str
    media_type: MediaType
    added_at: int
    updated_at: int
    mtime_ms: int
    title: str | None
    is_file: bool = False
    is_missing: bool = False
    is_invalid: bool = False
    birthtime_ms: int = 0
    subtitle: str | None = None
    author_ids: tuple[str, ...] = ()
    series: tuple[tuple[str, str | None], ...] = ()  # (series id, sequence)
    narrators: tuple[str, ...] = ()
    genres: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    published_year: str | None = None
    published_date: str | None = None
    publisher: str | None = None
    description: str | None = None
    isbn: str | None = None
    asin: str | None = None
    language: str | None = None
    explicit: bool = False
    abridged: bool = False
    duration: float = 0.0
    codec: str = "aac"
    bitrate: int = 64000
    channels: int = 2
    n_files: int = 1
    has_cover: bool = True
    podcast_author: str | None = None  # podcasts only: ABS keeps a plain author string for them
    rowid: int = 0  # insertion order: what SQLite returns rows in when nothing else decides
    files: tuple[SimFile, ...] = ()  # an item scanned from disk: its real files (else derived at render)

    @property
    def audio(self) -> tuple[SimFile, ...]:
        return tuple(f for f in self.files if f.file_type == "audio")

    @property
    def size(self) -> int:
        """Bytes on disk: the real files' sizes, else derived from bitrate and duration."""
        if self.files:
            return sum(f.size for f in self.files)
        return int(self.duration * self.bitrate / 8)


@dataclass(slots=True)
class SimUser:
    id: str
    username: str
    type: UserType = "root"
    is_active: bool = True
    can_update: bool | None = None  # None: ABS default for the user type
    can_delete: bool | None = None
    access_explicit: bool | None = None
    library_ids: tuple[str, ...] | None = None  # None: every library

    @property
    def is_admin(self) -> bool:
        return self.type in ("root", "admin")

    @property
    def may_update(self) -> bool:
        return self.is_admin if self.can_update is None else self.can_update

    @property
    def may_see_explicit(self) -> bool:
        return self.is_admin if self.access_explicit is None else self.access_explicit

    def may_access_library(self, library_id: str) -> bool:
        return self.library_ids is None or library_id in self.library_ids


@dataclass(slots=True)
class SimToken:
    """A bearer token. Only its existence, kind, activity and expiry matter to ``/api`` auth."""

    user_id: str
    kind: TokenKind = "api"
    is_active: bool = True
    expires_at_ms: int | None = None


@dataclass(slots=True)
class SimTask:
    """A running library scan, shown by ``GET /api/tasks`` until it finishes."""

    id: str
    library_id: str
    started_at: int
    polls_left: int
    force: bool = False
