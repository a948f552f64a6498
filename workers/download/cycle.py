"""One monitor cycle: qBittorrent's view of our category reconciled with the ``downloads`` rows.

One ``client.snapshot()`` (an incremental ``sync/maindata``) per cycle. Any other call is made only
when something needs it: the tracker lists of the seeds owing time with no fresh answer
(``tracker_status``, at most ``tracker_checks_per_cycle``: a torrent found complete, whose history
is credited at the opening only on a fresh "working", or one whose answer went stale while the
workers were down; keeping the answers fresh is ``download.trackers``'s round-robin,
workers/download/trackers.py), a ``has`` for a torrent that just left the view, one ``reannounce`` for the
downloads that stalled this cycle, one ``set_no_share_limits`` for those whose limits are not
"none" while they owe seeding time, an ``add_torrent`` per vanished torrent re-added, and the global
share limits at a process's first cycle and hourly.

All of a cycle is one transaction: the rows, the obligations, the events, the wanted entries moved
and the import queued. The rows are read with one query and written as sets
(``workers/download/cycle_rows.py``); the ORM is used only for the rare row that needs a domain
function written for it (a grab's row the monitor marks added). The calls that change something in
qBittorrent (re-announce, limits, re-add) are all idempotent, so a cycle that fails and runs again
repeats them harmlessly; the seconds it did not commit are credited by the next one
(``shared/download/obligations.py``).

Completion queues ``import.abs`` for a download someone wanted (``import_state`` ``queued``); a
torrent added by hand is followed for its seeding only. Each row whose state, progress, import
state or obligation changed in the cycle is announced once (``shared/download/live.py``), after
the commit: the live pages follow a download without polling.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Text, any_, bindparam, exists, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from shared.download import grabs
from shared.download import obligations as obl
from shared.download import tracker_checks as trk
from shared.download.events import DownloadEvent, emit
from shared.download.live import announce_record, visible
from shared.download.monitoring import (
    StallFacts,
    StallStep,
    download_state,
    global_limit_problems,
    is_complete,
    needs_no_limits,
    stall_step,
)
from shared.download.states import SEEDING_STATES, DownloadState, ObligationState
from shared.download.torrents import TorrentClient, TorrentView
from shared.engine import ledger
from shared.infra.alerts import resolve_alerts
from shared.infra.errors import NotFound
from shared.infra.settings import Settings
from shared.models.download import Download, Obligation
from shared.wanted import service as wanted_service
from shared.wanted.states import ForbiddenTransition, WantedState
from workers.download import cycle_rows as rows
from workers.download.cycle_rows import DownRec, ObRec

log = logging.getLogger(__name__)

D = DownloadState
#: Rows the monitor follows even when qBittorrent no longer shows them.
FOLLOWED = frozenset({D.DOWNLOADING, D.STALLED, D.SEEDING, D.PAUSED, D.MISSING, D.ERRORED})
#: Rows that are not the monitor's: a grab still deciding, a dry run.
NOT_OURS = frozenset({D.PENDING, D.DRY_RUN})
IMPORT_JOB = "import.abs"
#: ``last_seen_at`` is refreshed at least this often (not every cycle: 10,000 rows a minute for nothing).
LAST_SEEN_EVERY = 900.0
GLOBAL_LIMITS_EVERY = 3600.0
#: How ``downloads.error`` begins for a torrent qBittorrent still has outside our category.
LEFT_CATEGORY = "left category"
#: How ``downloads.error`` begins for a torrent the monitor re-added (the flag stays after it is back).
READDED = "re-added from the stored .torrent"
#: A ``fetched`` row qBittorrent has held this long was left by a grab that died after adding it.
ABANDONED_GRAB_AFTER = 3600.0
#: More torrents than this put at risk in one cycle (a tracker outage: every seed at once) are
#: reported in one event, not one notification each.
RISKS_ONE_BY_ONE = 3


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    required_s: int = obl.REQUIRED_SECONDS
    window_s: int = obl.WINDOW_SECONDS
    stall_s: float = 1800.0
    grace_s: float = obl.DEFAULT_GRACE_SECONDS
    max_step_s: float = 120.0
    tracker_check_s: float = 900.0
    tracker_checks_per_cycle: int = 10
    tracker_stale_s: float = 2700.0

    @classmethod
    def from_settings(cls, settings: Settings) -> MonitorConfig:
        period = settings.schedule_download_monitor if settings.schedule_download_monitor > 0 else 60
        return cls(required_s=settings.seeding_required_seconds, window_s=settings.seeding_window_seconds,
                   stall_s=settings.download_stall_seconds, grace_s=settings.seeding_risk_grace_seconds,
                   max_step_s=float(obl.STEP_CAP_CYCLES * period), tracker_check_s=settings.tracker_check_seconds,
                   tracker_checks_per_cycle=settings.tracker_checks_per_cycle,
                   tracker_stale_s=settings.tracker_stale_seconds)


@dataclass
class MonitorMemory:
    """What a worker process keeps between cycles: only when it last read the global limits (its
    first cycle reads them, so each start-up checks them)."""

    limits_checked_at: datetime | None = None


@dataclass
class CycleReport:
    calls: int = 0
    sync_calls: int = 0  # what the snapshot cost: one sync/maindata (a re-login adds two)
    torrents: int = 0
    followed: int = 0
    adopted: int = 0
    completed: int = 0
    reannounced: int = 0
    reported_stalled: int = 0
    vanished: int = 0
    readded: int = 0
    limits_set: int = 0
    credited_s: float = 0.0
    tracker_checks: int = 0  # tracker lists read this cycle (one call each)
    tracker_due: int = 0  # seeds owing time whose check was due (more than the cycle's limit: behind)
    tracker_not_working: int = 0  # seeds owing time whose tracker was last seen not working
    tracker_unconfirmed: int = 0  # seeds owing time without a fresh "working" check: not credited
    rows_written: int = 0  # downloads rows changed (one statement for all)
    obligations_written: int = 0  # obligations opened or changed (one statement each way)
    changes: dict[str, int] = field(default_factory=dict)
    global_limit_problems: list[str] | None = None

    def result(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v not in (None, {}, [])}
        out["credited_s"] = round(self.credited_s, 1)
        return out


@dataclass
class _Effects:
    """What to ask of qBittorrent once the rows are reconciled."""

    reannounce: list[str] = field(default_factory=list)
    no_limits: list[str] = field(default_factory=list)
    readd: list[DownRec] = field(default_factory=list)


class Cycle:
    """One pass; ``run()`` returns its report. The caller's session scope commits."""

    def __init__(self, session: Session, client: TorrentClient, now: datetime, config: MonitorConfig,
                 memory: MonitorMemory) -> None:
        self.s, self.client, self.now, self.config, self.memory = session, client, now, config, memory
        self.report = CycleReport()
        self.effects = _Effects()
        self.checked: dict[str, trk.TrackerCheck] = {}  # this cycle's tracker checks, by info-hash
        self.seen: dict[int, trk.TrackerSeen] = {}  # what each torrent's check vouches for, once per cycle
        self.risks: list[tuple[DownRec, ObRec]] = []  # put at risk this cycle, reported together at the end

    def run(self) -> CycleReport:
        snap = self.client.snapshot()
        self.report.calls += snap.calls
        self.report.sync_calls = snap.calls
        self.report.torrents = len(snap.torrents)
        recs = rows.load(self.s, [s.value for s in FOLLOWED], list(snap.torrents))
        shown = {rec.id: visible(rec, rec.ob) for rec in recs}
        known = {rec.info_hash for rec in recs}
        new = [v for h, v in snap.torrents.items() if h not in known]
        self._check_trackers(recs, snap.torrents, new)
        for rec in recs:
            if rec.state in NOT_OURS or rec.info_hash is None:
                continue
            view = snap.torrents.get(rec.info_hash)
            if rec.state == D.FETCHED and not self._abandoned(view):
                continue  # the grab that fetched it is adding it right now: it is its to finish
            if view is not None:
                self._follow(rec, view)
            elif rec.state in FOLLOWED:
                self._absent(rec)
        adopted = self._adopt(new)
        for rec in adopted:
            self._follow(rec, snap.torrents[rec.info_hash or ""])
        self._report_risks()
        self._apply_effects()
        self.s.flush()  # the ORM's few writes (a grab's row marked added, wanted entries, jobs) go first
        written = rows.write(self.s, [*recs, *adopted], self.now)
        self.report.rows_written = written.downloads
        self.report.obligations_written = written.obligations_opened + written.obligations
        for rec in (*recs, *adopted):  # a new row counts as changed; the seeding clock alone does not
            if shown.get(rec.id) != visible(rec, rec.ob):
                announce_record(self.s, rec, rec.ob)
        self._check_global_limits()
        self._resolve_alerts()
        return self.report

    # -- tracker checks ---------------------------------------------------------------------------

    def _check_trackers(self, recs: list[DownRec], torrents: dict[str, TorrentView],
                        new: list[TorrentView]) -> None:
        """Read the tracker lists of the seeds owing time that have no fresh answer, a bounded
        number per cycle: never checked (complete now, or new to us: the history qBittorrent counted
        is credited at the opening only on a fresh "working"), or checked longer ago than an answer
        vouches for (after an outage of the workers, before ``download.trackers`` has caught up).
        ``download.trackers`` keeps the answers fresh, so a steady cycle asks nothing. Checked
        before the rows are reconciled, so this cycle's ticks use the answers."""
        candidates: list[tuple[str, datetime | None]] = []
        by_hash: dict[str, DownRec] = {}
        for rec in recs:
            view = torrents.get(rec.info_hash or "")
            if view is None or view.state not in SEEDING_STATES or rec.state in NOT_OURS \
                    or (rec.state == D.FETCHED and not self._abandoned(view)):
                continue
            by_hash[view.info_hash] = rec
            owing = rec.ob.state != ObligationState.MET if rec.ob is not None else is_complete(view)
            if owing and not trk.fresh(rec.tracker_checked_at, self.now, self.config.tracker_stale_s):
                candidates.append((view.info_hash, rec.tracker_checked_at))
        candidates += [(v.info_hash, None) for v in new if v.state in SEEDING_STATES and is_complete(v)]
        cfg = self.config
        waiting = trk.due(candidates, self.now, check_s=cfg.tracker_check_s, limit=len(candidates))
        self.report.tracker_due = len(waiting)
        for info_hash in waiting[:cfg.tracker_checks_per_cycle]:
            self.report.calls += 1
            self.report.tracker_checks += 1
            try:
                status = self.client.tracker_status(info_hash)
            except NotFound:  # gone since the snapshot: the next one says so
                continue
            check = trk.answered(status, self.now)
            if check is None:
                continue  # no news: first in line next cycle
            self.checked[info_hash] = check
            held = by_hash.get(info_hash)
            if held is not None:  # kept on the row (an adopted torrent's row takes it when it is made)
                held.tracker_working, held.tracker_message, held.tracker_checked_at = (check.working, check.message,
                                                                                       check.checked_at)

    def _tracker(self, rec: DownRec) -> trk.TrackerSeen:
        """What the torrent's last check vouches for now (worked out once a cycle, and counted)."""
        known = self.seen.get(rec.id)
        if known is None:
            known = self.seen[rec.id] = self._tracker_now(rec)
            if known.state == trk.Tracker.NOT_WORKING:
                self.report.tracker_not_working += 1
            elif known.state == trk.Tracker.UNCONFIRMED:
                self.report.tracker_unconfirmed += 1
        return known

    def _tracker_now(self, rec: DownRec) -> trk.TrackerSeen:
        fresh = self.checked.get(rec.info_hash or "")
        if fresh is not None:
            rec.tracker_working, rec.tracker_message, rec.tracker_checked_at = (fresh.working, fresh.message,
                                                                                fresh.checked_at)
        elif rec.tracker_working and trk.fresh(rec.tracker_checked_at, self.now, self.config.tracker_stale_s):
            return trk.WORKING  # the common case, without building the check
        check = trk.check_of(rec.tracker_working, rec.tracker_message, rec.tracker_checked_at)
        return trk.tracker_seen(check, self.now, self.config.tracker_stale_s)

    # -- a torrent qBittorrent shows ------------------------------------------------------------

    def _follow(self, rec: DownRec, view: TorrentView) -> None:
        self.report.followed += 1
        before = D(rec.state)
        if before == D.FETCHED:
            self._finish_grab(rec, view)
        elif before == D.REMOVED:
            log.info("download %s is back in qBittorrent: followed again", rec.id)
            rec.removed_at = None
        state = download_state(view, D(rec.state))
        if not is_complete(view):
            state = self._stall(rec, view, state)
        changed = _put(rec, state=state.value, name=view.name, progress=view.progress, ratio=view.ratio,
                       uploaded_bytes=view.uploaded_bytes, downloaded_bytes=view.downloaded_bytes,
                       qbit_state=view.state, size_bytes=view.size_bytes or rec.size_bytes,
                       save_path=view.save_path or rec.save_path, content_path=view.content_path or rec.content_path,
                       category=view.category or rec.category)
        if changed or rec.last_seen_at is None or (self.now - rec.last_seen_at).total_seconds() >= LAST_SEEN_EVERY:
            rec.last_seen_at = self.now
        ob = rec.ob
        if is_complete(view) and (rec.completed_at is None or ob is None):
            ob = self._complete(rec, view)
        elif ob is not None:
            self._tick(rec, ob, view)
        if needs_no_limits(view) and (ob is None or ob.state != ObligationState.MET):
            self.effects.no_limits.append(view.info_hash)

    def _abandoned(self, view: TorrentView | None) -> bool:
        """A ``fetched`` row whose torrent qBittorrent has held for a while: its grab died after adding
        it (a live one marks it added moments later, a redelivered one within minutes)."""
        return view is not None and view.added_on is not None \
            and (self.now - view.added_on).total_seconds() >= ABANDONED_GRAB_AFTER

    def _finish_grab(self, rec: DownRec, view: TorrentView) -> None:
        """What the grab would have done once qBittorrent had it: the row is added, the entry grabbed.

        Through the ORM (``grabs.mark_added`` is the grab's own function), flushed at once; the
        record takes the values it wrote, so the cycle's set-based write repeats them, never undoes them."""
        log.warning("download %s: qBittorrent has held it since %s but its grab never marked it added; "
                    "the monitor does", rec.id, view.added_on)
        row = self.s.get(Download, rec.id)
        assert row is not None
        try:
            grabs.mark_added(self.s, row, category=view.category, tags=list(view.tags), save_path=view.save_path)
        except ForbiddenTransition as exc:
            log.warning("download %s: wanted entry left as it is: %s", rec.id, exc)
            row.state = D.DOWNLOADING.value
        row.added_at = view.added_on or row.added_at
        self.s.flush()
        rec.state, rec.category, rec.save_path = row.state, row.category, row.save_path
        rec.added_at, rec.last_progress_at = row.added_at, row.last_progress_at

    def _stall(self, rec: DownRec, view: TorrentView, state: DownloadState) -> DownloadState:
        facts = StallFacts(rec.downloaded_bytes, rec.progress, rec.last_progress_at, rec.reannounced_at,
                           reported=rec.state == D.STALLED)
        step = stall_step(facts, view, self.now, self.config.stall_s)
        if step in (StallStep.PROGRESS, StallStep.IDLE):  # it moved, or is not trying: the stall clock restarts
            rec.last_progress_at = self.now
            rec.stalled_since = rec.reannounced_at = None
            return D.DOWNLOADING if state == D.STALLED else state
        if step == StallStep.REANNOUNCE:
            rec.stalled_since = rec.reannounced_at = self.now
            self.effects.reannounce.append(view.info_hash)
            self.report.reannounced += 1
            return state
        if step == StallStep.REPORT:
            self.report.reported_stalled += 1
            idle = (self.now - (rec.last_progress_at or self.now)).total_seconds()
            emit(self.s, DownloadEvent.STALLED,
                 f"download {rec.id} ({view.name}) has not moved for {idle / 60:.0f} min at "
                 f"{view.progress * 100:.1f} % ({view.state}), even after a re-announce; it is left as it is",
                 download_id=rec.id, info_hash=view.info_hash)
            return D.STALLED
        return state

    def _complete(self, rec: DownRec, view: TorrentView) -> ObRec:
        """The download is complete: its obligation opens, its wanted entry is ``downloaded``, the
        import is queued."""
        first = rec.completed_at is None
        rec.completed_at = rec.completed_at or view.completion_on or self.now
        rec.stalled_since = rec.reannounced_at = None
        ob = rec.ob
        if ob is None:
            values = obl.opening(rec.completed_at, now=self.now, view=view, tracker=self._tracker(rec),
                                 required_s=self.config.required_s, window_s=self.config.window_s)
            ob = rec.ob = ObRec(download_id=rec.id, new=True, **values)
            self._tick(rec, ob, view)
        if first:
            self.report.completed += 1
            self._wanted_downloaded(rec)
            self._queue_import(rec)
            emit(self.s, DownloadEvent.COMPLETED, f"download {rec.id} ({view.name}) is complete; it owes "
                 f"{obl.owed_seconds(ob) / 3600:.1f} h of seeding before {ob.deadline.isoformat()}",
                 download_id=rec.id)
        return ob

    def _wanted_downloaded(self, rec: DownRec) -> None:
        if rec.wanted_id is None:
            return
        reason = f"download {rec.id} complete"
        try:
            entry = wanted_service.lock(self.s, rec.wanted_id)
            if entry.state == WantedState.WANTED:  # added by the monitor before the grab marked it
                wanted_service.transition(self.s, entry.id, WantedState.GRABBED, reason=reason)
            if entry.state not in (WantedState.DOWNLOADED, WantedState.IMPORTED):
                wanted_service.transition(self.s, entry.id, WantedState.DOWNLOADED, reason=reason)
        except ForbiddenTransition as exc:
            # someone moved the entry on purpose (ignored it, searching again): theirs to keep
            log.warning("download %s complete, wanted entry left as it is: %s", rec.id, exc)

    def _queue_import(self, rec: DownRec) -> None:
        """A completed download someone wanted goes to the import; one added by hand (no wanted
        entry) is only followed for its seeding, never imported."""
        if rec.wanted_id is None:
            return
        ledger.create_job(self.s, IMPORT_JOB, {"download_id": rec.id}, dedupe_key=f"{IMPORT_JOB}:{rec.id}")
        rec.import_state = "queued"

    # -- a torrent qBittorrent no longer shows --------------------------------------------------

    def _absent(self, rec: DownRec) -> None:
        if rec.state != D.MISSING:
            self._vanished(rec)
        if rec.ob is not None:
            self._tick(rec, rec.ob, None)

    def _vanished(self, rec: DownRec) -> None:
        """It just left our view: still in qBittorrent (another category), or gone."""
        assert rec.info_hash is not None
        self.report.vanished += 1
        self.report.calls += 1
        rec.state = D.MISSING.value
        if self.client.has(rec.info_hash):
            rec.error = (f"{LEFT_CATEGORY} {rec.category!r} at {self.now.isoformat()}: qBittorrent still has it, "
                         "but its seeding can no longer be followed")
            return
        owed = rec.ob is not None and rec.ob.state != ObligationState.MET
        if owed and rec.has_torrent and _files_exist(rec):
            self.effects.readd.append(rec)
        elif rec.completed_at is None:
            emit(self.s, DownloadEvent.VANISHED, f"download {rec.id} ({rec.name or rec.title}) left qBittorrent "
                 f"at {rec.progress * 100:.1f} %, before it completed", download_id=rec.id)

    # -- obligations ------------------------------------------------------------------------------

    def _tick(self, rec: DownRec, ob: ObRec, view: TorrentView | None) -> None:
        if ob.state == ObligationState.MET:
            return
        seeding = view is not None and view.state in SEEDING_STATES
        tracker = self._tracker(rec) if seeding else trk.WORKING  # not seeding or gone: the tracker is moot
        update = obl.tick(ob, view, self.now, tracker=tracker, max_step_s=self.config.max_step_s,
                          grace_s=self.config.grace_s)
        if view is None and rec.error and rec.error.startswith(LEFT_CATEGORY) and update.risk_reason:
            update = replace(update, risk_reason="moved out of our category: its seeding cannot be followed")
        self.report.credited_s += update.credited
        update.apply(ob)
        if update.change is not None:
            self.report.changes[update.change.value] = self.report.changes.get(update.change.value, 0) + 1
            self._report_change(rec, ob, update.change)

    def _report_change(self, rec: DownRec, ob: ObRec, change: obl.Change) -> None:
        name = rec.name or rec.title or rec.info_hash
        owed = f"{obl.owed_seconds(ob) / 3600:.1f} h"
        if change == obl.Change.AT_RISK:
            self.risks.append((rec, ob))
        elif change == obl.Change.RECOVERED:
            emit(self.s, DownloadEvent.RECOVERED, f"download {rec.id} ({name}) seeds again; {owed} still owed",
                 download_id=rec.id)
        elif change == obl.Change.MET:
            emit(self.s, DownloadEvent.MET, f"download {rec.id} ({name}) has seeded its "
                 f"{ob.required_seconds / 3600:.0f} h", download_id=rec.id)
        elif change == obl.Change.FAILED:
            emit(self.s, DownloadEvent.FAILED,
                 f"hit-and-run: download {rec.id} ({name}) did not seed its {ob.required_seconds / 3600:.0f} h "
                 f"by {ob.deadline.isoformat()} ({owed} still owed); keep it seeding to clear it",
                 download_id=rec.id)

    def _report_risks(self) -> None:
        """The obligations put at risk this cycle: one event each, or a single one when there are many
        (a tracker outage puts every seed at risk in the same cycle: one alert, one notification)."""
        if len(self.risks) <= RISKS_ONE_BY_ONE:
            for rec, ob in self.risks:
                emit(self.s, DownloadEvent.HIT_AND_RUN_RISK,
                     f"hit-and-run risk: download {rec.id} ({rec.name or rec.title or rec.info_hash}) is "
                     f"{ob.risk_reason}; it still owes {obl.owed_seconds(ob) / 3600:.1f} h of seeding before "
                     f"{ob.deadline.isoformat()}", download_id=rec.id, reason=ob.risk_reason)
            return
        reasons = Counter(ob.risk_reason or "not seeding" for _, ob in self.risks)
        ids = sorted(rec.id for rec, _ in self.risks)
        shown = ", ".join(str(i) for i in ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
        emit(self.s, DownloadEvent.HIT_AND_RUN_RISK,
             f"hit-and-run risk: {len(ids)} downloads owing seeding are not seeding as MAM counts it: "
             + "; ".join(f"{n} × {why}" for why, n in reasons.most_common())
             + f" (downloads {shown}; GET /api/v1/downloads?obligation=at_risk lists them)",
             download_id=f"{len(ids)} at {self.now.isoformat()}", download_ids=ids)

    # -- new torrents in our category --------------------------------------------------------------

    def _adopt(self, views: list[TorrentView]) -> list[DownRec]:
        """Torrents in our category we have no row for: added by hand, followed as ``manual``.

        A hash whose row a grab holds locked right now is not new: it is left for the next cycle."""
        if not views:
            return []
        held = set(self.s.scalars(select(Download.info_hash).where(
            Download.info_hash == any_(bindparam("new", [v.info_hash for v in views], type_=ARRAY(Text))))))
        recs = rows.new_downloads(self.s, [
            {"info_hash": v.info_hash, "source": "manual", "state": D.DOWNLOADING.value, "dry_run": False,
             "name": v.name, "title": v.name, "category": v.category, "tags": list(v.tags), "save_path": v.save_path,
             "content_path": v.content_path, "size_bytes": v.size_bytes, "progress": 0.0,
             "added_at": v.added_on or self.now, "last_progress_at": self.now}
            for v in views if v.info_hash not in held])
        for rec in recs:
            emit(self.s, DownloadEvent.ADOPTED, f"torrent {rec.info_hash} ({rec.name}) was added to our category by "
                 f"hand: followed as download {rec.id}", download_id=rec.id)
        self.report.adopted += len(recs)
        return recs

    # -- asking qBittorrent -------------------------------------------------------------------------

    def _apply_effects(self) -> None:
        fx = self.effects
        if fx.reannounce:
            self.client.reannounce(fx.reannounce)
            self.report.calls += 1
        if fx.no_limits:
            self.client.set_no_share_limits(fx.no_limits)
            self.report.calls += 1
            self.report.limits_set += len(fx.no_limits)
        for rec in fx.readd:
            self._readd(rec)

    def _readd(self, rec: DownRec) -> None:
        stored = self.s.execute(select(Download.torrent_file, Download.tags).where(Download.id == rec.id)).one()
        data = grabs.decrypt_torrent(stored.torrent_file)
        assert data is not None and rec.info_hash is not None
        self.client.add_torrent(data, info_hash=rec.info_hash, category=rec.category or "", tags=list(stored.tags),
                                save_path=rec.save_path or "")
        self.report.calls += 1
        self.report.readded += 1
        rec.error = (f"{READDED} at {self.now.isoformat()}: it vanished from qBittorrent "
                     "with its files still on disk")
        emit(self.s, DownloadEvent.READDED, f"download {rec.id} ({rec.name or rec.title}) vanished from "
             "qBittorrent with its files still on disk: re-added from the stored .torrent", download_id=rec.id)

    def _check_global_limits(self) -> None:
        last = self.memory.limits_checked_at
        if last is not None and (self.now - last).total_seconds() < GLOBAL_LIMITS_EVERY:
            return
        limits = self.client.global_share_limits()
        self.report.calls += 1
        self.memory.limits_checked_at = self.now
        problems = global_limit_problems(limits, self.config.required_s)
        self.report.global_limit_problems = problems
        if problems:
            emit(self.s, DownloadEvent.GLOBAL_SHARE_LIMITS,
                 "qBittorrent's global share limits would stop a torrent before it has seeded "
                 f"{self.config.required_s / 3600:.0f} h: " + "; ".join(problems), problems=problems)
        else:
            resolve_alerts(self.s, DownloadEvent.GLOBAL_SHARE_LIMITS.value)

    def _resolve_alerts(self) -> None:
        """An alert whose condition is gone from every row is resolved (one open alert per kind)."""
        conditions = {
            DownloadEvent.HIT_AND_RUN_RISK: Obligation.state == ObligationState.AT_RISK.value,
            DownloadEvent.FAILED: Obligation.state == ObligationState.FAILED.value,
            DownloadEvent.STALLED: Download.state == D.STALLED.value,
            DownloadEvent.READDED: (Download.state == D.MISSING.value) & Download.error.startswith(READDED),
        }
        for kind, condition in conditions.items():
            if not self.s.scalar(select(exists().where(condition))):
                resolve_alerts(self.s, kind.value)


def run_cycle(session: Session, client: TorrentClient, now: datetime, config: MonitorConfig,
              memory: MonitorMemory) -> CycleReport:
    return Cycle(session, client, now, config, memory).run()


def _put(rec: DownRec, **values: Any) -> bool:
    """Set the fields that differ; True if any did (an unchanged record is not written)."""
    changed = False
    for name, value in values.items():
        if getattr(rec, name) != value:
            setattr(rec, name, value)
            changed = True
    return changed


def _files_exist(rec: DownRec) -> bool:
    """The content is still on disk (the worker sees qBittorrent's paths: same host, or the same mount)."""
    if rec.content_path:
        return Path(rec.content_path).exists()
    return bool(rec.save_path and rec.name) and (Path(rec.save_path or "") / (rec.name or "")).exists()
