"""Every /api/v1 route refuses a caller without a valid key; errors are problem+json."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app

PROBE = {"type": "probe", "args": {"pool": "crawl"}}


@pytest.fixture
def client(settings_env: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as c:  # runs the lifespan: the async paths
        yield c


# Open by design: logging in needs no caller, and logging out without a session only clears cookies
# (tests/integration/test_people_auth.py covers both); the first run exists for the visitor before
# anyone can log in, and is refused once anyone exists or from another machine
# (tests/integration/test_first_run.py).
OPEN = {"/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/auth/first-run"}


def _routes() -> list[tuple[str, str]]:
    """Every operation the OpenAPI document lists under /api/v1, with placeholder path ids."""
    out = []
    for raw_path, operations in create_app().openapi()["paths"].items():
        if not raw_path.startswith("/api/v1") or raw_path in OPEN:
            continue
        path = re.sub(r"\{pool\}", "crawl", raw_path)
        path = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
        out += [(method.upper(), path) for method in operations]
    return out


def test_every_v1_route_needs_a_key(client: TestClient, api_key: str) -> None:
    routes = _routes()
    assert len(routes) >= 7
    for method, path in routes:
        for headers in ({}, {"X-Api-Key": "mamc_wrong"}, {"Authorization": "Bearer nope"}):
            r = client.request(method, path, headers=headers)
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.headers["content-type"].startswith("application/problem+json")
    ok = client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {api_key}"})
    assert ok.status_code == 200


def test_health_and_metrics_are_open(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"postgresql": "ok", "redis": "ok"}
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and "mamc_queue_depth" in metrics.text


def test_bad_requests_are_problems_not_500s(client: TestClient, api_key: str) -> None:
    h = {"X-Api-Key": api_key}
    cases = [
        client.post("/api/v1/jobs", headers=h, content=b"{not json"),
        client.post("/api/v1/jobs", headers=h, json={"type": "nope"}),
        client.post("/api/v1/jobs", headers=h, json={"type": "probe", "args": {"pool": "mars"}}),
        client.post("/api/v1/jobs", headers=h, json={"type": "probe", "args": {"pool": "crawl", "x": 1}}),
        client.get("/api/v1/jobs/not-a-uuid", headers=h),
        client.get("/api/v1/jobs", headers=h, params={"cursor": "garbage!!"}),
        client.get("/api/v1/jobs", headers=h, params={"state": "sleeping"}),
        client.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000", headers=h),
        client.post("/api/v1/pools/mars/pause", headers=h),
    ]
    for r in cases:
        assert 400 <= r.status_code < 500, (r.request.url, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["status"] == r.status_code
        assert "request_id" in r.json()


def test_readyz_reports_what_is_down(client: TestClient, redis_server) -> None:  # type: ignore[no-untyped-def]
    redis_server.kill()
    try:
        r = client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["postgresql"] == "ok"
        assert r.json()["checks"]["redis"].startswith("down")
    finally:
        redis_server.start()


def test_job_listing_pages_with_cursor(client: TestClient, api_key: str) -> None:
    h = {"X-Api-Key": api_key}
    made = [
        client.post("/api/v1/jobs", headers=h, json={"type": "probe", "args": {"pool": "crawl"}}).json()["id"]
        for _ in range(5)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, "type": "probe", **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/jobs", headers=h, params=params).json()
        seen += [j["id"] for j in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(made))


def test_post_job_while_redis_is_down_is_kept_for_the_sweeper(client: TestClient, api_key: str,
                                                               redis_server) -> None:  # type: ignore[no-untyped-def]
    """The ledger is the outbox: the job is accepted and recorded, its publication waits for Redis."""
    from sqlalchemy import select

    from shared.infra.db import session_scope
    from shared.models.jobs import Job

    redis_server.kill()
    try:
        r = client.post("/api/v1/jobs", headers={"X-Api-Key": api_key}, json=PROBE)
    finally:
        redis_server.start()
    assert r.status_code == 202, r.text
    with session_scope() as s:
        job = s.scalar(select(Job).where(Job.id == r.json()["id"]))
    assert job is not None and job.state == "queued" and job.dispatched_at is not None


def test_post_job_while_postgresql_is_down_is_a_503_problem(client: TestClient, api_key: str,
                                                            pg_server) -> None:  # type: ignore[no-untyped-def]
    pg_server.stop()  # (a kill would also drop the test server's unflushed async commits)
    try:
        r = client.post("/api/v1/jobs", headers={"X-Api-Key": api_key}, json=PROBE)
        listing = client.get("/api/v1/jobs", headers={"X-Api-Key": api_key})
        time.sleep(4)  # long enough for the async pool's reconnect backoff to grow past its checkout timeout
    finally:
        pg_server.start()
    for resp in (r, listing):
        assert resp.status_code == 503, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert "PostgreSQL" in resp.json()["detail"] and resp.headers["Retry-After"] == "5"
    ok = client.post("/api/v1/jobs", headers={"X-Api-Key": api_key}, json=PROBE)
    assert ok.status_code == 202, ok.text  # at once: the ledger's own path connects while the pool backs off


def test_apikey_cli_create_list_revoke(settings_env: dict[str, str], capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from api import auth
    from shared.cli import main

    main(["apikey", "create", "--name", "laptop"])
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("mamc_")
    main(["apikey", "list"])
    listing = capsys.readouterr().out
    assert "laptop" in listing and key[:12] in listing and key not in listing  # the key itself is never shown
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        assert c.get("/api/v1/jobs", headers={"X-Api-Key": key}).status_code == 200
        main(["apikey", "revoke", "--name", "laptop"])
        monkeypatch.setattr(auth, "_CACHE_SECONDS", 0.0)  # skip the few seconds a lookup is cached
        r = c.get("/api/v1/jobs", headers={"X-Api-Key": key})
        assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    with pytest.raises(SystemExit):
        main(["apikey", "revoke", "--name", "laptop"])  # already revoked: a clear error, not a silent no-op
