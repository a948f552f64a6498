"""The job ledger's state machine: create, claim, finish, defer, cancel, replay.

Every transition happens in one PostgreSQL transaction holding the job row's lock, so two
deliveries of the same job (a redelivery after a kill, a sweeper re-publish racing the original)
cannot both run it: the claim admits exactly the current dispatch of the current generation.

States: queued → running → succeeded | failed | dead | retrying → running ...; a parent whose
children run is ``waiting`` (no worker slot held) and its last child completes it. ``failed`` is
a final, non-transient error; ``dead`` means retries or the attempt cap ran out (replayable).
A rate-limit wait leaves the job ``queued`` and counts no attempt (:func:`take_back`); parking on a
closed gate until an operator acts is :mod:`shared.engine.gates`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict, Unpack, cast

from psycopg.types.json import Jsonb
from sqlalchemy import Connection, Table, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Session

from shared.engine import events, jobtypes
from shared.engine.dispatch import Dispatch, after_commit
from shared.engine.routing import queue_for
from shared.infra.clock import utcnow
from shared.models.jobs import TERMINAL_STATES, Job, JobAttempt, JobProgress


def db_now(session: Session) -> datetime:
    """PostgreSQL's clock: heartbeats are stamped with it, so staleness is judged by it too
    (a host with a fast clock must not declare live jobs dead)."""
    value: datetime | None = session.scalar(select(func.now()))
    assert value is not None
    return value


def new_correlation_id() -> str:
    return uuid.uuid4().hex


# -- create ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    """``job`` is the ORM row for an existing job, or the inserted row's columns (same attribute names)."""

    job: Any
    created: bool


@dataclass(frozen=True)
class NewJob:
    """The jobs-table values of a job about to be created, and its first dispatch (None if parked)."""

    values: dict[str, Any]
    dispatch: Dispatch | None


class JobOptions(TypedDict, total=False):
    """How a job is created, beyond its type and arguments (see ``create_job``)."""

    dedupe_key: str | None
    schedule_key: str | None
    parent_id: uuid.UUID | None
    correlation_id: str | None
    expires_in: float | None
    delay: float
    max_countdown: float


def new_job(job_type: str, args: dict[str, Any] | None = None, **options: Unpack[JobOptions]) -> NewJob:
    """Validate ``args`` against the job type's schema and route it; one place for both insert paths
    (this module's, and the gateway's async one in api/enqueue.py)."""
    delay = options.get("delay", 0.0)
    expires_in = options.get("expires_in")
    correlation_id = options.get("correlation_id")
    spec = jobtypes.get(job_type)
    clean = spec.args.model_validate(args or {}).model_dump(mode="json")
    queue = queue_for(job_type, clean)
    now = utcnow()
    parked = delay > options.get("max_countdown", 300.0)
    job_id = uuid.uuid4()
    values: dict[str, Any] = {
        "id": job_id,
        "type": job_type,
        "queue": queue,
        "args": clean,
        "state": "queued",
        "generation": 1,
        "dispatch_seq": 0 if parked else 1,
        "dispatched_at": None if parked else now,
        "not_before": now + timedelta(seconds=delay) if delay > 0 else None,
        "expires_at": now + timedelta(seconds=expires_in) if expires_in else None,
        "correlation_id": correlation_id or new_correlation_id(),
        "parent_id": options.get("parent_id"),
        "dedupe_key": options.get("dedupe_key"),
        "schedule_key": options.get("schedule_key"),
    }
    dispatch = None if parked else Dispatch(job_id, job_type, queue, 1, 1, countdown=delay or None,
                                            expires=expires_in)
    return NewJob(values, dispatch)


def create_job(session: Session, job_type: str, args: dict[str, Any] | None = None,
               **options: Unpack[JobOptions]) -> Created:
    """Record intent and buffer its publication for after commit.

    ``dedupe_key`` makes a second request while the first is active return the first job
    (a second "sync library" is a no-op); ``schedule_key`` makes a beat tick unique forever.
    """
    new = new_job(job_type, args, **options)
    # Core, not ORM, on this path: it runs once per API request and ORM bookkeeping is most of its CPU.
    table = cast(Table, Job.__table__)
    stmt = insert(table).values(**new.values).on_conflict_do_nothing().returning(*table.c)
    job = session.execute(stmt).one_or_none()
    if job is None:
        existing = _existing(session, options.get("dedupe_key"), options.get("schedule_key"))
        if existing is None:  # the conflicting row finished between insert and select: try again
            return create_job(session, job_type, args, **options)
        return Created(existing, created=False)
    if new.dispatch is not None:
        after_commit(session, new.dispatch)
    events.note(session, events.job_event(job.id, "queued", job_type, job.queue))
    return Created(job, created=True)


