"""What a task body gets: its job's identity and typed arguments, and the few things it may do.

Task bodies stay thin (load, call a service, return a JSON result); this context is their only
handle on the ledger, so fan-out, cancellation checks and rate-limit slots all work the same way
in every pool. It is generic in the job's argument model: a body declared for ``LIBRARY_SYNC``
takes a ``JobContext[SyncArgs]`` and reads ``ctx.args.force`` with its real type.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Generic

from shared.engine import jobtypes
from shared.engine.jobtypes import ArgsT, UndeclaredThrottle
from shared.engine.ratelimit import RateLimiter
from shared.infra.db import session_scope
from shared.infra.errors import Cancelled
from shared.models.jobs import Job

log = logging.getLogger(__name__)


@dataclass
class JobContext(Generic[ArgsT]):
    job_id: uuid.UUID
    job_type: str
    generation: int
    attempt: int
    correlation_id: str
    phase: str | None
    args: ArgsT
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

    def checkpoint(self) -> None:
        """Raise :class:`Cancelled` if an operator cancelled this job while it ran."""
        with session_scope() as s:
            state = s.scalar(Job.__table__.select().with_only_columns(Job.state).where(Job.id == self.job_id))
        if state == "cancelled":
            raise Cancelled(f"job {self.job_id} was cancelled")

    def check_throttle(self, key: str) -> None:
        """Refuse a rate-limit key this job's declaration does not list (see ``JobType.throttle``)."""
        spec = jobtypes.get(self.job_type)
        if not spec.throttles_on(key):
            declared = ", ".join(spec.throttle) or "none"
            raise UndeclaredThrottle(
                f"job type {self.job_type} throttled on {key!r}, which its declaration does not list "
                f"(throttle: {declared}); add {key.split(':', 1)[0]!r} to its JobType's throttle keys")

    def throttle(self, key: str, *, max_wait: float = 5.0) -> None:
        """Take one slot of global rate limit ``key``; long waits re-schedule the job instead."""
        self.check_throttle(key)
        self.limiter.acquire(key, max_wait=max_wait)
