"""The ledger's janitor, run by the one active beat every few seconds.

It makes recovery independent of Redis' visibility timeout (which is hours, to protect long
tasks): it publishes parked jobs when they fall due, re-publishes queued jobs whose message Redis
lost, re-runs jobs whose worker stopped heartbeating (process or host died), and prunes old
successes. Every step is idempotent, so a sweep that dies half-way is simply repeated.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from shared.engine import ledger
from shared.engine.dispatch import WITNESS_KEY, task_id
from shared.engine.wire import queue_key
from shared.infra.settings import Settings
from shared.models.jobs import Job, JobAttempt

log = logging.getLogger(__name__)
BATCH = 500
#: A queue's oldest messages read in one go to find waiting candidates (they are the oldest).
QUEUE_PEEK = 1_000
#: At most this many of a queue's oldest messages are read to prove a candidate's message gone.
#: Beyond it the candidate is left for a later sweep: the queue drains from that end, so a lost
#: message is found once its queue is shorter than this.
QUEUE_SCAN_CAP = 10_000


@dataclass
class SweepReport:
    parked_published: int = 0
    lost_republished: int = 0
    dead_workers_requeued: int = 0
    dead_lettered: int = 0
    pruned: int = 0
    details: list[str] = field(default_factory=list)

    def total(self) -> int:
        return self.parked_published + self.lost_republished + self.dead_workers_requeued + self.pruned


def unacked_ages(redis: Any) -> dict[str, float]:
    """Task id → seconds a message has been held unacked *past the time it was due*.

    A message is due when fetched, or at its ETA for a countdown. With prefetch 1 a worker claims
    what it fetches at once, so a queued job whose message is held past due plus a grace period
    is held by a connection that died (a Redis crash mid-fetch), not by a busy worker.
    """
    ages: dict[str, float] = {}
    now = time.time()
    index = dict(redis.zrange("unacked_index", 0, -1, withscores=True))
    if not index:
        return ages
    for tag, raw in redis.hgetall("unacked").items():
        try:
            message = json.loads(raw)[0]
            headers = message["headers"]
            tid = headers["id"]
        except (ValueError, KeyError, IndexError, TypeError):
            continue  # not a Celery message of ours; kombu's own restore handles it
        fetched = index.get(tag)
        if fetched is None:
            continue
        due = float(fetched)
        eta = headers.get("eta")
        if eta:
            try:
                due = max(due, datetime.fromisoformat(str(eta)).timestamp())
            except ValueError:
                due = float(fetched) + 300.0  # unreadable ETA: assume the longest countdown we publish
        ages[tid] = now - due
    return ages


def _message_task_id(raw: bytes) -> str | None:
    try:
        return str(json.loads(raw)["headers"]["id"])
    except (ValueError, KeyError, TypeError):
        return None  # not a Celery message of ours


def waiting_in_queue(redis: Any, queue: str, wanted: set[str]) -> set[str]:
    """Which task ids of ``wanted`` still have (or may have) their message in ``queue``'s list.

    Workers pop from the list's tail, so the oldest messages (and the sweeper's candidates, the
    oldest dispatches) are there: one read of the tail usually finds them all. Each read takes the
    messages and the length in one MULTI/EXEC, so it proves absence when it covered the whole
    list; a list longer than ``QUEUE_SCAN_CAP`` proves nothing and all of ``wanted`` are assumed
    waiting, until it drains.
    """
    key = queue_key(queue)
    for depth in (QUEUE_PEEK, QUEUE_SCAN_CAP):
        pipe = redis.pipeline(transaction=True)
        pipe.lrange(key, -depth, -1)
        pipe.llen(key)
        messages, length = pipe.execute()
        found = {tid for raw in messages if (tid := _message_task_id(raw)) in wanted}
        if found == wanted or length <= depth:
            return found
    return set(wanted)


def sweep(session: Session, redis: Any, settings: Settings) -> SweepReport:
    report = SweepReport()
    now = ledger.db_now(session)
    _publish_due_parked(session, now, settings, report)
    _republish_lost(session, redis, now, settings, report)
    _requeue_dead_workers(session, now, settings, report)
    _prune(session, now, settings, report)
    return report


def _publish_due_parked(session: Session, now: Any, settings: Settings, report: SweepReport) -> None:
    parked = session.scalars(
        select(Job)
        .where(Job.state.in_(("queued", "retrying")), Job.dispatched_at.is_(None),
               or_(Job.not_before.is_(None), Job.not_before <= now))
        .order_by(Job.not_before)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    for job in parked:
        ledger.redispatch(session, job, max_countdown=settings.max_countdown)
        report.parked_published += 1


def _republish_lost(session: Session, redis: Any, now: Any, settings: Settings, report: SweepReport) -> None:
    """Queued jobs whose message should have been taken by now and is neither queued nor held.

    The witness says a message was published and not yet taken; it does not prove the message
    still exists. A message a worker popped and never recorded as unacked (its connection or
    process died between the two, as in a Redis restart mid-fetch) is in no queue and no unacked
    hash while its witness entry stays: such a job is lost too, so a witnessed job is left alone
    only when its message is found in its queue or held unacked.
    """
    grace = timedelta(seconds=settings.lost_message_grace)
    candidates = session.scalars(
        select(Job)
        .where(Job.state.in_(("queued", "retrying")), Job.dispatched_at.is_not(None),
               Job.dispatched_at < now - grace,
               or_(Job.not_before.is_(None), Job.not_before < now - grace))
        .order_by(Job.dispatched_at)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    if not candidates:
        return
    ids = [task_id(j.id, j.generation, j.dispatch_seq) for j in candidates]
    present = redis.smismember(WITNESS_KEY, ids)
    ages = unacked_ages(redis) if any(present) else {}
    unseen = _witnessed_but_unseen(redis, candidates, ids, present, ages)
    stuck_after = settings.lost_message_grace
    for job, tid, in_witness in zip(candidates, ids, present, strict=True):
        if in_witness and tid not in unseen and ages.get(tid, 0.0) <= stuck_after:
            continue  # still waiting in its queue (a backlog or a paused pool is not a loss)
        if not in_witness:
            why = "lost from Redis"
        elif tid in unseen:
            why = "witnessed, but its message is in no queue and not held"
        else:
            why = "held unacked by a dead connection"
        redis.srem(WITNESS_KEY, tid)
        ledger.redispatch(session, job, max_countdown=settings.max_countdown)
        report.lost_republished += 1
        report.details.append(f"{job.id}: {why}")


def _witnessed_but_unseen(redis: Any, candidates: Sequence[Job], ids: list[str], present: list[Any],
                          ages: dict[str, float]) -> set[str]:
    """Task ids in the witness whose message is neither in its queue nor held unacked.

    The queues are read before unacked is read again: a message a worker takes meanwhile moves
    from the list to the hash and is seen in one of them. (A worker between its pop and its
    unacked write is not seen; calling that lost only costs a stale duplicate, which does nothing.)
    """
    by_queue: dict[str, set[str]] = {}
    for job, tid, in_witness in zip(candidates, ids, present, strict=True):
        if in_witness and tid not in ages:
            by_queue.setdefault(job.queue, set()).add(tid)
    unseen: set[str] = set()
    for queue, wanted in by_queue.items():
        unseen |= wanted - waiting_in_queue(redis, queue, wanted)
    if unseen:
        unseen -= set(unacked_ages(redis))
    return unseen


def _requeue_dead_workers(session: Session, now: Any, settings: Settings, report: SweepReport) -> None:
    stale = now - timedelta(seconds=settings.heartbeat_stale_after)
    jobs = session.scalars(
        select(Job)
        .where(Job.state == "running", or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < stale))
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    for job in jobs:
        attempt = session.get(JobAttempt, job.running_attempt_id) if job.running_attempt_id else None
        if attempt is not None:
            attempt.outcome = "lost"
            attempt.ended_at = now
            attempt.error = "no heartbeat: worker process or host died"
        job.running_attempt_id = None
        job.heartbeat_at = None
        if job.attempts >= settings.attempt_cap:
            ledger._finish(session, job, "dead",
                           error=f"attempt cap reached after {job.attempts} attempts; last worker died")
            report.dead_lettered += 1
            continue
        job.state = "queued"
        ledger.redispatch(session, job, max_countdown=settings.max_countdown)
        report.dead_workers_requeued += 1
        report.details.append(f"{job.id}: worker {attempt.worker if attempt else '?'} stopped heartbeating")


def _prune(session: Session, now: Any, settings: Settings, report: SweepReport) -> None:
    cutoff = now - timedelta(days=settings.job_retention_days)
    old = select(Job.id).where(Job.state == "succeeded", Job.finished_at < cutoff).limit(BATCH)
    result = session.execute(delete(Job).where(Job.id.in_(old)))
    report.pruned = int(getattr(result, "rowcount", 0) or 0)
