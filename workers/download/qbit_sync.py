"""qBittorrent's incremental ``sync/maindata`` merged into full :class:`TorrentView` values.

How the endpoint behaves (qBittorrent 4.5.2, checked against the real daemon): the answer to
``rid=0``, or to any rid that is not the last one this *session* was sent, is ``full_update: true``
with every torrent and all its fields. The answer to the last rid holds only what changed since:
new torrents in full, known ones with just their changed fields, deleted ones in
``torrents_removed``; nothing changed is ``{"rid": n}``. A restarted qBittorrent has forgotten
the session (the next call logs in again) and answers with a full update from ``rid`` 1.

So the merger keeps every torrent's fields, not only our category's: a torrent moved *into* our
category arrives as a partial ``{"category": "mamcrawler"}`` and needs the rest from before. Views
are rebuilt only for the torrents a response touched, which keeps a quiet cycle over 10,000
torrents in the microseconds.

``tracker_ok`` comes from the torrent's ``tracker`` field, because the per-torrent tracker list
(``torrents/trackers``) would cost one call per torrent per cycle. What that field is (measured on
4.5.2, see docs/downloads.md): the URL of a tracker that answered an announce since qBittorrent
started or the torrent was added, ``""`` until then. It does not go back to ``""`` when a later
announce fails, so ``tracker_ok`` means "announced successfully this session", not "the last
announce worked"; :meth:`workers.download.qbit.QbitClient.tracker_working` asks the tracker list
for the few torrents where the difference matters.

Removals: ``removed`` holds our torrents qBittorrent no longer has (``torrents_removed``, or absent
from a full update). A torrent moved to another category leaves ``torrents`` without being
"removed": it still exists, and :meth:`QbitClient.has` says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.download.torrents import ClientSnapshot, TorrentView
from shared.infra.errors import MalformedResponse


class MaindataMerger:
    """The client side of ``sync/maindata`` for one category: the rid, the fields, the views."""

    def __init__(self, category: str) -> None:
        self.category = category
        self.rid = 0
        self._fields: dict[str, dict[str, Any]] = {}  # every torrent qBittorrent reported, merged
        self._ours: dict[str, TorrentView] = {}

    def reset(self) -> None:
        """Forget everything: the next request asks for a full update (``rid=0``)."""
        self.rid = 0
        self._fields.clear()
        self._ours.clear()

    def apply(self, data: object, *, calls: int = 1) -> ClientSnapshot:
        """Merge one answer; the snapshot of our category after it."""
        if not isinstance(data, Mapping):
            raise MalformedResponse(f"qBittorrent sync/maindata: expected an object, got {type(data).__name__}")
        rid = data.get("rid")
        if not isinstance(rid, int) or isinstance(rid, bool):
            raise MalformedResponse(f"qBittorrent sync/maindata: no integer rid in the answer (rid={rid!r})")
        torrents = data.get("torrents")
        torrents = {} if torrents is None else torrents
        gone = data.get("torrents_removed")
        gone = [] if gone is None else gone
        if not isinstance(torrents, Mapping) or not isinstance(gone, list):
            raise MalformedResponse("qBittorrent sync/maindata: 'torrents' must be an object and "
                                    "'torrents_removed' a list")
        full = bool(data.get("full_update"))
        before = set(self._ours)
        if full:
            self._fields = {}
            self._ours = {}
        removed: set[str] = set()
        for raw_hash in gone:
            key = str(raw_hash).lower()
            self._fields.pop(key, None)
            if self._ours.pop(key, None) is not None:
                removed.add(key)
        for raw_hash, changed in torrents.items():
            if not isinstance(changed, Mapping):
                raise MalformedResponse(f"qBittorrent sync/maindata: torrent {raw_hash!r} is not an object")
            key = str(raw_hash).lower()
            merged = self._fields.setdefault(key, {})
            merged.update(changed)
            if merged.get("category") == self.category:
                self._ours[key] = parse_view(key, merged)
            else:
                self._ours.pop(key, None)
        if full:
            removed |= {h for h in before if h not in self._fields}
        self.rid = rid
        return ClientSnapshot(torrents=dict(self._ours), removed=frozenset(removed), full_update=full, calls=calls)

    def knows(self, info_hash: str) -> bool:
        """Whether the last answer listed ``info_hash`` (any category)."""
        return info_hash.lower() in self._fields


def parse_view(info_hash: str, raw: Mapping[str, Any]) -> TorrentView:
    """A total parser: numbers may arrive as strings, times as 0/-1 for "never", tags as "a, b"."""
    return TorrentView(
        info_hash=info_hash,
        name=_text(raw.get("name")),
        state=_text(raw.get("state")) or "unknown",
        progress=min(1.0, max(0.0, _float(raw.get("progress")))),
        size_bytes=_int(raw.get("size", raw.get("total_size"))),
        uploaded_bytes=_int(raw.get("uploaded")),
        downloaded_bytes=_int(raw.get("downloaded")),
        ratio=max(0.0, _float(raw.get("ratio"))),
        seeding_time=_int(raw.get("seeding_time")),
        category=_text(raw.get("category")),
        tags=parse_tags(raw.get("tags")),
        save_path=_text(raw.get("save_path")),
        content_path=_text(raw.get("content_path")),
        added_on=epoch(raw.get("added_on")),
        completion_on=epoch(raw.get("completion_on")),
        tracker_ok=bool(_text(raw.get("tracker"))),
        ratio_limit=_opt_float(raw.get("ratio_limit")),
        seeding_time_limit=_opt_int(raw.get("seeding_time_limit")),
    )


def parse_tags(value: object) -> tuple[str, ...]:
    """qBittorrent sends ``"a, b"``; a list is accepted too. Order kept, blanks and repeats dropped."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    found: list[str] = []
    for item in items:
        tag = str(item).strip()
        if tag and tag not in found:
            found.append(tag)
    return tuple(found)


def epoch(value: object) -> datetime | None:
    """Seconds since 1970 as UTC; qBittorrent's "never" (-1, 0, or a wrapped 0xFFFFFFFF) is None."""
    seconds = _opt_float(value)
    if seconds is None or seconds <= 0 or seconds >= 2**32 - 1:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _opt_float(value: object) -> float | None:
    """A finite number from a number or a numeric string; None for anything else (NaN, inf, "n/a")."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        found = float(value) if isinstance(value, int | float) else float(str(value).strip())
    except (ValueError, OverflowError):
        return None
    return found if math.isfinite(found) else None


def _float(value: object) -> float:
    found = _opt_float(value)
    return found if found is not None else 0.0


def _opt_int(value: object) -> int | None:
    found = _opt_float(value)
    return None if found is None else int(found)


def _int(value: object) -> int:
    found = _opt_int(value)
    return max(0, found) if found is not None else 0
