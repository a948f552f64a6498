"""The one active beat: RedBeat's Redis lock, ledgered ticks, and the sweeper.

RedBeat keeps the schedule in Redis behind a lock, so a second beat started by mistake waits as
a standby (failover after ``MAMC_BEAT_LOCK_TIMEOUT``). Belt and braces: every tick is written to
the ledger with a ``schedule_key`` naming the tick (entry + the last run it follows), unique in
PostgreSQL, so even two beats that both believed they held the lock could not double a tick.

The lock holder also runs the sweeper every ``MAMC_SWEEP_INTERVAL`` seconds.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redbeat import RedBeatScheduler

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
    _last_sweep = 0.0

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
        interval: float = super().tick(*args, **kwargs)
        settings = get_settings()
        now = time.monotonic()
        if now - self._last_sweep >= settings.sweep_interval:
            self._last_sweep = now
            self.run_sweep()
        return min(interval, settings.sweep_interval)

    def run_sweep(self) -> None:
        try:
            with session_scope() as s:
                report = sweep(s, get_redis(), get_settings())
        except Exception as exc:  # noqa: BLE001 - a failed sweep is retried next tick; beat must live
            log.error("sweep failed (will retry next tick): %s: %s", type(exc).__name__, exc)
            return
        if report.total() or report.dead_lettered:
            log.info("sweep: %s", report)
