"""The ledgered task: every job runs through this one gate.

A delivery is claimed in the ledger first (so duplicates, stale messages and expired jobs do
nothing), then the body runs with heartbeats on, then the outcome is recorded under the job's
lock and classified by the pool's retry policy: transient errors retry with backoff and jitter,
the rest are final, a rate-limit wait re-schedules without counting an attempt. Celery sees the
same outcome (SUCCESS/RETRY/FAILURE) so Flower's live view agrees with the ledger.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from celery import Task
from celery.exceptions import Retry, SoftTimeLimitExceeded
from pydantic import ValidationError

from shared.engine import events, gates, ledger
from shared.engine.dispatch import consumed
from shared.engine.jobtypes import ArgsT, JobType
from shared.engine.pools import RetryPolicy, pool_config
from shared.engine.ratelimit import RateLimiter
from shared.infra.db import autocommit, session_scope
from shared.infra.errors import Cancelled, Parked, RateLimited
from shared.infra.redis_client import get_redis
from shared.infra.settings import get_settings
from workers.context import JobContext
from workers.heartbeat import JobHeartbeat

log = logging.getLogger(__name__)

Body = Callable[[JobContext[ArgsT]], Any]

_heartbeat: JobHeartbeat | None = None
_limiter: RateLimiter | None = None


def heartbeat() -> JobHeartbeat:
    global _heartbeat
    if _heartbeat is None:
        _heartbeat = JobHeartbeat(get_settings().heartbeat_interval)
    return _heartbeat


def limiter(redis: Any) -> RateLimiter:
    global _limiter
    if _limiter is None:
        _limiter = RateLimiter(redis, get_settings().limits())
    return _limiter


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe(exc: BaseException) -> str:
    """One readable line for the ledger; exception messages are written never to carry secrets."""
    return f"{type(exc).__name__}: {exc}"[:2000]


class LedgerTask(Task):
    abstract = True
    acks_late = True
    reject_on_worker_lost = True
    job: ClassVar[JobType[Any]]
    body: Body[Any]
    rate_limit_key: Callable[[Any], str | None] | None = None

    def __call__(self, job_id: str, gen: int, seq: int) -> Any:
        settings = get_settings()
        jid = uuid.UUID(job_id)
        worker = ledger.Worker(name=str(self.request.hostname or "?"), host=socket.gethostname(), pid=os.getpid())
        redis = get_redis()
        # Forget the witness entry first: if the claim below fails (PostgreSQL down), the message is
        # acked and gone, and the sweeper must see it as lost and publish the job again.
        consumed(redis, self.request.id)
        with autocommit() as conn:
            fast = ledger.claim_fast(conn, jid, gen, seq, worker, attempt_cap=settings.attempt_cap)
        if fast is not None:
            events.emit(events.job_event(jid, "running", fast.type))  # committed: autocommit
            claim = ledger.Claim(fast)
        else:  # anything but the usual delivery is decided under the job's row lock
            with session_scope() as s:
                claim = ledger.claim(s, jid, gen, seq, worker, attempt_cap=settings.attempt_cap,
                                     stale_after=settings.heartbeat_stale_after, pid_alive=pid_alive)
        if claim.claimed is None:
            log.info("job %s: no-op delivery (%s)", job_id, claim.noop)
            return {"noop": claim.noop}
        c = claim.claimed
        job_type, attempt_id, attempt_no = c.type, c.attempt_id, c.attempts
        try:
            args = self.job.args.model_validate(c.args)
        except ValidationError as exc:
            self._record_failure(jid, attempt_id, "failed", f"invalid arguments in ledger: {exc}")
            raise
        ctx = JobContext(job_id=jid, job_type=job_type, generation=c.generation, attempt=attempt_no,
                         correlation_id=c.correlation_id, phase=c.phase, args=args, limiter=limiter(redis),
                         lifetime_attempts=c.lifetime_attempts,
                         worker_host=worker.host, worker_pid=worker.pid)
        hb = heartbeat()
        hb.running(jid, attempt_id)
        try:
            result = self._run(ctx)
        except RateLimited as exc:
            return self._defer(jid, attempt_id, exc, settings.max_countdown)
        except Parked as exc:
            return self._park(jid, attempt_id, exc)
        except Cancelled:
            with session_scope() as s:
                ledger.fail(s, jid, attempt_id, state="cancelled", error="cancelled by operator")
            return {"cancelled": True}
        except BaseException as exc:
            self._on_error(jid, attempt_id, attempt_no, exc, settings.max_countdown)
            raise
        finally:
            hb.idle()
        if not ctx.children and not c.has_parent:
            with autocommit() as conn:
                outcome = ledger.succeed_orphan(conn, jid, attempt_id, result)
            if outcome == "succeeded":
                events.emit(events.job_event(jid, "succeeded", job_type))  # committed: autocommit
        else:
            with session_scope() as s:
                outcome = ledger.succeed(s, jid, attempt_id, result, ctx.children)
        log.info("job %s %s attempt %d: %s", job_type, job_id, attempt_no, outcome)
        return result

    def _run(self, ctx: JobContext[Any]) -> Any:
        key = self.rate_limit_key(ctx.args) if self.rate_limit_key else None
        if key:
            ctx.check_throttle(key)
            wait = ctx.limiter.try_acquire(key)
            if wait > 0:
                raise RateLimited(key, wait)
        return type(self).body(ctx)

    def _defer(self, jid: uuid.UUID, attempt_id: int, exc: RateLimited, max_countdown: float) -> Any:
        wait = exc.retry_after or 1.0
        with session_scope() as s:
            ledger.defer(s, jid, attempt_id, wait=wait, max_countdown=max_countdown)
        log.info("job %s waits %.2fs for rate limit %s (not an attempt)", jid, wait, exc.key)
        return {"deferred": exc.key, "seconds": round(wait, 3)}

    def _park(self, jid: uuid.UUID, attempt_id: int, exc: Parked) -> Any:
        with session_scope() as s:
            outcome = gates.park(s, jid, attempt_id, gate=exc.gate, reason=describe(exc),
                                  still_closed=exc.still_closed)
        log.warning("job %s %s until %s opens (not an attempt): %s", jid, outcome, exc.gate, exc)
        return {"parked": exc.gate, "outcome": outcome}

    def policy(self) -> RetryPolicy:
        queue = self.request.delivery_info.get("routing_key") if self.request.delivery_info else None
        return pool_config(queue or self.queue).retry

    def _on_error(self, jid: uuid.UUID, attempt_id: int, attempt_no: int, exc: BaseException,
                  max_countdown: float) -> None:
        policy = self.policy()
        error = describe(exc)
        if isinstance(exc, SoftTimeLimitExceeded):
            self._record_failure(jid, attempt_id, "failed", "time limit exceeded: " + error)
            return
        if not policy.is_transient(exc):
            log.error("job %s failed (final): %s\n%s", jid, error, "".join(traceback.format_exception(exc)))
            self._record_failure(jid, attempt_id, "failed", error)
            return
        if attempt_no > policy.max_retries:
            self._record_failure(jid, attempt_id, "dead",
                                 f"retries exhausted after {attempt_no} attempts; last error: {error}")
            return
        delay = policy.delay(attempt_no, exc)
        with session_scope() as s:
            ledger.retry(s, jid, attempt_id, delay=delay, error=error, max_countdown=max_countdown)
        log.warning("job %s attempt %d failed (%s); retry in %.1fs", jid, attempt_no, error, delay)
        raise Retry(f"retry in {delay:.1f}s", exc=exc, when=delay) from exc

    def _record_failure(self, jid: uuid.UUID, attempt_id: int, state: str, error: str) -> None:
        with session_scope() as s:
            ledger.fail(s, jid, attempt_id, state=state, error=error)


def job_task(app: Any, job: JobType[ArgsT], *, rate_limit_key: Callable[[ArgsT], str | None] | None = None,
             ) -> Callable[[Body[ArgsT]], Body[ArgsT]]:
    """Register ``body(ctx) -> result`` as the task of declaration ``job`` (task name = job type).

    The body's context is typed by the declaration's argument model, so mypy checks it reads its own
    arguments; ``rate_limit_key(args)`` names a slot taken before the body runs (one of the
    declaration's throttle keys).
    """

    def decorate(body: Body[ArgsT]) -> Body[ArgsT]:
        attrs = {
            "name": job.name,
            "job": job,
            "body": staticmethod(body),
            "rate_limit_key": staticmethod(rate_limit_key) if rate_limit_key else None,
            "__doc__": body.__doc__,
            "typing": False,
        }
        task_cls = type(f"{body.__name__}_task", (LedgerTask,), attrs)
        app.register_task(task_cls())
        return body

    return decorate
