"""Is the tracker working for this torrent? Which torrents the monitor asks, and what an answer vouches for.

MAM counts the time a torrent is announced to its tracker as a seeder. The one call a cycle makes
(``sync/maindata``) carries a ``tracker`` field that only says a tracker answered *once* since
qBittorrent started: it stays set when every later announce fails (``workers/download/qbit_sync.py``).
A tracker outage after the first announce would then be credited as seeding. The tracker list
(``torrents/trackers``) says how the *last* announce went, but costs one call per torrent, so:

- **Which torrents** (:func:`due`): the seeds that owe time (an obligation not met yet, or one
  opening this cycle), each about every ``check_s``, at most ``limit`` per cycle, the oldest check
  first (never checked before all): a round-robin whose cost is bounded whatever the library's size.
  qBittorrent itself only learns of a failure at an announce (every 30 to 60 min on most trackers),
  so checking a torrent much more often tells little more.
- **What an answer vouches for** (:func:`tracker_seen`): the answer is kept on the download row
  with its time. ``working`` vouches for the tracker until it is ``stale_s`` old; ``not working``
  stands until a later check says otherwise (its age does not clear it). Without a fresh
  "working" the seed's time is not credited (``shared/download/obligations.py``); a tracker seen not
  working is a risk like any other cause of not seeding, reported as a hit-and-run risk after the
  grace; a tracker merely unconfirmed (no check yet, or a stale one: the checks are behind) is not
  credited and not reported as a risk, since nothing is known to be wrong with the torrent.

A check that says nothing new (qBittorrent has not contacted the tracker yet, or is announcing to it
right now) is not stored: the torrent stays the oldest and is asked again next cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.download.torrents import TrackerStatus

#: How much of qBittorrent's tracker message is kept on the row.
MESSAGE_MAX = 500


class Tracker(StrEnum):
    WORKING = "working"  # the last check said working, and is fresh
    NOT_WORKING = "not_working"  # the last check said not working (whatever its age)
    UNCONFIRMED = "unconfirmed"  # never checked, or the last "working" is stale


@dataclass(frozen=True, slots=True)
class TrackerCheck:
    """The last answer stored for a torrent (``downloads.tracker_*``)."""

    working: bool
    message: str
    checked_at: datetime


@dataclass(frozen=True, slots=True)
class TrackerSeen:
    """What the last check vouches for now; ``reason`` completes a risk reason (a stable text, so
    an unchanged situation does not rewrite the obligation row every cycle)."""

    state: Tracker
    reason: str = ""


WORKING = TrackerSeen(Tracker.WORKING)


def check_of(working: bool | None, message: str | None, checked_at: datetime | None) -> TrackerCheck | None:
    """The stored answer from the row's columns (None: never checked)."""
    if working is None or checked_at is None:
        return None
    return TrackerCheck(working, message or "", checked_at)


def answered(status: TrackerStatus, at: datetime) -> TrackerCheck | None:
    """What a ``torrents/trackers`` answer read at ``at`` leaves on the row; None: no news (not
    contacted yet, an announce under way), nothing to store."""
    if status.working is None:
        return None
    return TrackerCheck(status.working, status.message[:MESSAGE_MAX], at)


def fresh(checked_at: datetime | None, now: datetime, stale_s: float) -> bool:
    """Whether an answer stored at ``checked_at`` still vouches for the tracker at ``now``."""
    return checked_at is not None and (now - checked_at).total_seconds() <= stale_s


def tracker_seen(check: TrackerCheck | None, now: datetime, stale_s: float) -> TrackerSeen:
    if check is None:
        return TrackerSeen(Tracker.UNCONFIRMED, "its tracker has not been checked yet")
    if not check.working:
        return TrackerSeen(Tracker.NOT_WORKING, f"its tracker is not working ({check.message or 'no message'})")
    if not fresh(check.checked_at, now, stale_s):
        return TrackerSeen(Tracker.UNCONFIRMED, "its tracker has not been seen working since "
                                                f"{check.checked_at.isoformat(timespec='minutes')}")
    return WORKING


def due(candidates: Iterable[tuple[str, datetime | None]], now: datetime, *, check_s: float,
        limit: int) -> list[str]:
    """The info-hashes to check this cycle: never checked first, then the oldest checks, only those
    at least ``check_s`` old, at most ``limit``."""
    waiting = [(at, h) for h, at in candidates if at is None or (now - at).total_seconds() >= check_s]
    waiting.sort(key=lambda item: (item[0] is not None, item[0] or now, item[1]))
    return [h for _, h in waiting[:limit]]
