"""Every /api/v1 route refuses a caller without a valid key; errors are problem+json."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app


@pytest.fixture
def client(settings_env: dict[str, str]) -> TestClient:
    return TestClient(create_app(), raise_server_exceptions=False)


def _routes() -> list[tuple[str, str]]:
    """Every operation the OpenAPI document lists under /api/v1, with placeholder path ids."""
    out = []
    for raw_path, operations in create_app().openapi()["paths"].items():
        if not raw_path.startswith("/api/v1"):
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
