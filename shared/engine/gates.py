"""Gates: jobs parked until an operator acts.

Some failures are not the job's and no retry can cure them: MAM answering 403 means the session
cookie is gone, and every MAM job would fail the same way until a person enters a new one. Such a
job raises :class:`shared.infra.errors.Parked`; the task base hands it to :func:`park`, which keeps
it ``waiting`` with ``parked_on`` set, holding no worker slot and no message, and counts no attempt
(a gate closed for days must never dead-letter anything). The gate's owner (for MAM,
:mod:`shared.crawl.session`) opens the gate and calls :func:`release` in one transaction, under
:func:`gate_lock`, which queues every parked job again.

A module of its own because it is one idea on top of the ledger's state machine: the ledger only
reads ``parked_on`` (a claim of a parked job is refused) and clears it when an operator cancels.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared.engine.ledger import lock_job, owns, redispatch, take_back
from shared.models.jobs import Job, JobAttempt


def gate_lock(session: Session, gate: str) -> None:
    """Serialise parking on ``gate`` with its release (a transaction-scoped advisory lock).

    The gate's owner takes it around "open the gate + release"; ``park`` takes it around "is it still
    closed? + park". Whichever commits second sees the other's effect, so no job parks after the
    release that should have freed it.
    """
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": "mamc:gate:" + gate})


def park(
    session: Session,
    job_id: uuid.UUID,
    attempt_id: int,
    *,
    gate: str,
    reason: str,
    still_closed: Callable[[Session], bool],
) -> str:
    """The running attempt stops and the job waits for ``gate`` (``waiting``, ``parked_on``), holding no
    worker slot and no message. Not an attempt: its row is removed and the counters are taken back,
    like a rate-limit wait, so a gate closed for days never dead-letters anything. If the gate opened
    in the meantime the job is simply queued again."""
    gate_lock(session, gate)
    job = lock_job(session, job_id)
    attempt = session.get(JobAttempt, attempt_id)
    if job is None or attempt is None:
        return "gone"
    if not owns(job, attempt):
        return job.state
    take_back(session, job, attempt)
    if not still_closed(session):
        job.state = "queued"
        redispatch(session, job)
        return "queued"
    job.state = "waiting"
    job.parked_on = gate
    job.error = reason
    job.not_before = None
    job.dispatched_at = None
    return "parked"


def release(session: Session, gate: str) -> int:
    """Queue again every job parked on ``gate`` (a new dispatch each, published after commit).

    Call it with :func:`gate_lock` held, in the transaction that opens the gate."""
    jobs = session.scalars(
        select(Job).where(Job.state == "waiting", Job.parked_on == gate).with_for_update()
    ).all()
    for job in jobs:
        job.state = "queued"
        job.parked_on = None
        job.error = None
        redispatch(session, job)
    return len(jobs)
