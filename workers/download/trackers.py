"""``download.trackers``: is each seed that owes time announced to a working tracker? (declared in
shared/download/monitor_jobs.py)

MAM counts a torrent's seeding time only while it is announced to the tracker, and the monitor's
one call a cycle cannot tell (``shared/download/tracker_checks.py``), so this job reads the tracker
list (``torrents/trackers``, one call per torrent) of the seeds whose obligation is not met, each
about every ``MAMC_TRACKER_CHECK_SECONDS``, at most ``MAMC_TRACKER_CHECKS_PER_CYCLE`` a run, never
checked first and then the oldest check. Each answer is kept on its download row with its time; the
monitor reads it there at its next cycle, and credits the seeding time only while the answer says
"working" and is fresh. The monitor itself asks only about the seeds with no fresh answer (one it
finds complete, whose history is credited at once on a fresh answer; one whose answer went stale
while the workers were down), so while this job keeps up a steady cycle stays one call.

Which seeds: rows the monitor last saw seeding (``downloads.state = seeding``). The calls are made
with no transaction open; each answer is written with a guard that keeps a newer one (the monitor's
own check of a torrent that just completed). A row the monitor holds locked waits for its cycle to
commit, which is short; the monitor skips a row locked here (``SKIP LOCKED``) and credits its time at
the next cycle.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from celery import Celery
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from shared.download import tracker_checks as trk
from shared.download.monitor_jobs import DOWNLOAD_TRACKERS
from shared.download.states import DownloadState, ObligationState
from shared.engine.jobtypes import NoArgs
from shared.infra.clock import utcnow
from shared.infra.db import session_scope
from shared.infra.errors import NotFound
from shared.infra.settings import get_settings
from shared.models.download import Download, Obligation
from workers.base import job_task
from workers.context import JobContext
from workers.download import monitor


def owing_seeds(session: Session) -> list[tuple[int, str, datetime | None]]:
    """(download id, info-hash, last check) of every row seeding with its obligation not met."""
    rows = session.execute(
        select(Download.id, Download.info_hash, Download.tracker_checked_at)
        .outerjoin(Obligation, Obligation.download_id == Download.id)
        .where(Download.state == DownloadState.SEEDING.value, Download.info_hash.is_not(None),
               or_(Obligation.state.is_(None), Obligation.state != ObligationState.MET.value))).all()
    return [(row.id, row.info_hash, row.tracker_checked_at) for row in rows if row.info_hash]


def store(session: Session, answers: dict[int, trk.TrackerCheck]) -> int:
    """Keep each answer (by download id) on its row unless a newer one is there already; returns how
    many were kept."""
    kept = 0
    for download_id, a in answers.items():
        result = session.execute(
            update(Download)
            .where(Download.id == download_id,
                   or_(Download.tracker_checked_at.is_(None), Download.tracker_checked_at < a.checked_at))
            .values(tracker_working=a.working, tracker_message=a.message, tracker_checked_at=a.checked_at))
        kept += int(getattr(result, "rowcount", 0) or 0)
    return kept


def download_trackers(ctx: JobContext[NoArgs]) -> dict[str, Any]:
    """One round: the due seeds' tracker lists read, the answers kept; the result says how far behind."""
    settings = get_settings()
    with session_scope() as s:
        seeds = owing_seeds(s)
    by_hash = {info_hash: download_id for download_id, info_hash, _ in seeds}
    waiting = trk.due([(info_hash, at) for _, info_hash, at in seeds], utcnow(),
                      check_s=settings.tracker_check_seconds, limit=len(seeds))
    answers: dict[int, trk.TrackerCheck] = {}
    no_news = gone = 0
    with monitor.client(lambda: ctx.throttle("qbit")) as client:
        for info_hash in waiting[:settings.tracker_checks_per_cycle]:
            try:
                check = trk.answered(client.tracker_status(info_hash), utcnow())
            except NotFound:  # removed since the monitor last looked: its next cycle says so
                gone += 1
                continue
            if check is None:
                no_news += 1  # first in line next run
                continue
            answers[by_hash[info_hash]] = check
    with session_scope() as s:
        kept = store(s, answers)
    return {"owing": len(seeds), "due": len(waiting), "checked": len(answers) + no_news + gone, "kept": kept,
            "not_working": sum(not a.working for a in answers.values()), "no_news": no_news, "gone": gone,
            "behind": max(0, len(waiting) - settings.tracker_checks_per_cycle)}


def register(app: Celery) -> None:
    job_task(app, DOWNLOAD_TRACKERS)(download_trackers)
