"""Liveness, in two grains.

``JobHeartbeat`` runs in each pool process and stamps ``jobs.heartbeat_at`` for the job that
process is running; the sweeper re-runs a job whose stamp goes stale (process or host died)
within about a minute, without waiting for Redis' hours-long visibility timeout.

``Presence`` runs in each worker's main process and keeps a short-lived Redis key per worker,
which is how the API counts live consumers per pool. It records whether the worker is actually
consuming its queue, because a worker can be alive yet consume nothing after a Redis blip.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

from sqlalchemy import func, update

from shared.infra.db import session_scope
from shared.models.jobs import Job

log = logging.getLogger(__name__)

PRESENCE_PREFIX = "mamc:worker:"


class JobHeartbeat:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._current: tuple[uuid.UUID, int] | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def running(self, job_id: uuid.UUID, attempt_id: int) -> None:
        self._ensure_thread()
        with self._lock:
            self._current = (job_id, attempt_id)

    def idle(self) -> None:
        with self._lock:
            self._current = None

    def _ensure_thread(self) -> None:
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._loop, name="job-heartbeat", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval)
            with self._lock:
                current = self._current
            if current is None:
                continue
            try:
                with session_scope() as s:
                    s.execute(
                        update(Job)
                        .where(Job.id == current[0], Job.running_attempt_id == current[1])
                        .values(heartbeat_at=func.now())
                    )
            except Exception as exc:  # noqa: BLE001 - a missed beat is retried next tick; the sweeper
                # only acts after several in a row, which is exactly the signal we want
                log.warning("heartbeat for job %s failed: %s", current[0], type(exc).__name__)


class Presence:
    """Publish ``mamc:worker:<pool>:<name>`` every few seconds with a TTL of three beats."""

    def __init__(self, redis: Any, pool: str, name: str, concurrency: int, interval: float = 5.0) -> None:
        self.redis = redis
        self.pool = pool
        self.name = name
        self.concurrency = concurrency
        self.interval = interval
        self.consumer: Any = None
        self._stop = threading.Event()
        self.started = time.time()

    @property
    def key(self) -> str:
        return f"{PRESENCE_PREFIX}{self.pool}:{self.name}"

    def consuming(self) -> bool:
        if self.consumer is None or self.consumer.task_consumer is None:
            return False
        return any(q.name == self.pool for q in self.consumer.task_consumer.queues)

    def beat(self) -> None:
        payload = {
            "pool": self.pool,
            "name": self.name,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "concurrency": self.concurrency,
            "consuming": self.consuming(),
            "started": self.started,
            "seen": time.time(),
        }
        self.redis.set(self.key, json.dumps(payload), ex=int(self.interval * 3))

    def start(self) -> None:
        threading.Thread(target=self._loop, name="presence", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        try:
            self.redis.delete(self.key)
        except Exception as exc:  # noqa: BLE001 - shutting down; the key expires by itself
            log.info("presence key not removed (%s); it expires in %ss", type(exc).__name__, self.interval * 3)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - Redis down: the key lapses, which is the truth
                log.warning("presence beat failed: %s", type(exc).__name__)
