"""Liveness, readiness and Prometheus metrics: the only routes without an API key."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import func, select, text

from shared.engine.pools import QUEUES
from shared.engine.queue_stats import live_workers, queue_stats
from shared.infra.db import session_scope
from shared.infra.redis_client import get_redis
from shared.models.jobs import Job

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


class Alive(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    status: str = Field(description="ready, or not ready")
    checks: dict[str, str] = Field(description="dependency -> ok, or down: <error class>")


@router.get("/healthz", response_model=Alive)
def healthz() -> Alive:
    return Alive()


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz() -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        with session_scope() as s:
            s.execute(text("SELECT 1"))
        checks["postgresql"] = "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports what is down instead of failing
        checks["postgresql"] = f"down: {type(exc).__name__}"
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001 - same: the body says what is down
        checks["redis"] = f"down: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics")
def metrics() -> Response:
    """Computed per scrape from the ledger and Redis, so every API replica reports the same truth."""
    registry = CollectorRegistry()
    jobs = Gauge("mamc_jobs", "Jobs in the ledger by type and state", ["type", "state"], registry=registry)
    waits = Gauge("mamc_rate_limit_waits", "Rate-limit waits of active jobs, by type", ["type"], registry=registry)
    depth = Gauge("mamc_queue_depth", "Messages waiting in Redis per queue", ["queue"], registry=registry)
    age = Gauge("mamc_queue_oldest_message_age_seconds", "Age of the oldest waiting message", ["queue"],
                registry=registry)
    consumers = Gauge("mamc_pool_live_consumers", "Workers consuming each pool's queue", ["pool"],
                      registry=registry)
    up = Gauge("mamc_dependency_up", "1 when the dependency answered this scrape", ["dependency"],
               registry=registry)
    try:
        with session_scope() as s:
            rows: list[Any] = list(s.execute(select(Job.type, Job.state, func.count()).group_by(Job.type, Job.state)))
            wait_rows: list[Any] = list(s.execute(select(Job.type, func.sum(Job.rate_limit_waits))
                                                  .group_by(Job.type)))
        for jtype, state, count in rows:
            jobs.labels(jtype, state).set(count)
        for jtype, total in wait_rows:
            waits.labels(jtype).set(total or 0)
        up.labels("postgresql").set(1)
    except Exception as exc:  # noqa: BLE001 - a scrape must still answer with what it can
        log.warning("metrics: PostgreSQL unavailable: %s", type(exc).__name__)
        up.labels("postgresql").set(0)
    try:
        redis = get_redis()
        for q, stat in queue_stats(redis).items():
            depth.labels(q).set(stat.depth)
            age.labels(q).set(stat.oldest_age or 0.0)
        workers = live_workers(redis)
        for pool in QUEUES:
            consumers.labels(pool).set(sum(1 for w in workers if w.get("pool") == pool and w.get("consuming")))
        up.labels("redis").set(1)
    except Exception as exc:  # noqa: BLE001 - as above
        log.warning("metrics: Redis unavailable: %s", type(exc).__name__)
        up.labels("redis").set(0)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