def _existing(session: Session, dedupe_key: str | None, schedule_key: str | None) -> Job | None:
    if schedule_key is not None:
        found = session.scalar(select(Job).where(Job.schedule_key == schedule_key))
        if found is not None:
            return found
    if dedupe_key is not None:
        return session.scalar(
            select(Job).where(Job.dedupe_key == dedupe_key, Job.state.not_in(TERMINAL_STATES))
        )
    return None


def redispatch(session: Session, job: Job, *, delay: float = 0.0, max_countdown: float = 300.0) -> None:
    """Give ``job`` a new dispatch (any older message becomes stale) or park it if far off."""
    now = utcnow()
    job.not_before = now + timedelta(seconds=delay) if delay > 0 else None
    if delay > max_countdown:
        job.dispatched_at = None  # parked: the sweeper publishes it when due
        return
    job.dispatch_seq += 1
    job.dispatched_at = now
    after_commit(session, Dispatch(job.id, job.type, job.queue, job.generation, job.dispatch_seq,
                                   countdown=delay or None))


# -- claim ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Worker:
    name: str
    host: str
    pid: int


@dataclass(frozen=True)
class Claimed:
    """What a worker needs to run the job it claimed (plain values, usable after the commit)."""

    type: str
    generation: int
    attempts: int
    lifetime_attempts: int
    correlation_id: str
    phase: str | None
    args: dict[str, Any]
    attempt_id: int
    has_parent: bool = True  # unknown = assume a parent: only parentless jobs take the one-statement success


@dataclass(frozen=True)
class Claim:
    """The outcome of a delivery: either an attempt to run, or the reason it does nothing."""

    claimed: Claimed | None
    noop: str | None = None

    @property
    def attempt_id(self) -> int | None:
        return self.claimed.attempt_id if self.claimed else None


_FAST_CLAIM = text("""
WITH j AS (
  UPDATE jobs SET state = 'running', attempts = attempts + 1, lifetime_attempts = lifetime_attempts + 1,
         started_at = coalesce(started_at, now()), heartbeat_at = now(), not_before = NULL,
         running_attempt_id = nextval('job_attempts_id_seq'), updated_at = now()
   WHERE id = :job_id AND generation = :gen AND dispatch_seq = :seq AND state IN ('queued', 'retrying')
     AND (not_before IS NULL OR not_before <= now() + interval '2 seconds')
     AND (expires_at IS NULL OR expires_at >= now()) AND attempts < :cap
  RETURNING id, type, generation, attempts, lifetime_attempts, correlation_id, phase, args, running_attempt_id,
            parent_id
), a AS (
  INSERT INTO job_attempts (id, job_id, generation, number, worker, host, pid, started_at, outcome)
  SELECT running_attempt_id, id, generation, attempts, :worker, :host, :pid, now(), 'running' FROM j
  RETURNING id
)
SELECT j.type, j.generation, j.attempts, j.lifetime_attempts, j.correlation_id, j.phase, j.args, a.id,
       j.parent_id IS NOT NULL
  FROM j, a
""")


def claim_fast(conn: Connection, job_id: uuid.UUID, gen: int, seq: int, worker: Worker, *,
               attempt_cap: int) -> Claimed | None:
    """The usual delivery, claimed by one statement (atomic on its own, so it may run in autocommit
    and save the BEGIN/COMMIT round trips); None means "decide under the row lock" (``claim``)."""
    row = _fetch_one(conn, _FAST_CLAIM_SQL, {"job_id": job_id, "gen": gen, "seq": seq, "cap": attempt_cap,
                                             "worker": worker.name, "host": worker.host, "pid": worker.pid})
    return Claimed(*row) if row is not None else None


def _pyformat(stmt: Any) -> str:
    """A ``text()`` statement's SQL in the driver's own ``%(name)s`` style."""
    return re.sub(r"(?<!:):(\w+)", r"%(\1)s", str(stmt.text).replace("%", "%%"))


