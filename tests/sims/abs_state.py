"""The in-memory database behind the Audiobookshelf simulator, plus helpers tests use to mutate it.

Why a hand-written store rather than SQLite: the quirks we simulate (unordered pages, per-library
case-insensitive author rows, orphan series deletion, ``updatedAt`` bumps) are easier to make
explicit and deterministic in plain Python, and 100,000 items must build in seconds.

Every write goes through this class under ``lock`` (uvicorn serves from another thread while the
test thread mutates) and increments ``version``, which invalidates the list-order cache the way any
DB write clears ABS's API response cache.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields as dc_fields
from typing import Any

from tests.sims.abs_disk import ScanResult, codec_for, scan_library
from tests.sims.abs_faults import FaultPlan
from tests.sims.abs_records import (
    SERVER_VERSION,
    MediaType,
    SimAuthor,
    SimFile,
    SimItem,
    SimLibrary,
    SimSeries,
    SimTask,
    SimToken,
    SimUser,
    TokenKind,
    UserType,
)

_ITEM_FIELDS = frozenset(f.name for f in dc_fields(SimItem))
_READONLY_FIELDS = frozenset({"id", "library_id", "author_ids", "series", "media_type", "rowid"})


def _system_clock() -> int:
    return int(time.time() * 1000)


class AbsState:
    """Libraries, items, authors, series, users/API keys, request counters, faults and scan tasks.

    ``requests`` counts requests per route template (``"GET /api/libraries/{id}/items"``) and
    ``requests_by_path`` per concrete ``"METHOD /path"``; both include requests answered by faults.
    ``tie_order="shuffled"`` makes rows with equal sort keys come back in a different order on every
    request, as SQLite's top-N sorter can do with ``LIMIT/OFFSET`` — adversarial, off by default.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Callable[[], int] | None = None,
        scan_polls: int = 2,
        tie_order: str = "stable",
        server_version: str = SERVER_VERSION,
    ) -> None:
        self.seed = seed
        self.clock = clock or _system_clock
        self.scan_polls = scan_polls
        self.tie_order = tie_order
        self.server_version = server_version
        self.libraries: dict[str, SimLibrary] = {}
        self.items: dict[str, SimItem] = {}  # insertion order plays the part of SQLite's rowid
        self.library_items: dict[str, dict[str, None]] = {}
        self.authors: dict[str, SimAuthor] = {}
        self.series: dict[str, SimSeries] = {}
        self.users: dict[str, SimUser] = {}
        self.tokens: dict[str, SimToken] = {}
        self.tasks: list[SimTask] = []
        self.scan_results: list[ScanResult] = []  # one per finished scan of a library on disk
        self.requests: Counter[str] = Counter()
        self.requests_by_path: Counter[str] = Counter()
        self.faults = FaultPlan()
        self.lock = threading.RLock()
        self.version = 0
        self.request_seq = 0
        self._rng = random.Random(f"abs-ids-{seed}")
        self._author_by_name: dict[tuple[str, str], str] = {}
        self._series_by_name: dict[tuple[str, str], str] = {}
        self._author_refs: Counter[str] = Counter()
        self._series_refs: Counter[str] = Counter()
        self._pending_scan: dict[str, list[Callable[[AbsState], object]]] = {}
        self._pending_rescan: dict[str, list[Callable[[AbsState], object]]] = {}
        self._next_ino = 6442450944
        self._next_rowid = 1

    # ---------------------------------------------------------------- ids and clock
    def new_id(self) -> str:
        """A deterministic UUIDv4-shaped id (same seed, same ids)."""
        h = f"{self._rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def new_ino(self, span: int = 1) -> str:
        """Inodes are strings in ABS (bigints); reserve ``span`` consecutive ones for an item's files."""
        ino = self._next_ino
        self._next_ino += span + 1
        return str(ino)

    def now_ms(self) -> int:
        return self.clock()

    def count(self, route: str) -> int:
        """Requests seen for a route template, e.g. ``count("POST /api/items/batch/get")``."""
        with self.lock:
            return self.requests[route]

    # ---------------------------------------------------------------- users and tokens
    def add_user(
        self,
        username: str,
        *,
        type: UserType = "root",
        access_explicit: bool | None = None,
        can_update: bool | None = None,
        library_ids: Sequence[str] | None = None,
        is_active: bool = True,
    ) -> SimUser:
        user = SimUser(
            id=self.new_id(),
            username=username,
            type=type,
            is_active=is_active,
            can_update=can_update,
            access_explicit=access_explicit,
            library_ids=None if library_ids is None else tuple(library_ids),
        )
        with self.lock:
            self.users[user.id] = user
        return user

    def add_api_key(
        self,
        token: str,
        user: SimUser | None = None,
        *,
        kind: TokenKind = "api",
        is_active: bool = True,
        expires_at_ms: int | None = None,
    ) -> SimToken:
        """Register a bearer token; without ``user`` it belongs to a new root user."""
        owner = user or self.add_user(f"root-{len(self.users)}")
        record = SimToken(owner.id, kind=kind, is_active=is_active, expires_at_ms=expires_at_ms)
        with self.lock:
            self.tokens[token] = record
        return record

    def authenticate(self, token: str | None) -> SimUser | None:
        """The user a token acts as, or None (every failure looks the same to the caller: 401)."""
        if not token:
            return None
        with self.lock:
            record = self.tokens.get(token)
            if record is None or record.kind == "refresh" or not record.is_active:
                return None
            if record.expires_at_ms is not None and record.expires_at_ms <= self.now_ms():
                if record.kind == "api":
                    record.is_active = False  # ABS deactivates an expired key on its first use
                return None
            user = self.users.get(record.user_id)
            return user if user is not None and user.is_active else None

    # ---------------------------------------------------------------- libraries
    def add_library(
        self,
        name: str,
        media_type: MediaType = "book",
        *,
        folder_path: str | None = None,
        library_id: str | None = None,
        disk_path: str | None = None,
    ) -> SimLibrary:
        """A library; with ``disk_path`` its scans read that real folder, which ABS sees as
        ``folder_path`` (the two differ the way a container's mount and the host's path do)."""
        with self.lock:
            lib = SimLibrary(
                id=library_id or self.new_id(),
                name=name,
                media_type=media_type,
                folder_id=self.new_id(),
                folder_path=folder_path or f"/{name.lower().replace(' ', '-')}",
                display_order=len(self.libraries) + 1,
                created_at=self.now_ms(),
                last_scan=self.now_ms(),
                provider="audible" if media_type == "book" else "itunes",
                disk_path=disk_path,
            )
            self.libraries[lib.id] = lib
            self.library_items[lib.id] = {}
            self.version += 1
            return lib

    def items_in(self, library_id: str) -> list[SimItem]:
        with self.lock:
            return [self.items[i] for i in self.library_items.get(library_id, {})]

    # ---------------------------------------------------------------- authors and series
    def find_or_create_author(self, library_id: str, name: str) -> SimAuthor:
        """ABS ``Author.findOrCreateByNameAndLibrary``: case-insensitive, per library, nothing more."""
        key = (library_id, name.lower())
        author_id = self._author_by_name.get(key)
        if author_id is None:
            author = SimAuthor(self.new_id(), library_id, name, self.now_ms())
            self.authors[author.id] = author
            self._author_by_name[key] = author.id
            return author
        return self.authors[author_id]

    def find_or_create_series(self, library_id: str, name: str) -> SimSeries:
        key = (library_id, name.lower())
        series_id = self._series_by_name.get(key)
        if series_id is None:
            series = SimSeries(self.new_id(), library_id, name, self.now_ms())
            self.series[series.id] = series
            self._series_by_name[key] = series.id
            return series
        return self.series[series_id]

    def _link(self, item: SimItem, author_ids: Iterable[str], series: Iterable[tuple[str, str | None]]) -> None:
        old_authors, old_series = set(item.author_ids), {s for s, _ in item.series}
        item.author_ids = tuple(author_ids)
        item.series = tuple(series)
        self._author_refs.update(set(item.author_ids) - old_authors)
        self._series_refs.update({s for s, _ in item.series} - old_series)
        for author_id in old_authors - set(item.author_ids):
            self._author_refs[author_id] -= 1
            if self._author_refs[author_id] <= 0:  # checkRemoveAuthorsWithNoBooks
                self._drop_author(author_id)
        for series_id in old_series - {s for s, _ in item.series}:
            self._series_refs[series_id] -= 1
            if self._series_refs[series_id] <= 0:  # "a series left with no books is deleted"
                self._drop_series(series_id)

    def _drop_author(self, author_id: str) -> None:
        author = self.authors.pop(author_id)
        self._author_by_name.pop((author.library_id, author.name.lower()), None)
        del self._author_refs[author_id]

    def _drop_series(self, series_id: str) -> None:
        series = self.series.pop(series_id)
        self._series_by_name.pop((series.library_id, series.name.lower()), None)
        del self._series_refs[series_id]

    def set_item_authors(self, item: SimItem, names: Sequence[str]) -> bool:
        """``Book.updateAuthorsFromRequest``: keep case-insensitive matches, detach the rest, add new.

        A name that differs from a linked author only in case is *not* a change, so ABS cannot
        re-case an author through this path. Returns whether any author was added or removed.
        """
        wanted = [n.lower() for n in names if n]
        current = [self.authors[a] for a in item.author_ids]
        kept = [a.id for a in current if a.name.lower() in wanted]
        removed = len(kept) != len(current)
        added: list[str] = []
        for name in names:
            if not name or any(a.name.lower() == name.lower() for a in current):
                continue
            author = self.find_or_create_author(item.library_id, name)
            if author.id not in kept and author.id not in added:
                added.append(author.id)
        self._link(item, kept + added, item.series)
        return removed or bool(added)

    def set_item_series(self, item: SimItem, entries: Sequence[tuple[str, str | None]]) -> bool:
        """``Book.updateSeriesFromRequest`` after validation: replace the list, matched by name."""
        changed = False
        current = {self.series[s].name.lower(): (s, seq) for s, seq in item.series}
        result: dict[str, str | None] = {}
        for name, sequence in entries:
            existing = current.get(name.lower())
            if existing is not None:
                if existing[1] != sequence:
                    changed = True
                result[existing[0]] = sequence
            else:
                result[self.find_or_create_series(item.library_id, name).id] = sequence
                changed = True
        wanted = {name.lower() for name, _ in entries}
        if any(name not in wanted for name in current):
            changed = True
        # existing links keep their place, new ones are appended (ABS pushes onto this.series)
        ordered = [(s, result[s]) for s, _ in item.series if s in result]
        ordered += [(s, q) for s, q in result.items() if s not in {o for o, _ in ordered}]
        self._link(item, item.author_ids, ordered)
        return changed

    # ---------------------------------------------------------------- items
    def add_book(
        self,
        library_id: str,
        *,
        title: str,
        authors: Sequence[str] = (),
        series: Sequence[tuple[str, str | None]] = (),
        rel_path: str | None = None,
        added_at: int | None = None,
        **fields: Any,
    ) -> SimItem:
        """Add a book item as a scan would; ``fields`` are any other :class:`SimItem` fields."""
        return self._add_item(library_id, "book", title, authors, series, rel_path, added_at, fields)

    def add_podcast(
        self,
        library_id: str,
        *,
        title: str,
        author: str | None = None,
        added_at: int | None = None,
        **fields: Any,
    ) -> SimItem:
        fields["podcast_author"] = author
        return self._add_item(library_id, "podcast", title, (), (), None, added_at, fields)

    def _add_item(
        self,
        library_id: str,
        media_type: MediaType,
        title: str,
        authors: Sequence[str],
        series: Sequence[tuple[str, str | None]],
        rel_path: str | None,
        added_at: int | None,
        fields: dict[str, Any],
    ) -> SimItem:
        unknown = set(fields) - _ITEM_FIELDS
        if unknown:
            raise TypeError(f"unknown SimItem fields: {sorted(unknown)}")
        with self.lock:
            if self.libraries[library_id].media_type != media_type:
                raise ValueError(f"library {library_id} holds {self.libraries[library_id].media_type}s")
            when = self.now_ms() if added_at is None else added_at
            item = SimItem(
                id=fields.pop("id", None) or self.new_id(),
                library_id=library_id,
                ino=fields.pop("ino", None) or self.new_ino(int(fields.get("n_files", 1)) + 2),
                rel_path=rel_path or title,
                media_type=media_type,
                added_at=when,
                updated_at=fields.pop("updated_at", when),
                mtime_ms=fields.pop("mtime_ms", when - 86_400_000),
                title=title,
                rowid=self._next_rowid,
                **fields,
            )
            self._next_rowid += 1
            self.items[item.id] = item
            self.library_items[library_id][item.id] = None
            author_ids: list[str] = []
            for name in authors:
                author_id = self.find_or_create_author(library_id, name).id
                if author_id not in author_ids:
                    author_ids.append(author_id)
            links: dict[str, str | None] = {}
            for name, sequence in series:
                links.setdefault(self.find_or_create_series(library_id, name).id, sequence)
            self._link(item, author_ids, links.items())
            self.version += 1
            return item

    def touch(self, item: SimItem) -> None:
        """Record a write: ``updatedAt`` moves forward even when the clock is frozen."""
        item.updated_at = max(self.now_ms(), item.updated_at + 1)
        self.version += 1

    def edit_item(
        self,
        item_id: str,
        *,
        authors: Sequence[str] | None = None,
        series: Sequence[tuple[str, str | None]] | None = None,
        **changes: Any,
    ) -> SimItem:
        """Change fields as a rescan or the web UI would; always bumps ``updatedAt``."""
        bad = set(changes) - (_ITEM_FIELDS - _READONLY_FIELDS)
        if bad:
            raise TypeError(f"cannot edit SimItem fields: {sorted(bad)}")
        with self.lock:
            item = self.items[item_id]
            for name, value in changes.items():
                setattr(item, name, tuple(value) if isinstance(value, list) else value)
            if authors is not None:
                self.set_item_authors(item, list(authors))
            if series is not None:
                self.set_item_series(item, list(series))
            self.touch(item)
            return item

    def remove_item(self, item_id: str) -> None:
        """Delete an item (``DELETE /api/items/:id``): orphaned authors and series go with it."""
        with self.lock:
            item = self.items.pop(item_id)
            del self.library_items[item.library_id][item_id]
            self._link(item, (), ())
            self._pending_rescan.pop(item_id, None)
            self.version += 1

    def mark_missing(self, item_id: str, missing: bool = True) -> None:
        """What a scan does when an item's folder vanishes (or comes back): flag it, never delete."""
        with self.lock:
            item = self.items[item_id]
            if item.is_missing != missing:
                item.is_missing = missing
                self.touch(item)

    # ---------------------------------------------------------------- scans
    def queue_scan_change(self, library_id: str, change: Callable[[AbsState], object]) -> None:
        """Run ``change(state)`` when the next scan of this library finishes (new files, removals)."""
        with self.lock:
            self._pending_scan.setdefault(library_id, []).append(change)

    def queue_item_rescan(self, item_id: str, change: Callable[[AbsState], object]) -> None:
        """Run ``change(state)`` when ``POST /api/items/:id/scan`` next runs (result ``UPDATED``)."""
        with self.lock:
            self._pending_rescan.setdefault(item_id, []).append(change)

    def start_library_scan(self, library_id: str, force: bool = False) -> bool:
        """Start a scan task; a library already scanning drops the request (ABS still answers 200)."""
        with self.lock:
            if any(t.library_id == library_id for t in self.tasks):
                return False
            self.tasks.append(SimTask(self.new_id(), library_id, self.now_ms(), self.scan_polls, force))
            return True

    def poll_tasks(self) -> list[SimTask]:
        """Tasks still running; each poll brings every scan one step closer to finishing."""
        with self.lock:
            running = list(self.tasks)
            for task in running:
                task.polls_left -= 1
                if task.polls_left < 0:
                    self._finish(task)
            return [t for t in running if t in self.tasks]

    def finish_scans(self) -> None:
        with self.lock:
            for task in list(self.tasks):
                self._finish(task)

    def _finish(self, task: SimTask) -> None:
        self.tasks.remove(task)
        for change in self._pending_scan.pop(task.library_id, []):
            change(self)
        lib = self.libraries[task.library_id]
        if lib.disk_path is not None:
            self.scan_results.append(scan_library(self, lib))
        lib.last_scan = self.now_ms()
        self.version += 1

    # ---------------------------------------------------------------- items scanned from disk
    def add_disk_item(self, library_id: str, *, rel_path: str, ino: str, files: Sequence[SimFile], is_file: bool,
                      metadata: dict[str, Any]) -> SimItem:
        """A new item found by a disk scan (``abs_disk``), described by ``metadata`` (ABS's keys)."""
        audio = [f for f in files if f.file_type == "audio"]
        extra = {k: metadata[k] for k in ("subtitle", "publisher", "description", "isbn", "asin", "language")
                 if metadata.get(k)}
        return self.add_book(
            library_id, title=metadata.get("title") or rel_path, authors=metadata.get("authors") or (),
            series=metadata.get("series") or (), rel_path=rel_path, ino=ino, files=tuple(files), is_file=is_file,
            narrators=tuple(metadata.get("narrators") or ()), genres=tuple(metadata.get("genres") or ()),
            tags=tuple(metadata.get("tags") or ()), published_year=metadata.get("publishedYear"),
            published_date=metadata.get("publishedDate"), explicit=bool(metadata.get("explicit")),
            abridged=bool(metadata.get("abridged")), duration=round(sum(f.duration for f in audio), 6),
            n_files=len(audio), codec=codec_for(list(files)), has_cover=any(f.file_type == "image" for f in files),
            **extra)

    def rescan_disk_item(self, item: SimItem, rel_path: str, ino: str, files: Sequence[SimFile]) -> None:
        """A known folder seen again: moved (same inode), changed files, or back from missing."""
        audio = [f for f in files if f.file_type == "audio"]
        item.rel_path, item.ino, item.files, item.is_missing = rel_path, ino, tuple(files), False
        item.duration, item.n_files = round(sum(f.duration for f in audio), 6), len(audio)
        self.touch(item)

    def rescan_item(self, item_id: str) -> str:
        with self.lock:
            changes = self._pending_rescan.pop(item_id, [])
            for change in changes:
                change(self)
            return "UPDATED" if changes else "UPTODATE"
