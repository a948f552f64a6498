"""May we touch this torrent? The one rule for removing, pausing, moving, renaming or retagging.

Why one rule for five actions: each of them can end the seeding MAM counts (a paused torrent does
not announce; a moved, renamed or retagged one is what the member asked never to happen while it
seeds, and a move can break the files under qBittorrent). The API's routes and any job that would
act on a torrent ask :func:`may_touch` first; nothing else decides it.

The rule: a torrent qBittorrent holds for us may be touched only once its seeding obligation is
``met``. Refused while it still downloads (once complete it owes the seeding time, and a snatch
left unseeded is a hit-and-run), while the obligation is ``open`` or ``at_risk``, and after it
``failed`` (seeding it to its time is what clears a hit-and-run, so giving it up now would make the
failure permanent). A row qBittorrent never had (a grab still pending, a dry run) has nothing to
protect. Pure: the caller reads the rows, and logs what it does with the answer.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from shared.download.states import DownloadState, ObligationState
from shared.models.download import Download, Obligation

#: Rows whose torrent never reached qBittorrent (or left it on an explicit request).
_NEVER_HELD = frozenset({DownloadState.PENDING, DownloadState.FETCHED, DownloadState.DRY_RUN,
                         DownloadState.REMOVED})


class Action(StrEnum):
    REMOVE = "remove"
    PAUSE = "pause"
    MOVE = "move"
    RENAME = "rename"
    RETAG = "retag"


class Verdict(NamedTuple):
    """``allowed`` and why, in words fit for a log line and a 409 problem."""

    allowed: bool
    reason: str


def may_touch(download: Download, obligation: Obligation | None, action: Action) -> Verdict:
    """May ``action`` be done to ``download`` now (``obligation``: its row, None if none opened yet)?"""
    what = f"download {download.id}"
    if obligation is None:
        if download.state in _NEVER_HELD:
            return Verdict(True, f"{what} is {download.state}: qBittorrent does not hold it for us")
        if download.completed_at is None and download.state == DownloadState.MISSING:
            return Verdict(True, f"{what} left qBittorrent before it completed: it owes no seeding")
        if download.completed_at is None:
            return Verdict(False, f"refused to {action} {what}: it is still downloading, and once complete it "
                                  "owes its seeding time")
        return Verdict(False, f"refused to {action} {what}: its seeding obligation is not recorded yet "
                              "(the monitor opens it on its next cycle)")
    state = ObligationState(obligation.state)
    owed = max(0.0, obligation.required_seconds - obligation.seeded_seconds)
    if state == ObligationState.MET:
        return Verdict(True, f"{what} has seeded its {_hours(obligation.required_seconds)}")
    if state == ObligationState.FAILED:
        return Verdict(False, f"refused to {action} {what}: its obligation failed (deadline "
                              f"{obligation.deadline.isoformat()}), and seeding the {_hours(owed)} still owed "
                              "is what clears the hit-and-run")
    risk = f"; it is at risk: {obligation.risk_reason}" if state == ObligationState.AT_RISK else ""
    return Verdict(False, f"refused to {action} {what}: it still owes {_hours(owed)} of seeding before "
                          f"{obligation.deadline.isoformat()}{risk}")


def may_remove(download: Download, obligation: Obligation | None) -> Verdict:
    return may_touch(download, obligation, Action.REMOVE)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"
