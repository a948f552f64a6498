"""One monitor cycle: qBittorrent's view of our category reconciled with the ``downloads`` rows.

One ``client.snapshot()`` (an incremental ``sync/maindata``) per cycle; any other call is made only
when something needs it: a ``has`` for a torrent that just left the view, one ``reannounce`` for the
downloads that stalled this cycle, one ``set_no_share_limits`` for those whose limits are not
"none" while they owe seeding time, an ``add_torrent`` per vanished torrent re-added, and the global
share limits at a process's first cycle and hourly. A cycle in steady state is one call.

All of a cycle is one transaction: the rows, the obligations, the events, the wanted entries moved
and the import queued. The calls that change something in qBittorrent (re-announce, limits, re-add)
are all idempotent, so a cycle that fails and runs again repeats them harmlessly; the seconds it
did not commit are credited by the next one (``shared/download/obligations.py``).

Completion queues ``import.abs`` for a download someone wanted (``import_state`` ``queued``); a
torrent added by hand is followed for its seeding only. Each row whose state, progress, import
state or obligation changed in the cycle is announced once (``shared/download/live.py``), after
the commit: the live pages follow a download without polling.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Text, any_, bindparam, exists, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, defer

from shared.download import grabs
from shared.download import obligations as obl
from shared.download.events import DownloadEvent, emit
from shared.download.live import announce, visible
from shared.download.monitoring import (
    StallFacts,
    StallStep,
    download_state,
    global_limit_problems,
    is_complete,
    needs_no_limits,
    stall_step,
)
from shared.download.states import DownloadState, ObligationState
from shared.download.torrents import TorrentClient, TorrentView
from shared.engine import ledger
from shared.infra.alerts import resolve_alerts
from shared.infra.settings import Settings
from shared.models.download import Download, Obligation
from shared.wanted import service as wanted_service
from shared.wanted.states import ForbiddenTransition, WantedState

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


_TICKS = text("""
    UPDATE seeding_obligations AS o
       SET seeded_seconds = v.seeded, qbit_seeding_time = v.counter, last_tick_at = :now
      FROM unnest(CAST(:ids AS bigint[]), CAST(:seeded AS float8[]), CAST(:counters AS integer[]))
           AS v(id, seeded, counter)
     WHERE o.download_id = v.id""")


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    required_s: int = obl.REQUIRED_SECONDS
    window_s: int = obl.WINDOW_SECONDS
    stall_s: float = 1800.0
    grace_s: float = obl.DEFAULT_GRACE_SECONDS
    max_step_s: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings) -> MonitorConfig:
        period = settings.schedule_download_monitor if settings.schedule_download_monitor > 0 else 60
        return cls(required_s=settings.seeding_required_seconds, window_s=settings.seeding_window_seconds,
                   stall_s=settings.download_stall_seconds, grace_s=settings.seeding_risk_grace_seconds,
                   max_step_s=float(obl.STEP_CAP_CYCLES * period))


@dataclass
class MonitorMemory:
    """What a worker process keeps between cycles: only when it last read the global limits (its
    first cycle reads them, so each start-up checks them)."""

    limits_checked_at: datetime | None = None


@dataclass
class CycleReport:
    calls: int = 0
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
    readd: list[Download] = field(default_factory=list)


class Cycle:
    """One pass; ``run()`` returns its report. The caller's session scope commits."""

    def __init__(self, session: Session, client: TorrentClient, now: datetime, config: MonitorConfig,
                 memory: MonitorMemory) -> None:
        self.s, self.client, self.now, self.config, self.memory = session, client, now, config, memory
        self.report = CycleReport()
        self.effects = _Effects()
        self.ticks: list[tuple[int, float, int | None]] = []
        self.opened: dict[int, Obligation] = {}  # obligations opened this cycle, by download id

    def run(self) -> CycleReport:
        snap = self.client.snapshot()
        self.report.calls += snap.calls
        self.report.torrents = len(snap.torrents)
        loaded = self._load(snap.torrents)
        rows = [row for row, _ in loaded]
        shown = {row.id: visible(row, ob) for row, ob in loaded}
        for row, ob in loaded:
            if row.state in NOT_OURS or row.info_hash is None:
                continue
            view = snap.torrents.get(row.info_hash)
            if row.state == D.FETCHED and not self._abandoned(view):
                continue  # the grab that fetched it is adding it right now: it is its to finish
            if view is not None:
                self._follow(row, view, ob)
            elif row.state in FOLLOWED:
                self._absent(row, ob)
        known = {row.info_hash for row in rows}
        adopted = self._adopt([v for h, v in snap.torrents.items() if h not in known])
        for row in adopted:
            self._follow(row, snap.torrents[row.info_hash or ""], None)
        self._announce([*loaded, *((row, None) for row in adopted)], shown)
        self.s.flush()
        self._write_ticks()
        self._apply_effects()
        self._check_global_limits()
        self._resolve_alerts()
        return self.report

    def _announce(self, rows: list[tuple[Download, Obligation | None]], shown: dict[int, tuple[object, ...]]) -> None:
        """One live event per row whose state, progress, import state or obligation changed this
        cycle (a new row counts as changed); the seeding clock alone is not a change."""
        for row, ob in rows:
            ob = self.opened.get(row.id, ob)
            if shown.get(row.id) != visible(row, ob):
                announce(row, ob)

    # -- reading --------------------------------------------------------------------------------

    def _load(self, torrents: dict[str, TorrentView]) -> list[tuple[Download, Obligation | None]]:
        """Every followed row and every row of a hash qBittorrent shows, with its obligation, locked; a
        row a grab holds locked right now is skipped (next cycle). The hashes travel as one array; the
        stored ``.torrent`` (kilobytes each) and the tags are read only for the rare row that needs them."""
        shown = any_(bindparam("shown", list(torrents), type_=ARRAY(Text)))
        stmt = (select(Download, Obligation).outerjoin(Obligation, Obligation.download_id == Download.id)
                .where(Download.info_hash.is_not(None),
                       Download.state.in_([s.value for s in FOLLOWED]) | (Download.info_hash == shown))
                .options(defer(Download.torrent_file), defer(Download.tags))
                .with_for_update(of=Download, skip_locked=True))
        return [(row, ob) for row, ob in self.s.execute(stmt)]

    def _write_ticks(self) -> None:
        """The obligations whose only change is the clock (most of them, every cycle): one UPDATE.

        Their ORM objects are left untouched, so the session never writes them a second time."""
        if not self.ticks:
            return
        ids, seeded, counters = zip(*self.ticks, strict=True)
        self.s.execute(_TICKS, {"ids": list(ids), "seeded": list(seeded), "counters": list(counters), "now": self.now})

    # -- a torrent qBittorrent shows ------------------------------------------------------------

    def _follow(self, row: Download, view: TorrentView, ob: Obligation | None) -> None:
        self.report.followed += 1
        before = D(row.state)
        if before == D.FETCHED:
            self._finish_grab(row, view)
        elif before == D.REMOVED:
            log.info("download %s is back in qBittorrent: followed again", row.id)
            row.removed_at = None
        state = download_state(view, before)
        if not is_complete(view):
            state = self._stall(row, view, state)
        changed = _put(row, state=state.value, name=view.name, progress=view.progress, ratio=view.ratio,
                       uploaded_bytes=view.uploaded_bytes, downloaded_bytes=view.downloaded_bytes,
                       qbit_state=view.state, size_bytes=view.size_bytes or row.size_bytes,
                       save_path=view.save_path or row.save_path, content_path=view.content_path or row.content_path,
                       category=view.category or row.category)
        if changed or row.last_seen_at is None or (self.now - row.last_seen_at).total_seconds() >= LAST_SEEN_EVERY:
            row.last_seen_at = self.now
        if is_complete(view) and (row.completed_at is None or ob is None):
            ob = self._complete(row, view, ob)
        elif ob is not None:
            self._tick(row, ob, view)
        if needs_no_limits(view) and (ob is None or ob.state != ObligationState.MET):
            self.effects.no_limits.append(view.info_hash)

    def _abandoned(self, view: TorrentView | None) -> bool:
        """A ``fetched`` row whose torrent qBittorrent has held for a while: its grab died after adding
        it (a live one marks it added moments later, a redelivered one within minutes)."""
        return view is not None and view.added_on is not None \
            and (self.now - view.added_on).total_seconds() >= ABANDONED_GRAB_AFTER

    def _finish_grab(self, row: Download, view: TorrentView) -> None:
        """What the grab would have done once qBittorrent had it: the row is added, the entry grabbed."""
        log.warning("download %s: qBittorrent has held it since %s but its grab never marked it added; "
                    "the monitor does", row.id, view.added_on)
        try:
            grabs.mark_added(self.s, row, category=view.category, tags=list(view.tags), save_path=view.save_path)
        except ForbiddenTransition as exc:
            log.warning("download %s: wanted entry left as it is: %s", row.id, exc)
            row.state = D.DOWNLOADING.value
        row.added_at = view.added_on or row.added_at

    def _stall(self, row: Download, view: TorrentView, state: DownloadState) -> DownloadState:
        facts = StallFacts(row.downloaded_bytes, row.progress, row.last_progress_at, row.reannounced_at,
                           reported=row.state == D.STALLED)
        step = stall_step(facts, view, self.now, self.config.stall_s)
        if step in (StallStep.PROGRESS, StallStep.IDLE):  # it moved, or is not trying: the stall clock restarts
            row.last_progress_at = self.now
            row.stalled_since = row.reannounced_at = None
            return D.DOWNLOADING if state == D.STALLED else state
        if step == StallStep.REANNOUNCE:
            row.stalled_since = row.reannounced_at = self.now
            self.effects.reannounce.append(view.info_hash)
            self.report.reannounced += 1
            return state
        if step == StallStep.REPORT:
            self.report.reported_stalled += 1
            idle = (self.now - (row.last_progress_at or self.now)).total_seconds()
            emit(self.s, DownloadEvent.STALLED,
                 f"download {row.id} ({view.name}) has not moved for {idle / 60:.0f} min at "
                 f"{view.progress * 100:.1f} % ({view.state}), even after a re-announce; it is left as it is",
                 download_id=row.id, info_hash=view.info_hash)
            return D.STALLED
        return state

    def _complete(self, row: Download, view: TorrentView, ob: Obligation | None) -> Obligation:
        """The download is complete: its obligation opens, its wanted entry is ``downloaded``, the
        import is queued."""
        first = row.completed_at is None
        row.completed_at = row.completed_at or view.completion_on or self.now
        row.stalled_since = row.reannounced_at = None
        if ob is None:
            ob = obl.open_obligation(row, row.completed_at, now=self.now, view=view,
                                     required_s=self.config.required_s, window_s=self.config.window_s)
            self.s.add(ob)
            self.opened[row.id] = ob
            self._tick(row, ob, view)
        if first:
            self.report.completed += 1
            self._wanted_downloaded(row)
            self._queue_import(row)
            emit(self.s, DownloadEvent.COMPLETED, f"download {row.id} ({view.name}) is complete; it owes "
                 f"{obl.owed_seconds(ob) / 3600:.1f} h of seeding before {ob.deadline.isoformat()}",
                 download_id=row.id)
        return ob

    def _wanted_downloaded(self, row: Download) -> None:
        if row.wanted_id is None:
            return
        reason = f"download {row.id} complete"
        try:
            entry = wanted_service.lock(self.s, row.wanted_id)
            if entry.state == WantedState.WANTED:  # added by the monitor before the grab marked it
                wanted_service.transition(self.s, entry.id, WantedState.GRABBED, reason=reason)
            if entry.state not in (WantedState.DOWNLOADED, WantedState.IMPORTED):
                wanted_service.transition(self.s, entry.id, WantedState.DOWNLOADED, reason=reason)
        except ForbiddenTransition as exc:
            # someone moved the entry on purpose (ignored it, searching again): theirs to keep
            log.warning("download %s complete, wanted entry left as it is: %s", row.id, exc)

    def _queue_import(self, row: Download) -> None:
        """A completed download someone wanted goes to the import; one added by hand (no wanted
        entry) is only followed for its seeding, never imported."""
        if row.wanted_id is None:
            return
        ledger.create_job(self.s, IMPORT_JOB, {"download_id": row.id}, dedupe_key=f"{IMPORT_JOB}:{row.id}")
        row.import_state = "queued"

    # -- a torrent qBittorrent no longer shows --------------------------------------------------

    def _absent(self, row: Download, ob: Obligation | None) -> None:
        if row.state != D.MISSING:
            self._vanished(row, ob)
        if ob is not None:
            self._tick(row, ob, None)

    def _vanished(self, row: Download, ob: Obligation | None) -> None:
        """It just left our view: still in qBittorrent (another category), or gone."""
        assert row.info_hash is not None
        self.report.vanished += 1
        self.report.calls += 1
        row.state = D.MISSING.value
        if self.client.has(row.info_hash):
            row.error = (f"{LEFT_CATEGORY} {row.category!r} at {self.now.isoformat()}: qBittorrent still has it, "
                         "but its seeding can no longer be followed")
            return
        owed = ob is not None and ob.state != ObligationState.MET
        if owed and row.torrent_file is not None and _files_exist(row):
            self.effects.readd.append(row)
        elif row.completed_at is None:
            emit(self.s, DownloadEvent.VANISHED, f"download {row.id} ({row.name or row.title}) left qBittorrent "
                 f"at {row.progress * 100:.1f} %, before it completed", download_id=row.id)

    # -- obligations ------------------------------------------------------------------------------

    def _tick(self, row: Download, ob: Obligation, view: TorrentView | None) -> None:
        if ob.state == ObligationState.MET:
            return
        update = obl.tick(ob, view, self.now, max_step_s=self.config.max_step_s, grace_s=self.config.grace_s)
        if view is None and row.error and row.error.startswith(LEFT_CATEGORY) and update.risk_reason:
            update = replace(update, risk_reason="moved out of our category: its seeding cannot be followed")
        self.report.credited_s += update.credited
        if update.change is None and update.state == ob.state and update.met_at == ob.met_at \
                and update.risk_reason == ob.risk_reason and update.risk_since == ob.risk_since:
            self.ticks.append((ob.download_id, update.seeded_seconds, update.qbit_seeding_time))
            return  # only the clock moved: written with every other such row in one statement
        update.apply(ob)
        if update.change is not None:
            self.report.changes[update.change.value] = self.report.changes.get(update.change.value, 0) + 1
            self._report_change(row, ob, update.change)

    def _report_change(self, row: Download, ob: Obligation, change: obl.Change) -> None:
        name = row.name or row.title or row.info_hash
        owed = f"{obl.owed_seconds(ob) / 3600:.1f} h"
        if change == obl.Change.AT_RISK:
            emit(self.s, DownloadEvent.HIT_AND_RUN_RISK,
                 f"hit-and-run risk: download {row.id} ({name}) is {ob.risk_reason}; it still owes {owed} of "
                 f"seeding before {ob.deadline.isoformat()}", download_id=row.id, reason=ob.risk_reason)
        elif change == obl.Change.RECOVERED:
            emit(self.s, DownloadEvent.RECOVERED, f"download {row.id} ({name}) seeds again; {owed} still owed",
                 download_id=row.id)
        elif change == obl.Change.MET:
            emit(self.s, DownloadEvent.MET, f"download {row.id} ({name}) has seeded its "
                 f"{ob.required_seconds / 3600:.0f} h", download_id=row.id)
        elif change == obl.Change.FAILED:
            emit(self.s, DownloadEvent.FAILED,
                 f"hit-and-run: download {row.id} ({name}) did not seed its {ob.required_seconds / 3600:.0f} h "
                 f"by {ob.deadline.isoformat()} ({owed} still owed); keep it seeding to clear it",
                 download_id=row.id)

    # -- new torrents in our category --------------------------------------------------------------

    def _adopt(self, views: list[TorrentView]) -> list[Download]:
        """Torrents in our category we have no row for: added by hand, followed as ``manual``.

        A hash whose row a grab holds locked right now is not new: it is left for the next cycle."""
        if not views:
            return []
        new = [v.info_hash for v in views]
        held = set(self.s.scalars(select(Download.info_hash).where(Download.info_hash.in_(new))))
        rows = [Download(info_hash=v.info_hash, source="manual", state=D.DOWNLOADING.value, dry_run=False,
                         name=v.name, title=v.name, category=v.category, tags=list(v.tags), save_path=v.save_path,
                         content_path=v.content_path, size_bytes=v.size_bytes, progress=0.0,
                         added_at=v.added_on or self.now, last_progress_at=self.now)
                for v in views if v.info_hash not in held]
        self.s.add_all(rows)
        self.s.flush()
        for row in rows:
            emit(self.s, DownloadEvent.ADOPTED, f"torrent {row.info_hash} ({row.name}) was added to our category by "
                 f"hand: followed as download {row.id}", download_id=row.id)
        self.report.adopted += len(rows)
        return rows

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
        for row in fx.readd:
            self._readd(row)

    def _readd(self, row: Download) -> None:
        data = grabs.torrent_bytes(row)
        assert data is not None and row.info_hash is not None
        self.client.add_torrent(data, info_hash=row.info_hash, category=row.category or "", tags=list(row.tags),
                                save_path=row.save_path or "")
        self.report.calls += 1
        self.report.readded += 1
        row.error = (f"{READDED} at {self.now.isoformat()}: it vanished from qBittorrent "
                     "with its files still on disk")
        emit(self.s, DownloadEvent.READDED, f"download {row.id} ({row.name or row.title}) vanished from "
             "qBittorrent with its files still on disk: re-added from the stored .torrent", download_id=row.id)

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


def _put(row: Download, **values: Any) -> bool:
    """Set the fields that differ; True if any did (unchanged rows are not written)."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _files_exist(row: Download) -> bool:
    """The content is still on disk (the worker sees qBittorrent's paths: same host, or the same mount)."""
    if row.content_path:
        return Path(row.content_path).exists()
    return bool(row.save_path and row.name) and (Path(row.save_path or "") / (row.name or "")).exists()
