"""A :class:`~shared.download.torrents.TorrentClient` that takes a ``qbit`` rate-limit slot per call.

The monitor's job declares the ``qbit`` throttle key; wrapping the client keeps every call counted
without the cycle knowing about rate limits. (A client that throttles itself needs no wrapper.)
"""

from __future__ import annotations

from collections.abc import Callable

from shared.download.torrents import ClientSnapshot, ShareLimits, TorrentClient, TrackerStatus


class Throttled:
    def __init__(self, inner: TorrentClient, take_slot: Callable[[], None]) -> None:
        self.inner = inner
        self.take_slot = take_slot

    def add_torrent(self, torrent: bytes, *, info_hash: str, category: str, tags: list[str], save_path: str) -> None:
        self.take_slot()
        self.inner.add_torrent(torrent, info_hash=info_hash, category=category, tags=tags, save_path=save_path)

    def has(self, info_hash: str) -> bool:
        self.take_slot()
        return self.inner.has(info_hash)

    def snapshot(self) -> ClientSnapshot:
        self.take_slot()
        return self.inner.snapshot()

    def reannounce(self, hashes: list[str]) -> None:
        self.take_slot()
        self.inner.reannounce(hashes)

    def set_no_share_limits(self, hashes: list[str]) -> None:
        self.take_slot()
        self.inner.set_no_share_limits(hashes)

    def global_share_limits(self) -> ShareLimits:
        self.take_slot()
        return self.inner.global_share_limits()

    def tracker_status(self, info_hash: str) -> TrackerStatus:
        self.take_slot()
        return self.inner.tracker_status(info_hash)
