"""What the monitor concludes from one look at a torrent: pure rules, no database, no client.

The monitor (``workers/download/monitor.py``) reads qBittorrent once per cycle and asks these
functions what each torrent's row should say and what, if anything, to ask of qBittorrent: a
re-announce for a stalled download, per-torrent share limits of "none" while seeding time is
owed. It never asks for anything that could stop a torrent (no remove, pause or move exists here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.download.states import SEEDING_STATES, STOPPED_COMPLETE_STATES, DownloadState
from shared.download.torrents import ShareLimits, TorrentView

#: qBittorrent states of a download that is trying to fetch data (a stall means something here).
ACTIVE_DOWNLOAD_STATES = frozenset({"downloading", "stalledDL", "metaDL", "forcedDL", "forcedMetaDL"})
#: qBittorrent states that say nothing lasting (a check, a move, a start): the row keeps its state.
PASSING_STATES = frozenset({"checkingUP", "checkingDL", "checkingResumeData", "moving", "allocating", "unknown"})
ERROR_STATES = frozenset({"error", "missingFiles"})
#: qBittorrent's per-torrent limit value meaning "no limit".
NO_LIMIT = -1


def is_complete(view: TorrentView) -> bool:
    """Every piece is here and qBittorrent treats it as finished (seeding, or stopped after)."""
    return view.progress >= 1.0 and (view.state in SEEDING_STATES or view.state in STOPPED_COMPLETE_STATES)


def download_state(view: TorrentView | None, current: DownloadState) -> DownloadState:
    """The row's state for what qBittorrent shows (``current`` is kept through passing states)."""
    if view is None:
        return DownloadState.MISSING
    if view.state in ERROR_STATES:
        return DownloadState.ERRORED
    if is_complete(view):
        return DownloadState.SEEDING if view.state in SEEDING_STATES else DownloadState.PAUSED
    if view.state in PASSING_STATES and current in {DownloadState.SEEDING, DownloadState.PAUSED,
                                                     DownloadState.DOWNLOADING, DownloadState.STALLED}:
        return current
    if current == DownloadState.STALLED and view.state in ACTIVE_DOWNLOAD_STATES:
        return current  # stays reported until it moves again (see :func:`stall_step`)
    return DownloadState.DOWNLOADING


class StallStep(StrEnum):
    """What to do about a download that has not moved: re-announce once, then report; never delete."""

    NONE = "none"
    PROGRESS = "progress"  # it moved: clear any stall
    IDLE = "idle"  # not trying (paused, queued, checking): the stall clock starts again when it is
    REANNOUNCE = "reannounce"
    REPORT = "report"


@dataclass(frozen=True, slots=True)
class StallFacts:
    """The row's memory of the download's progress (``downloads`` columns)."""

    downloaded_bytes: int | None
    progress: float
    last_progress_at: datetime | None
    reannounced_at: datetime | None
    reported: bool  # the row is ``stalled``: already reported


def stall_step(facts: StallFacts, view: TorrentView, now: datetime, stall_s: float) -> StallStep:
    """Progress is any new byte or any rise of ``progress``; a paused or queued download is not
    stalled, and its stall clock starts over when it is let go again."""
    moved = view.progress > facts.progress or (facts.downloaded_bytes is not None
                                               and view.downloaded_bytes > facts.downloaded_bytes)
    if moved or facts.last_progress_at is None:
        return StallStep.PROGRESS
    if view.state not in ACTIVE_DOWNLOAD_STATES:
        return StallStep.IDLE
    if facts.reported:
        return StallStep.NONE
    if facts.reannounced_at is None:
        due = (now - facts.last_progress_at).total_seconds() >= stall_s
        return StallStep.REANNOUNCE if due else StallStep.NONE
    return StallStep.REPORT if (now - facts.reannounced_at).total_seconds() >= stall_s else StallStep.NONE


def needs_no_limits(view: TorrentView) -> bool:
    """Per-torrent share limits that are not "none" (a value, or -2: follow the global ones).

    Unknown limits (a client that does not report them) are left alone rather than set on every cycle.
    """
    known = [limit for limit in (view.ratio_limit, view.seeding_time_limit) if limit is not None]
    return any(limit != NO_LIMIT for limit in known)


def _stops(action: str | None) -> bool:
    """Does reaching a limit stop the torrent? Only super-seeding keeps it announced; no action
    named means qBittorrent's default, which pauses."""
    return action is None or "super" not in action.lower()


def global_limit_problems(limits: ShareLimits, required_s: int) -> list[str]:
    """What in qBittorrent's global share limits would stop a torrent before it has seeded ``required_s``.

    Per-torrent limits of "none" override them for the torrents we add, but a torrent added by hand,
    or one in the moment before its limits are set, follows these: each problem says what to change.
    """
    if not _stops(limits.action):
        return []
    action = limits.action or "pause"
    where = "qBittorrent → Options → BitTorrent → Seeding Limits"
    problems: list[str] = []
    if limits.ratio is not None:
        problems.append(f"the ratio limit {limits.ratio:g} would {action} a torrent that reaches it, whatever its "
                        f"seeding time: turn \"When ratio reaches\" off in {where}")
    if limits.seeding_minutes is not None and limits.seeding_minutes * 60 < required_s:
        problems.append(f"the seeding time limit of {limits.seeding_minutes} min is below the "
                        f"{required_s // 60} min owed: turn it off or raise it to at least {required_s // 60} min "
                        f"in {where}")
    if limits.inactive_seeding_minutes is not None:
        problems.append(f"the inactive seeding time limit of {limits.inactive_seeding_minutes} min would {action} "
                        f"an idle seed, which MAM still counts: turn \"When inactive seeding time reaches\" off "
                        f"in {where}")
    return problems
