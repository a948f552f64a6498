"""Seeding obligations: what each completed torrent owes MAM, counted so that we never under-seed.

MAM's rule (``shared/reference/mam.md``): every downloaded torrent is seeded 72 h within 30 days of
its completion; until then it is unsatisfied, and stopping or removing it earlier is a hit-and-run.
Both figures are settings (``MAMC_SEEDING_REQUIRED_SECONDS``, ``MAMC_SEEDING_WINDOW_SECONDS``). Every
figure lives in the ``seeding_obligations`` row, so the count survives restarts of qBittorrent, of
the workers and of this process: a tick reads the row and the torrent as qBittorrent shows it now,
and returns the row's next values. Nothing here does I/O.

**What counts as seeded.** MAM counts the time a torrent is announced to its tracker as a seeder.
So an interval between two looks is credited only when, at **both** ends, the torrent was seeding
(uploading, stalledUP, queuedUP, forcedUP) *and* its tracker was known to work: qBittorrent says a
tracker answered this session (``TorrentView.tracker_ok``), and the last check of the torrent's
tracker list says "working" and is fresh (``shared/download/tracker_checks.py``). A tracker that
fails later in a session leaves the first true and is caught by the second, within a check round.
We have two witnesses of how long such an interval was, each wrong in its own way:

- *Our clock*: the monitor looks every cycle (``MAMC_SCHEDULE_DOWNLOAD_MONITOR``). One increment is
  capped at ``max_step_s`` (twice the cycle), so a monitor that was down for a day cannot claim the
  day: it did not see it.
- *qBittorrent's* ``seeding_time``: it keeps counting while we are down, but it stops while a
  torrent is idle (no peer: recipe gotcha 10, qBittorrent issue #15392), and an idle seed is still
  announced, so MAM counts that time. It also counts seeding while the tracker fails (and may
  catch up at the first announce that works again), hence the same both-ends rule. A counter
  lower than the last one seen means qBittorrent started the torrent over (re-added, resume data
  lost): its advance is then the new value itself. Never more than the wall time elapsed.

An interval is credited the **larger** of the two, never their sum: they measure the same
seconds, and each is an under-estimate of what MAM saw (ours misses our outages, qBittorrent's
misses idle time). Every doubt counts against us: a torrent held a few hours too long costs a
seeding slot, one released early costs the account. When an obligation opens, qBittorrent's
counter so far (the seconds since completion, a whole history for a torrent added by hand) is
credited at once, bounded by the time since completion, if its tracker is confirmed working then.

**States.** ``open`` while time is owed and the torrent seeds; ``at_risk`` while time is owed and
it does not: stopped, errored or gone at once, and after ``grace_s`` for what is usually brief
(checking after a restart, a tracker not answering); a tracker merely unconfirmed (not checked yet,
or its check stale) is not credited but never makes it ``at_risk``; ``met`` once the seconds are
seeded (final); ``failed`` once the deadline passes unmet. Counting goes on after a failure: MAM
clears a hit-and-run that is seeded to its time, so a failed obligation becomes ``met`` (late, its
``met_at`` after the deadline) when the seconds are in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from shared.download.states import SEEDING_STATES, STOPPED_COMPLETE_STATES, ObligationState
from shared.download.torrents import TorrentView
from shared.download.tracker_checks import Tracker, TrackerSeen
from shared.models.download import Download, Obligation

REQUIRED_SECONDS = 72 * 3600
WINDOW_SECONDS = 30 * 86400
#: One interval of our own clock counts at most this many cycles (a longer gap is an outage of ours).
STEP_CAP_CYCLES = 2
#: A brief "not seeding" (checking after a restart, one failed announce) is at risk after this long.
DEFAULT_GRACE_SECONDS = 600.0

#: States that stop a torrent for good until a person acts: at risk at once.
_HARD_STOPS = STOPPED_COMPLETE_STATES | {"pausedDL", "stoppedDL", "error", "missingFiles"}

S = ObligationState


class ObligationRow(Protocol):
    """What a tick reads and writes: an ``Obligation`` row, or the monitor's plain record of one."""

    state: str
    required_seconds: int
    deadline: datetime
    seeded_seconds: float
    qbit_seeding_time: int | None
    last_tick_at: datetime | None
    met_at: datetime | None
    risk_reason: str | None
    risk_since: datetime | None


class Change(StrEnum):
    """The transition a tick made; the monitor reports each once, when it happens."""

    MET = "met"
    AT_RISK = "at_risk"
    RECOVERED = "recovered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Risk:
    """Why a torrent is not seeding now (as MAM counts it); ``hard``: stopped for good, not a passing
    state; ``escalates``: becomes ``at_risk`` after the grace (not so for a tracker merely unconfirmed)."""

    reason: str
    hard: bool
    escalates: bool = True


@dataclass(frozen=True, slots=True)
class ObligationUpdate:
    """The row's next values after one tick, what was credited and by which witness, and the change."""

    state: ObligationState
    seeded_seconds: float
    qbit_seeding_time: int | None
    last_tick_at: datetime
    met_at: datetime | None
    risk_reason: str | None
    risk_since: datetime | None
    credited: float = 0.0
    ours: float = 0.0
    qbit: float = 0.0
    change: Change | None = None

    def apply(self, row: ObligationRow) -> None:
        row.state = self.state.value
        row.seeded_seconds = self.seeded_seconds
        row.qbit_seeding_time = self.qbit_seeding_time
        row.last_tick_at = self.last_tick_at
        row.met_at = self.met_at
        row.risk_reason = self.risk_reason
        row.risk_since = self.risk_since


