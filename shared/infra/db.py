"""Engines and sessions, created per process after fork, never at import.

Celery's prefork pool forks children from a parent that may already hold sockets; a pooled
connection shared across a fork corrupts both sides. So the engine is built lazily by
``engine()`` in whichever process first asks, and ``reset_after_fork()`` drops any inherited one.
``application_name`` carries the process role (api, worker:crawl...) into ``pg_stat_activity``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, MetaData, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from shared.infra.errors import ConfigError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


_engine: Engine | None = None
_engine_pid: int | None = None
_autocommit_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None
_role = "mamcrawler"


def set_role(role: str) -> None:
    """Name this process in pg_stat_activity (api, worker:crawl, beat...)."""
    global _role
    _role = role


def database_url() -> str:
    from shared.infra.settings import get_settings

    url = get_settings().database_url
    if not url:
        raise ConfigError("MAMC_DATABASE_URL is not set (or run everything with `mamcrawler up`)")
    return url


def engine() -> Engine:
    global _engine, _engine_pid, _sessionmaker, _autocommit_engine
    if _engine is None or _engine_pid != os.getpid():
        # Big enough for the API's threadpool under load: overflow connections are closed on
        # return, and reconnecting per request was measured as a visible share of its CPU.
        _engine = _new_engine(pool_size=20, max_overflow=20)
        _autocommit_engine = None
        _engine_pid = os.getpid()
        _sessionmaker = sessionmaker(_engine, expire_on_commit=False)
    return _engine


def _new_engine(**options: Any) -> Engine:
    made = create_engine(
        database_url(),
        pool_pre_ping=False,  # _ping_if_idle below: the same check, skipped for a connection just used
        pool_recycle=1800,
        connect_args={"application_name": f"mamc:{_role}", "connect_timeout": 5},
        **options,
    )
    event.listen(made, "checkout", _ping_if_idle)
    event.listen(made, "checkin", _stamp_checkin)
    return made


def autocommit_engine() -> Engine:
    """An engine whose connections are always in autocommit, for :func:`autocommit`.

    Why its own pool: switching a pooled connection into autocommit at checkout and back at
    checkin, and the rollback on return, were a third of the CPU of a one-statement write (122 →
    83 µs for a ``SELECT 1`` here), and the ledger makes three per job (claim, success, a probe's
    effect): the ledgered probe's throughput rose about 15 % (``bench.engine``). Here the connections
    stay in autocommit and the pool resets nothing on return. A transaction a block opened itself (a
    ``BEGIN`` sent through the driver) still ends with the block: closing the SQLAlchemy connection
    rolls back its implicit transaction, and psycopg sends that ROLLBACK only when one is open
    (``tests/integration/test_db_autocommit.py``).
    """
    global _autocommit_engine
    engine()  # a fork drops both engines together
    if _autocommit_engine is None:
        _autocommit_engine = _new_engine(isolation_level="AUTOCOMMIT", pool_reset_on_return=None,
                                         pool_size=5, max_overflow=20)
    return _autocommit_engine


#: A connection returned to the pool less than this long ago is handed out without a ping, as
#: HikariCP does (``aliveBypassWindowMs``, 500 ms): a worker claiming and finishing a job every
#: few milliseconds would otherwise pay a round trip per checkout, about a third of its ledger
#: cost. A server that died inside the window fails one statement, which SQLAlchemy turns into
#: invalidating the whole pool; the ledger's recovery paths absorb that one failure.
PING_AFTER_IDLE = 0.5


def _stamp_checkin(dbapi_connection: Any, record: Any) -> None:
    record.info["mamc_checkin"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    last = record.info.get("mamc_checkin")
    if last is not None and time.monotonic() - last < PING_AFTER_IDLE:
        return
    try:
        with dbapi_connection.cursor() as cur:
            cur.execute("SELECT 1")
        if not dbapi_connection.autocommit:
            dbapi_connection.rollback()
    except psycopg.OperationalError as exc:
        # the pool discards this connection and checks out (connects) another
        raise DisconnectionError(f"stale connection: {type(exc).__name__}") from exc


def reset_after_fork() -> None:
    """Forget the parent's engine without closing its sockets (they belong to the parent)."""
    _forget(close=False if _engine_pid != os.getpid() else None)


def dispose() -> None:
    """Close this process's pooled connections and forget its engines (the next use builds new
    ones): for whoever points the process at another database or server, as the tests do."""
    _forget(close=True)


def _forget(*, close: bool | None) -> None:
    """Drop both engines; ``close`` is passed to their ``dispose`` (None: not disposed)."""
    global _engine, _engine_pid, _sessionmaker, _autocommit_engine
    if close is not None:
        for made in (_engine, _autocommit_engine):
            if made is not None:
                made.dispose(close=close)
    _engine = None
    _autocommit_engine = None
    _engine_pid = None
    _sessionmaker = None


def session_factory() -> sessionmaker[Session]:
    engine()
    assert _sessionmaker is not None
    return _sessionmaker


@contextmanager
def session_scope() -> Iterator[Session]:
    """One unit of work: commit at the edge on success, roll back on any error."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def autocommit() -> Iterator[Connection]:
    """A connection in autocommit, for writes that are one statement (atomic by themselves).

    Why: a transaction costs two extra round trips (BEGIN, COMMIT) and the ledger's hot writes
    (claim a delivery, record a parentless success, a probe's effect) run once per job.
    """
    with autocommit_engine().connect() as conn:
        yield conn
