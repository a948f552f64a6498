"""The gateway's hot path: record a job and publish it, on the event loop, with no thread hop.

Why a second insert path beside ``ledger.create_job``: ``POST /api/v1/jobs`` has a budget of a
few milliseconds at 200 req/s on two cores, and the ORM session, the threadpool hop and
``send_task`` were most of it. The values come from the same ``ledger.new_job`` (validation,
routing, first dispatch), the INSERT is compiled once from the same table definition, and the
message is the same ``shared.engine.wire`` one, so the two paths cannot drift apart. Anything unusual
(a dedupe key, a conflict) goes back to the ledger's own path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, cast

from psycopg import OperationalError
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects.postgresql import insert, psycopg

from shared.engine.dispatch import Dispatch, queue_commands
from shared.engine.ledger import NewJob
from shared.models.jobs import Job

log = logging.getLogger(__name__)

_TABLE = cast(Table, Job.__table__)
_COLUMNS = ("id", "type", "queue", "args", "state", "generation", "dispatch_seq", "dispatched_at", "not_before",
            "expires_at", "correlation_id", "parent_id", "dedupe_key", "schedule_key")
# Python-side scalar defaults (attempts=0, ...) the ORM would fill in; server defaults stay in SQL.
_DEFAULTS: dict[str, Any] = {
    c.name: getattr(c.default, "arg", None) for c in _TABLE.c
    if c.default is not None and getattr(c.default, "is_scalar", False) and c.name not in _COLUMNS
}
_INSERT_SQL: str = (
    insert(_TABLE)
    .values({name: bindparam(name, type_=_TABLE.c[name].type) for name in _COLUMNS})
    .on_conflict_do_nothing()
    .returning(*_TABLE.c)
    .compile(dialect=psycopg.dialect())  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it unannotated
    .string
)


_SELECT_SQL: str = (
    select(_TABLE).where(_TABLE.c.id == bindparam("id", type_=_TABLE.c.id.type))
    .compile(dialect=psycopg.dialect())  # type: ignore[no-untyped-call]
    .string
)


class Row:
    """A returned jobs row with attribute access, as ``JobOut.of`` reads it."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None


async def insert_job(pool: AsyncConnectionPool[Any], new: NewJob,
                     distrust: Callable[[], None] = lambda: None) -> Row | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING *; None on a conflict (the caller falls back).

    A connection the pool handed out unchecked (``api/aio.py`` ``RecentUse``) may have died in a
    PostgreSQL restart since its last use: its statement fails with ``OperationalError`` and the
    pool drops it. Then ``distrust()`` makes the pool check every connection at checkout again, and
    the INSERT is asked once more, on a connection that answered its check. It is idempotent: the
    job's id is chosen here, so if the first one was committed before its connection died, the
    second conflicts on the id and the row is read back instead. A second failure is the caller's
    (a 503 problem).
    """
    params = {**_DEFAULTS, **new.values, "args": Jsonb(new.values["args"])}
    try:
        return await _insert(pool, params, read_back=False)
    except OperationalError as exc:
        log.info("a pooled connection failed (%s); the job is inserted again on a checked one",
                 type(exc).__name__)
        distrust()
        return await _insert(pool, params, read_back=True)


async def _insert(pool: AsyncConnectionPool[Any], params: dict[str, Any], *, read_back: bool) -> Row | None:
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(_INSERT_SQL, params)  # autocommit (api/aio.py): committed when it returns
        row = await cur.fetchone()
        if row is None and read_back:
            await cur.execute(_SELECT_SQL, {"id": params["id"]})
            row = await cur.fetchone()
    return Row(row) if row is not None else None


async def publish(redis: AsyncRedis[bytes], dispatch: Dispatch) -> bool:
    """Like ``shared.engine.dispatch.publish``; False (logged) when Redis is down: the sweeper re-publishes."""
    try:
        async with redis.pipeline(transaction=True) as pipe:
            queue_commands(pipe, dispatch)
            await pipe.execute()
    except Exception as exc:  # noqa: BLE001 - any broker failure leaves the job for the sweeper
        log.warning("publish of %s (%s) failed, the sweeper will re-publish: %s", dispatch.task_id,
                    dispatch.job_type, type(exc).__name__)
        return False
    return True
