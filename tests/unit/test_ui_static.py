"""The gateway serves the built UI at ``/`` with a single-page-app fallback and strict security
headers, while every ``/api`` path keeps the API's own answers (problem+json 401/404/405)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient


def _client(mp: pytest.MonkeyPatch, ui_dir: Path) -> TestClient:
    mp.setenv("MAMC_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    mp.setenv("MAMC_REDIS_URL", "redis://127.0.0.1:1/0")
    mp.setenv("MAMC_UI_DIR", str(ui_dir))
    import shared.infra.redis_client
    from shared.infra.settings import get_settings

    get_settings.cache_clear()
    shared.infra.redis_client._client = None
    from api.app import create_app

    return TestClient(create_app(), raise_server_exceptions=False)  # no lifespan: nothing connects


@pytest.fixture
def built(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>MAMcrawler</title><div id=app></div>")
    (dist / "assets" / "index-abc123.js").write_text("console.log('ui')")
    (tmp_path / "secret.txt").write_text("outside the UI folder")
    return dist


@pytest.fixture
def client(built: Path) -> Iterator[TestClient]:
    mp = pytest.MonkeyPatch()
    try:
        yield _client(mp, built)
    finally:
        mp.undo()
        from shared.infra.settings import get_settings

        get_settings.cache_clear()


def test_pages_fall_back_to_index_with_security_headers(client: TestClient) -> None:
    for path in ("/", "/wanted/12", "/jobs", "/login"):
        r = client.get(path)
        assert r.status_code == 200 and "<div id=app>" in r.text, path
        assert r.headers["content-type"].startswith("text/html")
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["cache-control"] == "no-cache"


def test_assets_are_served_and_cached(client: TestClient) -> None:
    r = client.get("/assets/index-abc123.js")
    assert r.status_code == 200 and r.text == "console.log('ui')"
    assert "javascript" in r.headers["content-type"]
    assert "immutable" in r.headers["cache-control"]
    assert client.get("/assets/gone-000.js").status_code == 404  # a missing file is not the page
    for sneaky in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
        assert "outside the UI folder" not in client.get(sneaky).text, sneaky


def test_api_paths_keep_their_answers(client: TestClient) -> None:
    for method, path, status in (("GET", "/api/v1/jobs", 401), ("POST", "/api/v1/jobs", 401),
                                 ("GET", "/api/nothing-here", 404), ("DELETE", "/api/v1/pools", 405),
                                 ("POST", "/anything", 404)):
        r = client.request(method, path)
        assert r.status_code == status, (method, path, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json"), (method, path)
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/api/openapi.json").status_code == 200


def test_an_unbuilt_ui_says_how_to_build_it(tmp_path: Path) -> None:
    mp = pytest.MonkeyPatch()
    try:
        r = _client(mp, tmp_path / "nothing").get("/")
    finally:
        mp.undo()
        from shared.infra.settings import get_settings

        get_settings.cache_clear()
    assert r.status_code == 503 and "make ui" in r.text and "Node.js 20" in r.text
