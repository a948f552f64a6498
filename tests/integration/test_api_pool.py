"""The gateway's async connection pool (``api/aio.py`` ``RecentUse``), against a real PostgreSQL.

- a connection back from a request moments ago goes out again without the checkout round trip;
  one idle for longer is checked;
- a connection that died in a PostgreSQL restart since its last use costs no request: its
  statement fails, every connection is distrusted, and the job is inserted once, on a checked one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import func, select

from api.app import create_app
from shared.devstack.postgres_server import EmbeddedPostgres
from shared.infra.db import session_scope
from shared.models.jobs import Job

PROBE = {"type": "probe", "args": {"pool": "crawl"}}


@pytest.fixture
def client(settings_env: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as c:  # runs the lifespan: the async paths
        yield c


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the checkout round trips the pool makes."""
    made: list[int] = []
    real = AsyncConnectionPool.check_connection

    async def counted(conn: Any) -> None:
        made.append(1)
        await real(conn)

    monkeypatch.setattr(AsyncConnectionPool, "check_connection", staticmethod(counted))
    return made


def test_a_connection_just_returned_goes_out_unchecked(client: TestClient, api_key: str,
                                                       checks: list[int]) -> None:
    recency = client.app.state.aio.recency  # type: ignore[attr-defined]
    for _ in range(20):  # one after another: the pool's connections in turn, each back and out again
        assert client.post("/api/v1/jobs", headers={"X-Api-Key": api_key}, json=PROBE).status_code == 202
    assert 1 <= len(checks) <= 4, "only each connection's first checkout is checked (the pool keeps 4)"
    recency.recent_s = 0.0  # every connection now counts as idle a while
    before = len(checks)
    for _ in range(3):
        assert client.post("/api/v1/jobs", headers={"X-Api-Key": api_key}, json=PROBE).status_code == 202
    assert len(checks) - before == 3


def test_a_connection_dead_since_its_last_use_costs_no_request(client: TestClient, api_key: str,
                                                              pg_server: EmbeddedPostgres, checks: list[int],
                                                              caplog: pytest.LogCaptureFixture) -> None:
    client.app.state.aio.recency.recent_s = 3600.0  # type: ignore[attr-defined]  # never checked as recent
    for _ in range(3):
        assert client.post("/api/v1/jobs", headers={"X-Api-Key": api_key}, json=PROBE).status_code == 202
    pg_server.stop()  # every pooled connection dies with it
    pg_server.start()
    before = len(checks)
    with caplog.at_level(logging.INFO, logger="api.enqueue"):
        r = client.post("/api/v1/jobs", headers={"X-Api-Key": api_key}, json=PROBE)
    assert r.status_code == 202, r.text
    assert "inserted again on a checked one" in caplog.text, "the dead connection was handed out and failed"
    assert len(checks) > before, "after the failure every connection is checked before it goes out"
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.id == r.json()["id"])) == 1
    ok = client.post("/api/v1/jobs", headers={"X-Api-Key": api_key}, json=PROBE)
    assert ok.status_code == 202, ok.text
