"""Where a download is, and what its seeding obligation says. Plain names stored as strings.

Why these states: a grab is recorded *before* it acts (``pending``), so a worker killed at any
point finds the row and resumes instead of starting over; the ``.torrent`` bytes are kept once
fetched (``fetched``), so a redelivered grab never fetches again and a torrent removed behind our
back can be re-added from them; after ``added`` the monitor owns the state and follows
qBittorrent.
"""

from __future__ import annotations

from enum import StrEnum


class DownloadState(StrEnum):
    PENDING = "pending"  # the grab is decided and recorded; nothing fetched yet
    FETCHED = "fetched"  # the .torrent bytes are stored (encrypted); not yet in qBittorrent
    DOWNLOADING = "downloading"  # in qBittorrent, not complete
    STALLED = "stalled"  # no progress for too long: re-announced, reported, never deleted
    SEEDING = "seeding"  # complete and seeding
    PAUSED = "paused"  # complete but not seeding (by someone else: a hit-and-run risk while the obligation is open)
    MISSING = "missing"  # gone from qBittorrent (re-added from the stored .torrent when its files exist)
    ERRORED = "errored"  # qBittorrent reports an error on it
    REMOVED = "removed"  # removed on an explicit, logged request after its obligation was met
    DRY_RUN = "dry_run"  # a dry run recorded the grab and did nothing


class ObligationState(StrEnum):
    OPEN = "open"  # seeding time still owed
    MET = "met"  # seeded long enough within the window
    AT_RISK = "at_risk"  # not seeding (stopped, errored, vanished) while time is still owed
    FAILED = "failed"  # the window closed before the time was seeded: a hit-and-run on MAM's books


class DecisionKind(StrEnum):
    GRAB = "grab"
    WAIT = "wait"
    SPEND = "spend"
    REFUSE = "refuse"
    REMOVE = "remove"  # an explicit removal request that the seeding rule allowed


#: qBittorrent states that count as seeding (announced to the tracker as a seeder).
SEEDING_STATES = frozenset({"uploading", "stalledUP", "queuedUP", "forcedUP"})
#: qBittorrent states of a complete torrent that is not seeding.
STOPPED_COMPLETE_STATES = frozenset({"pausedUP", "stoppedUP"})
