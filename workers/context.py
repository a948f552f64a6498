"""What a task body gets: its job's identity and arguments, and the few things it may do.

Task bodies stay thin (load, call a service, return a JSON result); this context is their only
handle on the ledger, so progress, fan-out, cancellation checks and rate-limit slots all work
the same way in every pool.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, update

from shared.db import session_scope
from shared.errors import Cancelled
from shared.jobtypes import JobArgs
from shared.models.jobs import Job
from shared.ratelimit import RateLimiter

log = logging.getLogger(__name__)


@dataclass
class JobContext:
    job_id: uuid.UUID
    job_type: str
    generation: int
    attempt: int
    correlation_id: str
    phase: str | None
    args: JobArgs
    limiter: RateLimiter
    worker_host: str
    worker_pid: int
    lifetime_attempts: int
    children: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)

    def spawn(self, job_type: str, args: dict[str, Any], *, dedupe_key: str | None = None) -> None:
        """Queue a child job, created when this attempt commits its success.

        The parent then waits (holding no worker slot) and its last child completes it.
        """
        self.children.append((job_type, args, dedupe_key))

    def progress(self, done: int, total: int | None = None) -> None:
        values: dict[str, Any] = {"progress_done": done}
        if total is not None:
            values["progress_total"] = total
        with session_scope() as s:
            s.execute(update(Job).where(Job.id == self.job_id).values(**values))

    def add_progress(self, done: int = 0, total: int = 0, *, job_id: uuid.UUID | None = None) -> None:
        """Atomically add to a job's counters (a child reporting into its parent's progress)."""
        with session_scope() as s:
            s.execute(
                update(Job)
                .where(Job.id == (job_id or self.job_id))
                .values(progress_done=Job.progress_done + done,
                        progress_total=func.coalesce(Job.progress_total, 0) + total if total else Job.progress_total)
            )

    def checkpoint(self) -> None:
        """Raise :class:`Cancelled` if an operator cancelled this job while it ran."""
        with session_scope() as s:
            state = s.scalar(Job.__table__.select().with_only_columns(Job.state).where(Job.id == self.job_id))
        if state == "cancelled":
            raise Cancelled(f"job {self.job_id} was cancelled")

    def throttle(self, key: str, *, max_wait: float = 5.0) -> None:
        """Take one slot of global rate limit ``key``; long waits re-schedule the job instead."""
        self.limiter.acquire(key, max_wait=max_wait)
