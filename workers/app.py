"""The Celery app every worker runs: tasks registered, signals wired, checks done at start-up."""

from __future__ import annotations

import logging
import os
import uuid
from typing import Any

from celery import signals
from sqlalchemy import select

from shared.engine.celery_app import make_celery
from shared.infra import db
from shared.infra.redis_client import get_redis
from shared.infra.settings import get_settings
from workers.catalogue import register_all
from workers.heartbeat import Presence
from workers.registry import check_registry

log = logging.getLogger(__name__)

app = make_celery()
register_all(app)

_presence: Presence | None = None


@signals.worker_process_init.connect
def _after_fork(**_: Any) -> None:
    db.reset_after_fork()


@signals.worker_init.connect
def _check(**_: Any) -> None:
    check_registry(app, get_settings())


@signals.task_revoked.connect
def _expired(request: Any = None, expired: bool = False, **_: Any) -> None:
    """An expired message is dropped by Celery before the task gate runs: settle it in the ledger
    (and forget its witness entry) now, instead of leaving the job ``queued`` for the sweeper."""
    if not expired or request is None or not request.id:
        return
    from shared.engine import ledger
    from shared.engine.dispatch import consumed

    job_id, gen, seq = (str(request.id).split(".") + ["", ""])[:3]
    consumed(get_redis(), str(request.id))
    try:
        jid, g, q = uuid.UUID(job_id), int(gen), int(seq)
    except ValueError:
        log.warning("expired message with a task id that is not ours: %s", request.id)
        return
    with db.session_scope() as s:
        if ledger.expire_delivery(s, jid, g, q):
            log.info("job %s expired in its queue before it could run: cancelled", jid)


@signals.worker_ready.connect
def _ready(sender: Any = None, **_: Any) -> None:
    """Honour a pause an operator set while this worker was down, then announce presence."""
    global _presence
    pool = os.environ.get("MAMC_WORKER_POOL")
    if not pool:
        return
    from shared.models.jobs import PoolState

    with db.session_scope() as s:
        paused = s.scalar(select(PoolState.paused).where(PoolState.pool == pool))
    if paused:
        log.warning("pool %s is paused: not consuming until resumed", pool)
        sender.cancel_task_queue(pool)
    _presence = Presence(get_redis(), pool, str(sender.hostname), int(app.conf.worker_concurrency or 1))
    _presence.consumer = sender
    _presence.beat()
    _presence.start()


@signals.worker_shutting_down.connect
def _leaving(**_: Any) -> None:
    if _presence is not None:
        _presence.stop()


def worker_name(pool: str) -> str:
    return f"{pool}-{uuid.uuid4().hex[:6]}@%h"
