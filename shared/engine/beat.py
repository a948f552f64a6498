"""The one active beat: RedBeat's Redis lock, ledgered ticks, and the sweeper.

RedBeat keeps the schedule in Redis behind a lock, so a second beat started by mistake waits as
a standby (failover after ``MAMC_BEAT_LOCK_TIMEOUT``). Belt and braces: every tick is written to
the ledger with a ``schedule_key`` naming the tick (entry + the last run it follows), unique in
PostgreSQL, so even two beats that both believed they held the lock could not double a tick.

The lock holder also runs the sweeper every ``MAMC_SWEEP_INTERVAL`` seconds.

The beat outlives Redis trouble. RedBeat's own tick extends the lock and lets any error escape,
and Celery's beat exits on it: a Redis that came back empty (FLUSHALL, no persistence, a lost
disk) or that was down past the lock's expiry raised ``LockNotOwnedError``, a connection error
raised ``ConnectionError``, and the beat died with the sweeper inside it, so every job whose
message Redis had lost stayed ``queued`` for good. Now a tick that finds the lock gone takes it
again if it is free (and reinstalls the schedule, which lived in the same Redis), stays a standby
if another beat took it, and a tick that cannot reach Redis is skipped and retried.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redbeat import RedBeatScheduler
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT
from redbeat.schedulers import get_redis as redbeat_redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockNotOwnedError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.engine import jobtypes, ledger
from shared.engine.sweeper import sweep
from shared.infra.db import session_scope
from shared.infra.redis_client import get_redis
from shared.infra.settings import get_settings

log = logging.getLogger(__name__)


def tick_key(name: str, last_run_at: Any, every: float) -> str:
    """Names one tick: the entry and the run it follows.

    An entry with no last run (first start, or RedBeat's state lost with Redis) is keyed by its
    period slot instead, so it neither collides with an old first tick nor doubles a new one.
    """
    if last_run_at is None:
        return f"beat:{name}:first:{int(time.time() // max(1.0, every))}"
    return f"beat:{name}:{last_run_at.timestamp():.3f}"


class LedgerScheduler(RedBeatScheduler):  # type: ignore[misc]  # redbeat is untyped (Any)
    lock: Any = None  # RedBeat's redis-py Lock, set by its beat_init handler (None if that failed)
    _last_sweep = 0.0
    # Install the schedule again on the first tick that holds the lock: a standby that waited for
    # the lock, or a beat that took a vanished lock again, may find it lost with Redis' data.
    _schedule_lost = True
    _standby = False  # lost the lock to another beat (logged once, not every tick)

    def apply_async(self, entry: Any, producer: Any = None, advance: bool = True, **kwargs: Any) -> Any:
        every = entry.schedule.run_every.total_seconds() if hasattr(entry.schedule, "run_every") else 60.0
        key = tick_key(entry.name, entry.last_run_at, every)
        entry = self.reserve(entry) if advance else entry
        settings = get_settings()
        expires = (entry.options or {}).get("expires")
        with session_scope() as s:
            created = ledger.create_job(s, entry.task, dict(entry.kwargs or {}), schedule_key=key,
                                        dedupe_key=jobtypes.get(entry.task).dedupe_key(),
                                        expires_in=expires, max_countdown=settings.max_countdown)
            job_id = created.job.id
        log.info("beat: %s tick %s -> job %s%s", entry.name, key, job_id, "" if created.created else " (exists)")
        return None

    def tick(self, *args: Any, **kwargs: Any) -> float:
        settings = get_settings()
        try:
            if self.lock_key and self.lock is None and not self._take_lock("no lock after start-up"):
                return float(self.max_interval)  # RedBeat's start-up acquire failed (Redis was down)
            if self._schedule_lost:
                self.setup_schedule()
                self._schedule_lost = False
            try:
                interval: float = super().tick(*args, **kwargs)
            except LockNotOwnedError:
                if not self._take_lock("the beat lock is gone (Redis came back empty, or it expired)"):
                    return float(self.max_interval)  # a standby now: another beat holds it
                return 0.0  # ours again: tick at once
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # Nobody can take the lock while Redis is unreachable, and a sweep could not publish.
            log.warning("beat: Redis unreachable, tick skipped (will retry): %s", type(exc).__name__)
            return float(min(self.max_interval, settings.sweep_interval))
        now = time.monotonic()
        if now - self._last_sweep >= settings.sweep_interval:
            self._last_sweep = now
            self.run_sweep()
        return min(interval, settings.sweep_interval)

    def _take_lock(self, why: str) -> bool:
        """Take the beat lock if it is free; True when this beat now holds it.

        The lock is a ``SET NX`` with a fresh token, so of several beats that find it gone exactly
        one gets it; the others stay standbys and try again on their next tick. The new holder
        reinstalls the static schedule on its next tick (a wiped Redis lost it with the lock;
        entries still there keep their last run) and sweeps at once, so jobs whose messages Redis
        lost are published again without waiting for a sweep interval.
        """
        if self.lock is None:
            client = redbeat_redis(self.app)
            lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
            lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)  # as RedBeat's start-up does
            self.lock = lock
        if not self.lock.acquire(blocking=False):
            if not self._standby:
                log.warning("beat: %s and another beat holds it: standing by", why)
            self._standby = True
            return False
        log.warning("beat: %s: taken; reinstalling the schedule and sweeping now", why)
        self._standby = False
        self._schedule_lost = True
        self._last_sweep = 0.0
        return True

    def run_sweep(self) -> None:
        try:
            with session_scope() as s:
                report = sweep(s, get_redis(), get_settings())
        except Exception as exc:  # noqa: BLE001 - a failed sweep is retried next tick; beat must live
            log.error("sweep failed (will retry next tick): %s: %s", type(exc).__name__, exc)
            return
        if report.total() or report.dead_lettered:
            log.info("sweep: %s", report)
