"""What the download domain knows of a torrent in qBittorrent, and what it asks of the client.

The client (``workers/download/qbit.py``, on qbittorrent-api) turns qBittorrent's incremental
``sync/maindata`` into :class:`TorrentView` values; the monitor and the obligation ledger read only
these, so they are tested with a fake client and a simulator as well as the real qbittorrent-nox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class TorrentView:
    """One torrent as qBittorrent reports it (times in UTC; sizes in bytes; ``seeding_time`` in s)."""

    info_hash: str  # v1 hex, lower case
    name: str
    state: str  # qBittorrent's: downloading, stalledDL, uploading, stalledUP, pausedUP, error, missingFiles...
    progress: float  # 0..1
    size_bytes: int
    uploaded_bytes: int
    downloaded_bytes: int
    ratio: float
    seeding_time: int  # qBittorrent's own counter; it stops while a torrent is idle (recipe gotcha 10)
    category: str
    tags: tuple[str, ...]
    save_path: str
    content_path: str
    added_on: datetime | None
    completion_on: datetime | None  # None until complete
    tracker_ok: bool  # a tracker answered an announce this qBittorrent session (sticky: see qbit_sync.py)
    ratio_limit: float | None = None  # per-torrent: -2 global, -1 none
    seeding_time_limit: int | None = None  # per-torrent minutes: -2 global, -1 none


@dataclass(frozen=True, slots=True)
class ClientSnapshot:
    """One monitoring cycle's view: every torrent of our category, and those gone since the last."""

    torrents: dict[str, TorrentView]
    removed: frozenset[str] = field(default_factory=frozenset)
    full_update: bool = False
    calls: int = 1  # API calls this cycle cost (the benchmark counts them)


@dataclass(frozen=True, slots=True)
class TrackerStatus:
    """What qBittorrent's tracker list (``torrents/trackers``) says of one torrent's last announce.

    ``working``: True when a tracker answered it, False when it failed (``message`` says how:
    "Connection refused", "Unregistered torrent"...), None when the list says nothing yet (not
    contacted, an announce under way): no news, so nothing to store.
    """

    working: bool | None
    message: str = ""


@dataclass(frozen=True, slots=True)
class ShareLimits:
    """qBittorrent's global share limits (preferences); None = no limit."""

    ratio: float | None
    seeding_minutes: int | None
    inactive_seeding_minutes: int | None
    action: str | None  # what qBittorrent does when reached: pause, remove, ... (0/1/2/3 in the API)


class TorrentClient(Protocol):
    """What the download pool asks of qBittorrent (implemented by ``workers.download.qbit.QbitClient``)."""

    def add_torrent(self, torrent: bytes, *, info_hash: str, category: str, tags: list[str], save_path: str) -> None:
        """Add the .torrent file (never a URL or magnet); per-torrent share limits "none". Adding a
        hash qBittorrent already has changes nothing."""

    def has(self, info_hash: str) -> bool: ...

    def snapshot(self) -> ClientSnapshot:
        """The next incremental ``sync/maindata`` (rid) merged into full views of our category."""

    def reannounce(self, hashes: list[str]) -> None: ...

    def set_no_share_limits(self, hashes: list[str]) -> None: ...

    def global_share_limits(self) -> ShareLimits: ...

    def tracker_status(self, info_hash: str) -> TrackerStatus:
        """The torrent's tracker list read now: one call per torrent, so the monitor asks it for a
        few torrents per cycle (``shared/download/tracker_checks.py``)."""
