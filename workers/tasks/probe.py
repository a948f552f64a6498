"""``probe``: the operator's fire drill, runnable on any pool.

It fails transiently on its first ``fail_times`` attempts, counted across replays (so the pool's
retry policy, dead-lettering and a successful replay can be watched end to end), sleeps
``seconds`` in short steps (so a cancel lands within a second and a kill lands mid-run), then
records its effect idempotently and names the pool, host and pid.
"""

from __future__ import annotations

import time
from typing import Any

from celery import Celery
from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert

from shared.engine.jobtypes import PROBE, ProbeArgs
from shared.infra.db import autocommit
from shared.infra.errors import TransientError
from shared.models.probe import ProbeRun
from workers.base import job_task
from workers.context import JobContext

# Built once: constructing the statement per call cost more CPU than executing it.
_RECORD_EFFECT = (
    insert(ProbeRun)
    .values(job_id=bindparam("job_id"), generation=bindparam("generation"), pool=bindparam("pool"),
            host=bindparam("host"), pid=bindparam("pid"))
    .on_conflict_do_update(index_elements=["job_id", "generation"], set_={"executions": ProbeRun.executions + 1})
)


class PlannedFailure(TransientError):
    """The transient failure a probe was asked to raise."""


def probe(ctx: JobContext[ProbeArgs]) -> dict[str, Any]:
    args = ctx.args
    if ctx.lifetime_attempts <= args.fail_times:
        raise PlannedFailure(f"probe: planned transient failure {ctx.lifetime_attempts} of {args.fail_times}")
    deadline = time.monotonic() + args.seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.5))
        if left > 0.5:
            ctx.checkpoint()
    with autocommit() as conn:  # one statement: no transaction needed
        conn.execute(_RECORD_EFFECT, {"job_id": ctx.job_id, "generation": ctx.generation, "pool": args.pool.value,
                                      "host": ctx.worker_host, "pid": ctx.worker_pid})
    return {"pool": args.pool.value, "host": ctx.worker_host, "pid": ctx.worker_pid, "attempt": ctx.attempt,
            "slept": args.seconds}


def register(app: Celery) -> None:
    job_task(app, PROBE, rate_limit_key=lambda a: "probe")(probe)
