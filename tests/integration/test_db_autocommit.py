"""``shared.infra.db.autocommit``: its own pool of connections that stay in autocommit.

- a statement is committed as it returns (another connection sees it inside the block);
- nothing is reset on return, yet no transaction is ever left open on a pooled connection, even
  when a block began one through the driver and failed inside it;
- ``dispose()`` closes both engines' connections.
"""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from shared.infra import db


def _raw(conn: object) -> psycopg.Connection[object]:
    raw = conn.connection.driver_connection  # type: ignore[attr-defined]
    assert isinstance(raw, psycopg.Connection)
    return raw


def test_a_statement_is_committed_when_it_returns(settings_env: dict[str, str]) -> None:
    with db.autocommit() as conn:
        conn.execute(text("CREATE TABLE ac_probe (n int)"))
        conn.execute(text("INSERT INTO ac_probe VALUES (1)"))
        with db.session_scope() as other:  # another connection, another pool
            assert other.scalar(text("SELECT count(*) FROM ac_probe")) == 1
    with db.autocommit() as conn:
        conn.execute(text("DROP TABLE ac_probe"))


def test_no_transaction_outlives_its_block(settings_env: dict[str, str]) -> None:
    with db.autocommit() as conn:
        first = _raw(conn)
        assert first.autocommit
    with pytest.raises(RuntimeError), db.autocommit() as conn:
        assert _raw(conn) is first  # the pool hands the same connection out again
        conn.exec_driver_sql("BEGIN")
        conn.execute(text("SELECT 1"))
        assert first.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        raise RuntimeError("a failure inside an explicit transaction")
    with db.autocommit() as conn:
        assert _raw(conn) is first
        assert first.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert first.autocommit


def test_dispose_closes_both_pools(settings_env: dict[str, str]) -> None:
    with db.autocommit() as conn:
        ac = _raw(conn)
    with db.session_scope() as s:
        tx = _raw(s.connection())
    db.dispose()
    assert ac.closed and tx.closed
    with db.autocommit() as conn:  # and the next use builds a new engine
        assert conn.execute(text("SELECT 1")).scalar() == 1
