"""``/api/v1/pools``: live consumers, pause state, backlog, oldest waiting job; pause and resume.

Pausing is recorded in PostgreSQL (so a worker that starts later honours it) and broadcast to
running workers through Celery's control channel, which stops consumption without killing work
in progress — the way Immich pauses its queues.
"""

from __future__ import annotations

import logging
import time
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api.deps import get_session
from api.problems import Problem, documented
from api.schemas import OldestJob, PoolOut, WorkerOut
from shared.engine import events
from shared.engine.celery_app import publisher
from shared.engine.pools import QUEUES
from shared.engine.queue_stats import live_workers, queue_stats
from shared.infra.clock import utcnow
from shared.infra.redis_client import get_redis
from shared.models.jobs import Job, PoolState

log = logging.getLogger(__name__)
router = APIRouter(prefix="/pools", tags=["pools"])
SessionDep = Annotated[Session, Depends(get_session)]


def _check(pool: str) -> str:
    if pool not in QUEUES:
        raise Problem(404, "Pool not found", f"pools are {', '.join(QUEUES)}")
    return pool


def pools_view(session: Session) -> list[PoolOut]:
    redis = get_redis()
    stats = queue_stats(redis)
    workers = live_workers(redis)
    paused = dict(session.execute(select(PoolState.pool, PoolState.paused)).tuples().all())
    now = utcnow()
    out = []
    for pool in QUEUES:
        oldest = session.execute(
            select(Job.id, Job.type, func.coalesce(Job.not_before, Job.dispatched_at))
            .where(Job.queue == pool, Job.state.in_(("queued", "retrying")), Job.dispatched_at.is_not(None))
            .order_by(func.coalesce(Job.not_before, Job.dispatched_at))
            .limit(1)
        ).first()
        mine = [w for w in workers if w.get("pool") == pool]
        out.append(PoolOut(
            pool=pool,
            paused=bool(paused.get(pool, False)),
            live_consumers=sum(1 for w in mine if w.get("consuming")),
            workers=[WorkerOut(name=w["name"], host=w["host"], pid=w["pid"], concurrency=w["concurrency"],
                               consuming=bool(w.get("consuming")),
                               seen_seconds_ago=round(time.time() - float(w["seen"]), 1)) for w in mine],
            backlog=stats[pool].depth,
            oldest_message_age_seconds=stats[pool].oldest_age,
            oldest_waiting_job=OldestJob(id=oldest[0], type=oldest[1],
                                         waiting_seconds=max(0.0, (now - oldest[2]).total_seconds()))
            if oldest else None,
        ))
    return out


@router.get("", response_model=list[PoolOut])
def list_pools(session: SessionDep) -> list[PoolOut]:
    return pools_view(session)


def _set_paused(session: Session, pool: str, paused: bool) -> None:
    session.execute(insert(PoolState).values(pool=pool, paused=paused)
                    .on_conflict_do_update(index_elements=["pool"], set_={"paused": paused, "updated_at": func.now()}))
    session.commit()
    events.emit(events.pool_event(pool, paused))
    control = publisher().control
    names = [w["name"] for w in live_workers(get_redis()) if w.get("pool") == pool]
    if not names:
        return  # nobody to tell; workers read the flag when they start
    if paused:
        control.cancel_consumer(pool, destination=names, reply=True, timeout=2.0)
    else:
        control.add_consumer(pool, destination=names, reply=True, timeout=2.0)


@router.post("/{pool}/pause", response_model=PoolOut, responses=documented(404))
def pause(pool: str, session: SessionDep) -> PoolOut:
    _set_paused(session, _check(pool), True)
    return next(p for p in pools_view(session) if p.pool == pool)


@router.post("/{pool}/resume", response_model=PoolOut, responses=documented(404))
def resume(pool: str, session: SessionDep) -> PoolOut:
    _set_paused(session, _check(pool), False)
    return next(p for p in pools_view(session) if p.pool == pool)
