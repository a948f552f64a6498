"""Publishing ledgered jobs to Redis, by task name, only after the ledger row is committed.

A message carries ``job_id``, ``gen`` and ``seq`` and nothing else: the worker reads arguments
from the ledger. ``seq`` names one dispatch of one generation; the ledger remembers the current
one, so any older message (a visibility-timeout redelivery, a message the sweeper replaced) is
recognised as stale and does nothing.

Every published task id is also added to the *witness* set in Redis and removed when a worker
consumes it. A job the ledger says is queued whose task id is not in the witness was lost by
Redis (a crash, a flush) or never published (Redis was down at commit): the sweeper publishes it
again. The witness lives in the same Redis as the queues, so it is lost exactly when they are.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from shared.engine.pools import pool_config
from shared.engine.wire import celery_message, queue_key
from shared.infra.redis_client import get_redis

log = logging.getLogger(__name__)

WITNESS_KEY = "mamc:dispatched"


@dataclass(frozen=True)
class Dispatch:
    job_id: uuid.UUID
    job_type: str
    queue: str
    gen: int
    seq: int
    countdown: float | None = None
    expires: float | None = None

    @property
    def task_id(self) -> str:
        return task_id(self.job_id, self.gen, self.seq)

    @property
    def kwargs(self) -> dict[str, Any]:
        return {"job_id": str(self.job_id), "gen": self.gen, "seq": self.seq}


def task_id(job_id: uuid.UUID | str, gen: int, seq: int) -> str:
    return f"{job_id}.{gen}.{seq}"


def message(dispatch: Dispatch) -> bytes:
    """The wire form of ``dispatch`` (see shared/engine/wire.py for why it is built by hand)."""
    cfg = pool_config(dispatch.queue)
    return celery_message(task=dispatch.job_type, task_id=dispatch.task_id, queue=dispatch.queue,
                          kwargs=dispatch.kwargs, time_limit=cfg.time_limit, soft_time_limit=cfg.soft_time_limit,
                          countdown=dispatch.countdown, expires=dispatch.expires)


def queue_commands(pipe: Any, dispatch: Dispatch) -> None:
    """Add the witness entry and the message to ``pipe`` (a sync or an asyncio Redis pipeline:
    commands are buffered the same way; the caller executes it as one MULTI/EXEC)."""
    pipe.sadd(WITNESS_KEY, dispatch.task_id)
    pipe.lpush(queue_key(dispatch.queue), message(dispatch))


def publish(dispatch: Dispatch) -> bool:
    """Send one message; False (logged) when Redis is unreachable: the sweeper will retry it.

    The witness entry and the message go in one MULTI/EXEC, so no worker can consume (and
    forget) the message before its witness entry exists.
    """
    try:
        pipe = get_redis().pipeline(transaction=True)
        queue_commands(pipe, dispatch)
        pipe.execute()
    except Exception as exc:  # noqa: BLE001 - any broker failure leaves the job for the sweeper
        log.warning("publish of %s (%s) failed, the sweeper will re-publish: %s", dispatch.task_id,
                    dispatch.job_type, type(exc).__name__)
        return False
    return True


def consumed(client: Any, task_id_: str) -> None:
    """Forget a message in the witness once a worker has it (any outcome)."""
    client.srem(WITNESS_KEY, task_id_)


# -- enqueue after commit -------------------------------------------------------------------------

_OUTBOX = "mamc_outbox"


def after_commit(session: Session, dispatch: Dispatch) -> None:
    """Buffer ``dispatch`` on the session; it is published only if the transaction commits."""
    session.info.setdefault(_OUTBOX, []).append(dispatch)


@event.listens_for(Session, "after_commit")
def _publish_outbox(session: Session) -> None:
    pending: list[Dispatch] = session.info.pop(_OUTBOX, [])
    for dispatch in pending:
        publish(dispatch)


@event.listens_for(Session, "after_rollback")
def _drop_outbox(session: Session) -> None:
    session.info.pop(_OUTBOX, None)