def risk_of(view: TorrentView | None, tracker: TrackerSeen) -> Risk | None:
    """None when the torrent seeds with a tracker known to work (what MAM counts); else why not."""
    if view is None:
        return Risk("gone from qBittorrent", hard=True)
    if view.state in SEEDING_STATES:
        if not view.tracker_ok:
            return Risk(f"{view.state}, but the tracker is not answering", hard=False)
        if tracker.state == Tracker.NOT_WORKING:
            return Risk(f"{view.state}, but {tracker.reason}", hard=False)
        if tracker.state == Tracker.UNCONFIRMED:
            return Risk(f"{view.state}; {tracker.reason}", hard=False, escalates=False)
        return None
    if view.state in _HARD_STOPS:
        kind = "errored" if view.state in {"error", "missingFiles"} else "stopped"
        return Risk(f"{kind} in qBittorrent ({view.state})", hard=True)
    return Risk(f"not seeding ({view.state})", hard=False)


def opening(completed_at: datetime, *, now: datetime, view: TorrentView | None, tracker: TrackerSeen,
            required_s: int = REQUIRED_SECONDS, window_s: int = WINDOW_SECONDS) -> dict[str, Any]:
    """The columns of the obligation of a download found complete at ``now`` (completed at
    ``completed_at``): qBittorrent's counter so far is credited (bounded by the time since
    completion) when the tracker is confirmed working now, and becomes the baseline of later
    advances. The row starts ``open``; tick it at ``now`` to settle its state."""
    since = max(0.0, (now - completed_at).total_seconds())
    confirmed = view is not None and view.tracker_ok and tracker.state == Tracker.WORKING
    credited = float(min(view.seeding_time, since)) if view is not None and confirmed else 0.0
    return {"state": S.OPEN.value, "required_seconds": required_s, "window_seconds": window_s,
            "completed_at": completed_at, "deadline": completed_at + timedelta(seconds=window_s),
            "seeded_seconds": credited, "qbit_seeding_time": view.seeding_time if view is not None else None,
            "last_tick_at": now, "met_at": None, "risk_reason": None, "risk_since": None}


def open_obligation(download: Download, completed_at: datetime, *, now: datetime, view: TorrentView | None = None,
                    tracker: TrackerSeen, required_s: int = REQUIRED_SECONDS,
                    window_s: int = WINDOW_SECONDS) -> Obligation:
    """:func:`opening` as an ``Obligation`` row of ``download``."""
    return Obligation(download_id=download.id, **opening(completed_at, now=now, view=view, tracker=tracker,
                                                         required_s=required_s, window_s=window_s))


def _qbit_advance(last: int | None, view: TorrentView | None, elapsed: float, *,
                  credit: bool) -> tuple[float, int | None]:
    """(seconds credited from qBittorrent's counter, the counter to remember)."""
    if view is None:
        return 0.0, last
    counter = view.seeding_time
    if last is None:
        advance = 0  # the first reading is a baseline, not an advance
    elif counter >= last:
        advance = counter - last
    else:
        advance = counter  # qBittorrent started over since the last look
    return (float(min(advance, elapsed)) if credit else 0.0), counter


def _next_state(row: ObligationRow, seeded: float, risk: Risk | None, risk_since: datetime | None,
                now: datetime, grace_s: float) -> ObligationState:
    if seeded >= row.required_seconds:
        return S.MET
    if now >= row.deadline:
        return S.FAILED
    if risk is None or risk_since is None or not risk.escalates:
        return S.OPEN
    return S.AT_RISK if risk.hard or (now - risk_since).total_seconds() >= grace_s else S.OPEN


def _change(before: ObligationState, after: ObligationState) -> Change | None:
    if before == after:
        return None
    return {S.MET: Change.MET, S.AT_RISK: Change.AT_RISK, S.FAILED: Change.FAILED}.get(
        after, Change.RECOVERED if before == S.AT_RISK else None)


def tick(row: ObligationRow, view: TorrentView | None, now: datetime, previous_tick: datetime | None = None, *,
         tracker: TrackerSeen, max_step_s: float, grace_s: float = DEFAULT_GRACE_SECONDS) -> ObligationUpdate:
    """One monitor cycle's look at an obligation: credit the interval since ``previous_tick`` (the
    row's ``last_tick_at`` unless given) by the rule in the module docstring, and decide the state.

    ``view`` is the torrent as qBittorrent shows it now, None when it is gone; ``tracker`` what its
    last tracker check vouches for now. A met obligation is final and comes back unchanged.
    """
    before = ObligationState(row.state)
    if before == S.MET:
        return ObligationUpdate(S.MET, row.seeded_seconds, row.qbit_seeding_time, row.last_tick_at or now,
                                row.met_at, None, None)
    previous = previous_tick or row.last_tick_at
    elapsed = max(0.0, (now - previous).total_seconds()) if previous is not None else 0.0
    risk = risk_of(view, tracker)
    counts = previous is not None and row.risk_since is None and risk is None  # seeding, announced, at both ends
    ours = min(elapsed, max_step_s) if counts else 0.0
    qbit, counter = _qbit_advance(row.qbit_seeding_time, view, elapsed, credit=counts)
    credited = max(ours, qbit)
    seeded = row.seeded_seconds + credited
    risk_since = None if risk is None else (row.risk_since or now)
    after = _next_state(row, seeded, risk, risk_since, now, grace_s)
    met = after == S.MET
    return ObligationUpdate(
        state=after, seeded_seconds=seeded, qbit_seeding_time=counter, last_tick_at=now,
        met_at=now if met else None, risk_reason=None if met or risk is None else risk.reason,
        risk_since=None if met else risk_since, credited=credited, ours=ours, qbit=qbit,
        change=_change(before, after))


def owed_seconds(row: ObligationRow) -> float:
    """Seconds still to seed (0 once met)."""
    return 0.0 if row.state == S.MET.value else max(0.0, row.required_seconds - row.seeded_seconds)