def _fetch_one(conn: Connection, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """Run one statement on the driver's connection under ``conn``, skipping SQLAlchemy's
    statement and result machinery: for the two ledger writes every job makes (claim, success),
    that machinery cost about as much CPU as the driver itself."""
    with conn.connection.driver_connection.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(sql, params)
        row: tuple[Any, ...] | None = cur.fetchone()
        return row


_FAST_CLAIM_SQL = _pyformat(_FAST_CLAIM)


def lock_job(session: Session, job_id: uuid.UUID) -> Job | None:
    return session.scalar(select(Job).where(Job.id == job_id).with_for_update())


def claim(
    session: Session,
    job_id: uuid.UUID,
    gen: int,
    seq: int,
    worker: Worker,
    *,
    attempt_cap: int,
    stale_after: float,
    pid_alive: Any,
) -> Claim:
    """Decide whether this delivery runs the job.

    The usual delivery (the current dispatch of a queued job) is claimed by one statement; every
    other case takes the job row's lock and is decided step by step below.
    """
    fast = claim_fast(session.connection(), job_id, gen, seq, worker, attempt_cap=attempt_cap)
    if fast is not None:
        events.note(session, events.job_event(job_id, "running", fast.type))
        return Claim(fast)
    job = lock_job(session, job_id)
    if job is None:
        return Claim(None, "unknown job (pruned or never committed)")
    if gen != job.generation or seq != job.dispatch_seq:
        return Claim(None, f"stale message (current dispatch {job.generation}.{job.dispatch_seq})")
    if job.state in TERMINAL_STATES:
        return Claim(None, f"duplicate delivery of a {job.state} job")
    if job.state == "waiting":
        return Claim(None, f"parked until {job.parked_on} opens" if job.parked_on else "waiting for children")
    now = db_now(session)
    if job.state == "running":
        attempt = session.get(JobAttempt, job.running_attempt_id) if job.running_attempt_id else None
        fresh = job.heartbeat_at is not None and (now - job.heartbeat_at).total_seconds() < stale_after
        owner_dead_here = attempt is not None and attempt.host == worker.host and not pid_alive(attempt.pid)
        if fresh and not owner_dead_here:
            return Claim(None, "already running elsewhere")
        if attempt is not None:
            _end_attempt(attempt, "lost", "worker process died or stopped heartbeating")
    elif job.not_before is not None and job.not_before > now + timedelta(seconds=2):
        return Claim(None, "delivered before its time; the sweeper re-publishes when due")
    if job.expires_at is not None and now > job.expires_at:
        _finish(session, job, "cancelled", error="expired before it could run")
        return Claim(None, "expired")
    if job.attempts >= attempt_cap:
        _finish(session, job, "dead", error=f"attempt cap reached: {job.attempts} deliveries without an "
                                            "outcome (the task keeps killing its worker?)")
        return Claim(None, "attempt cap reached")
    job.attempts += 1
    job.lifetime_attempts += 1
    job.state = "running"
    job.started_at = job.started_at or now
    job.heartbeat_at = now
    job.not_before = None
    attempt = JobAttempt(job_id=job.id, generation=job.generation, number=job.attempts, worker=worker.name,
                         host=worker.host, pid=worker.pid, outcome="running")
    session.add(attempt)
    session.flush()
    job.running_attempt_id = attempt.id
    return Claim(Claimed(job.type, job.generation, job.attempts, job.lifetime_attempts, job.correlation_id,
                         job.phase, dict(job.args), attempt.id, job.parent_id is not None))


# -- finish ---------------------------------------------------------------------------------------


def expire_delivery(session: Session, job_id: uuid.UUID, gen: int, seq: int) -> bool:
    """A worker dropped this delivery unrun because its message had expired (Celery revokes an
    expired message before any task code runs, so :func:`claim` never sees it): cancel the job if it
    is still waiting on that very dispatch and the ledger's own clock agrees it expired.

    Why: otherwise the row stays ``queued`` until the sweeper's grace, and a singleton type (every
    periodic job) cannot be enqueued again meanwhile: a busy pool lost its next beat ticks too.
    A delivery the ledger does not consider expired is left to the sweeper, which publishes it again.
    """
    job = lock_job(session, job_id)
    if job is None or job.state != "queued" or (job.generation, job.dispatch_seq) != (gen, seq):
        return False
    if job.expires_at is None or db_now(session) <= job.expires_at:
        return False
    _finish(session, job, "cancelled", error="expired before it could run")
    return True


def _end_attempt(attempt: JobAttempt, outcome: str, error: str | None = None) -> None:
    attempt.outcome = outcome
    attempt.ended_at = utcnow()
    attempt.error = error


def owns(job: Job, attempt: JobAttempt) -> bool:
    return job.state == "running" and job.running_attempt_id == attempt.id


def _finish(session: Session, job: Job, state: str, *, result: Any = None, error: str | None = None) -> None:
    job.state = state
    job.finished_at = utcnow()
    job.running_attempt_id = None
    job.heartbeat_at = None
    job.not_before = None
    if result is not None:
        job.result = result
    job.error = error
    if job.parent_id is not None:
        child_terminated(session, job)


def succeed(
    session: Session,
    job_id: uuid.UUID,
    attempt_id: int,
    result: Any,
    children: list[tuple[str, dict[str, Any], str | None]] | None = None,
) -> str:
    """Record success; with children the job waits for them instead (no slot held).

    The common case (no children) is two UPDATEs in one round of the transaction: this runs once
    per job, so it is where the ledger's overhead over bare Celery is decided.
    """
    if not children:
        return _succeed_leaf(session, job_id, attempt_id, result)
    job = lock_job(session, job_id)
    attempt = session.get(JobAttempt, attempt_id)
    if job is None or attempt is None:
        return "gone"
    _end_attempt(attempt, "succeeded")
    if job.state in TERMINAL_STATES:
        return job.state  # someone else finished it first (or it was cancelled): keep their outcome
    if children:
        for child_type, child_args, dedupe in children:
            create_job(session, child_type, child_args, parent_id=job.id, dedupe_key=dedupe,
                       correlation_id=job.correlation_id)
        job.state = "waiting"
        job.children_pending += len(children)
        job.running_attempt_id = None
        job.heartbeat_at = None
        job.result = result
        return "waiting"
    _finish(session, job, "succeeded", result=result)
    return "succeeded"


_SUCCEED_LEAF = text("""
WITH a AS (UPDATE job_attempts SET outcome = 'succeeded', ended_at = now() WHERE id = :attempt_id)
UPDATE jobs SET state = 'succeeded', finished_at = now(), updated_at = now(), result = :result, error = NULL,
       running_attempt_id = NULL, heartbeat_at = NULL, not_before = NULL
 WHERE id = :job_id AND state NOT IN ('succeeded', 'failed', 'dead', 'cancelled')
RETURNING parent_id, type, queue
""").bindparams(bindparam("result", type_=JSONB))


_SUCCEED_LEAF_SQL = _pyformat(_SUCCEED_LEAF)


def succeed_orphan(conn: Connection, job_id: uuid.UUID, attempt_id: int, result: Any) -> str:
    """Success of a job with no parent and no children: one statement, so autocommit is safe."""
    row = _fetch_one(conn, _SUCCEED_LEAF_SQL, {"attempt_id": attempt_id, "job_id": job_id, "result": Jsonb(result)})
    if row is None:
        return "already finished"
    assert row[0] is None, "succeed_orphan is for jobs without a parent"
    return "succeeded"


def _succeed_leaf(session: Session, job_id: uuid.UUID, attempt_id: int, result: Any) -> str:
    row = session.execute(_SUCCEED_LEAF, {"attempt_id": attempt_id, "job_id": job_id, "result": result}).first()
    if row is None:
        return "already finished"  # someone else finished it first (or it was cancelled): keep their outcome
    events.note(session, events.job_event(job_id, "succeeded", row[1], row[2]))
    if row[0] is not None:
        child = session.get(Job, job_id)
        assert child is not None
        child_terminated(session, child)
    return "succeeded"


def fail(session: Session, job_id: uuid.UUID, attempt_id: int, *, state: str, error: str) -> str:
    """Record a final outcome (``failed`` or ``dead``) for the attempt that owns the job."""
    job = lock_job(session, job_id)
    attempt = session.get(JobAttempt, attempt_id)
    if job is None or attempt is None:
        return "gone"
    _end_attempt(attempt, state, error)
    if not owns(job, attempt):
        return job.state
    _finish(session, job, state, error=error)
    return state


def retry(
    session: Session, job_id: uuid.UUID, attempt_id: int, *, delay: float, error: str, max_countdown: float
) -> str:
    job = lock_job(session, job_id)
    attempt = session.get(JobAttempt, attempt_id)
    if job is None or attempt is None:
        return "gone"
    _end_attempt(attempt, "retry", error)
    if not owns(job, attempt):
        return job.state
    job.state = "retrying"
    job.error = error
    job.running_attempt_id = None
    job.heartbeat_at = None
    redispatch(session, job, delay=delay, max_countdown=max_countdown)
    return "retrying"


def take_back(session: Session, job: Job, attempt: JobAttempt) -> None:
    """Undo the claim of ``attempt``: its row goes and the job's counters are taken back, so a wait
    (a rate limit, a closed gate) is never counted as an attempt and can never dead-letter a job."""
    session.delete(attempt)
    job.attempts -= 1
    job.lifetime_attempts -= 1
    job.running_attempt_id = None
    job.heartbeat_at = None


def defer(
    session: Session,
    job_id: uuid.UUID,
    attempt_id: int | None,
    *,
    wait: float,
    max_countdown: float,
) -> str:
    """A rate-limit wait: back to ``queued`` for when the slot opens; no attempt is counted."""
    job = lock_job(session, job_id)
    if job is None:
        return "gone"
    if attempt_id is not None:
        attempt = session.get(JobAttempt, attempt_id)
        if attempt is None or not owns(job, attempt):
            return job.state
        take_back(session, job, attempt)
    elif job.state in TERMINAL_STATES:
        return job.state
    job.state = "queued"
    job.rate_limit_waits += 1
    redispatch(session, job, delay=wait, max_countdown=max_countdown)
    return "queued"


# -- parents and children -------------------------------------------------------------------------


def child_terminated(session: Session, child: Job) -> None:
    """Count a finished child on its parent; the last one completes (or finalises) the parent."""
    assert child.parent_id is not None
    failed = 0 if child.state == "succeeded" else 1
    row = session.execute(
        update(Job)
        .where(Job.id == child.parent_id, Job.state == "waiting")
        .values(children_pending=Job.children_pending - 1, children_failed=Job.children_failed + failed)
        .returning(Job.children_pending)
    ).first()
    if row is None or row[0] > 0:
        return
    parent = lock_job(session, child.parent_id)
    if parent is None or parent.state != "waiting":
        return
    session.refresh(parent)
    spec = jobtypes.get(parent.type)
    if spec.finalize and parent.phase != "finalize":
        parent.phase = "finalize"
        parent.state = "queued"
        redispatch(session, parent)
        return
    summary = {"children_failed": parent.children_failed}
    result = {**(parent.result or {}), **summary} if isinstance(parent.result, dict) else summary
    if parent.children_failed:
        _finish(session, parent, "failed", result=result,
                error=f"{parent.children_failed} child job(s) did not succeed")
    else:
        _finish(session, parent, "succeeded", result=result)


# -- operator actions -----------------------------------------------------------------------------


class TransitionRefused(ValueError):
    """The operator asked for a transition the job's state does not allow."""


def cancel(session: Session, job: Job) -> Job:
    if job.state in TERMINAL_STATES:
        raise TransitionRefused(f"job is already {job.state}")
    was_waiting = job.state == "waiting"
    job.parked_on = None
    _finish(session, job, "cancelled", error="cancelled by operator")
    if was_waiting:
        for child in session.scalars(
            select(Job).where(Job.parent_id == job.id, Job.state.not_in(TERMINAL_STATES)).with_for_update()
        ):
            child.state = "cancelled"
            child.finished_at = utcnow()
            child.error = "parent cancelled"
    return job


def replay(session: Session, job: Job) -> Job:
    """Run a failed or dead job again as a new generation (old messages become stale)."""
    if job.state not in ("failed", "dead"):
        raise TransitionRefused(f"only failed or dead jobs can be retried; this one is {job.state}")
    job.generation += 1
    job.dispatch_seq = 0
    job.attempts = 0
    job.state = "queued"
    job.error = None
    job.result = None
    job.phase = None
    job.finished_at = None
    job.children_pending = 0
    job.children_failed = 0
    redispatch(session, job)
    return job


# -- progress -------------------------------------------------------------------------------------


def report_progress(session: Session, root_id: uuid.UUID, contributor_id: uuid.UUID, *, done: int | None = None,
                    total: int | None = None) -> None:
    """Set one contributor's share of ``root_id``'s progress and refresh the root's totals.

    Absolute, not incremental: a redelivered child reports the same numbers again.
    """
    values: dict[str, Any] = {"root_id": root_id, "contributor_id": contributor_id}
    updates: dict[str, Any] = {}
    if done is not None:
        values["done"] = updates["done"] = done
    if total is not None:
        values["total"] = updates["total"] = total
    stmt = insert(JobProgress).values(**{"done": 0, "total": 0, **values})
    session.execute(stmt.on_conflict_do_update(index_elements=["root_id", "contributor_id"],
                                               set_={k: stmt.excluded[k] for k in updates})
                    if updates else stmt.on_conflict_do_nothing())
    session.execute(text("""
        UPDATE jobs SET progress_done = p.done, progress_total = p.total
          FROM (SELECT coalesce(sum(done), 0) AS done, coalesce(sum(total), 0) AS total
                  FROM job_progress WHERE root_id = :root) p
         WHERE jobs.id = :root"""), {"root": root_id})
