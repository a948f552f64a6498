"""Live events: a small message on Redis pub/sub after each committed job state change.

Who listens: the gateway's ``GET /api/v1/events`` (server-sent events), so the web UI updates
without polling. The ledger (PostgreSQL) stays the record; an event only says "job X is now in
state S, read it again". A missed event costs a stale row on a screen, never a job, so events are
best effort: published after the commit (a rolled-back change is never announced), by a
background thread per process, so a slow or unreachable Redis never blocks the commit path or a
worker (the queue is bounded; when it is full, events are dropped and counted).

Where changes come from: ORM changes of ``Job.state`` anywhere (the ledger, gates, the sweeper,
replay and cancel) are found by a flush listener; the ledger's Core statements (insert, the fast
claim, the one-statement success) call :func:`note` or :func:`emit` themselves. Domains announce
their own objects through :func:`note` with a ``key`` (``shared/download/live.py``,
``shared/imports/live.py``): one event per key per transaction, however often the object changed
in it, so a monitor cycle (one transaction) sends at most one event per download.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
import uuid
from typing import Any

import redis
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, object_session

from shared.infra.redis_client import get_redis
from shared.models.jobs import Job

log = logging.getLogger(__name__)

CHANNEL = "mamc:events"
_PENDING = "mamc_events"
_QUEUE_SIZE = 10_000
_BATCH = 500


def job_event(job_id: uuid.UUID | str, state: str, job_type: str | None = None,
              queue_name: str | None = None) -> dict[str, Any]:
    return {"kind": "job", "id": str(job_id), "state": state, "type": job_type, "queue": queue_name}


def pool_event(pool: str, paused: bool) -> dict[str, Any]:
    return {"kind": "pool", "pool": pool, "paused": paused}


class _Publisher:
    """One daemon thread per process (started on first use, again after a fork)."""

    def __init__(self) -> None:
        self.pid = 0
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue(_QUEUE_SIZE)
        self.dropped = 0
        self._warned = 0.0
        self._lock = threading.Lock()

    def put(self, item: dict[str, Any]) -> None:
        if self.pid != os.getpid():
            with self._lock:
                if self.pid != os.getpid():  # a forked child inherits no thread: start its own
                    self.queue = queue.Queue(_QUEUE_SIZE)
                    threading.Thread(target=self._run, name="mamc-events", daemon=True).start()
                    self.pid = os.getpid()
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        q = self.queue
        while True:
            batch = [q.get()]
            while len(batch) < _BATCH:
                try:
                    batch.append(q.get_nowait())
                except queue.Empty:
                    break
            self._send(batch)
            for _ in batch:
                q.task_done()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every event put so far has been sent (or dropped); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def _send(self, batch: list[dict[str, Any]]) -> None:
        payloads = [json.dumps(item, separators=(",", ":")) for item in batch]
        try:
            try:
                self._publish(payloads)
            except (redis.ConnectionError, redis.TimeoutError, OSError, ValueError):
                # One more go on a fresh connection: the pool drops a broken one, and a connection that
                # broke while it was being made (seen as ValueError "I/O operation on closed file")
                # should not cost a page its event.
                time.sleep(0.05)
                self._publish(payloads)
        except Exception as exc:  # noqa: BLE001 - best effort by design (module docstring): drop, say so once a minute
            self.dropped += len(batch)
            if time.monotonic() - self._warned > 60:
                self._warned = time.monotonic()
                log.warning("live events not published (%d dropped so far), Redis: %s", self.dropped,
                            type(exc).__name__)

    @staticmethod
    def _publish(payloads: list[str]) -> None:
        pipe = get_redis().pipeline(transaction=False)
        for payload in payloads:
            pipe.publish(CHANNEL, payload)
        pipe.execute()


_publisher = _Publisher()


def emit(item: dict[str, Any]) -> None:
    """Publish ``item`` soon, from the background thread; never blocks, never raises."""
    _publisher.put(item)


def wait_idle(timeout: float = 2.0) -> bool:
    """Block until this process's events are out. For whoever changes the process's settings under a
    running publisher (the tests switch databases and Redis servers between cases): an event sent
    while the settings are half changed would be dropped, or sent to the wrong server."""
    return _publisher.wait_idle(timeout)


def note(session: Session, item: dict[str, Any], *, key: str | None = None) -> None:
    """Publish ``item`` when ``session`` commits; forget it on rollback.

    With ``key``, a later note of the same key in this transaction replaces the earlier one (it
    keeps its place): one event per key, the last one noted.
    """
    pending: dict[object, dict[str, Any]] = session.info.setdefault(_PENDING, {})
    pending[key if key is not None else object()] = item


def note_change(row: object, item: dict[str, Any], key: str) -> None:
    """Publish ``item`` about ``row`` when the session holding ``row`` commits, once per ``key`` per
    transaction (:func:`note`). The domains' announcements go through here, so an event always
    travels with the change it reports; a row in no session has nothing to commit, and nothing is
    sent."""
    session = object_session(row)
    if session is not None:
        note(session, item, key=key)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _ctx: Any) -> None:
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, Job):
            continue
        state = inspect(obj)
        added = state.attrs.state.history.added
        if added and obj.id is not None:
            values = state.dict  # no attribute loads inside a flush
            note(session, job_event(obj.id, str(added[0]), values.get("type"), values.get("queue")))


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    for item in session.info.pop(_PENDING, {}).values():
        emit(item)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(_PENDING, None)
