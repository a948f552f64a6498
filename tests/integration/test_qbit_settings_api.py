"""``/api/v1/settings/qbittorrent`` through the real gateway (its own process) and PostgreSQL, and the
download workers' :func:`workers.download.qbit.connect` reading what it stored.

- GET shows the environment's URL and user and whether a password is set, never the password;
- PUT stores the URL and user over the environment and the password encrypted; a PUT without a
  password keeps the stored one; DELETEs go back to the environment;
- bad bodies are 422 problems naming the field;
- a PUT opens the login gate (jobs parked on a refused login are released) and resolves its alert;
- ``connect`` logs in to a qBittorrent (the simulator) with what was stored, and a new password
  stored later takes effect on the next job without a restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shared.download import qbit_gate, qbit_settings
from shared.infra.db import session_scope
from tests.integration.stack import Stack, api_headers
from tests.sims.qbit import QbitSimState, serve_qbit
from workers.download.qbit import QbitLoginRefused, connect

pytestmark = pytest.mark.slow
PATH = "/api/v1/settings/qbittorrent"
ENV_PASSWORD = "env-password-5c1f"
SIM_PASSWORD = "sim-password-9a7e"


@pytest.fixture
def qbit_sim() -> Iterator[tuple[QbitSimState, str]]:
    state = QbitSimState(username="mamc", password=SIM_PASSWORD)
    base, stop = serve_qbit(state)
    yield state, base
    stop()


@pytest.fixture
def qbit_env(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment's qBittorrent settings, in place before the stack copies the environment."""
    from shared.infra.settings import get_settings

    values = {"MAMC_QBIT_URL": "http://qbit.env.test:8081", "MAMC_QBIT_USER": "env-user",
              "MAMC_QBIT_PASSWORD": ENV_PASSWORD, "MAMC_QBIT_CATEGORY": "mamc-books"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    return values


@pytest.fixture
def api(qbit_env: dict[str, str], stack: Stack, api_key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    _, base = stack.api()
    yield base, api_headers(api_key)


def _call(api: tuple[str, dict[str, Any]], method: str, path: str = PATH, **kwargs: Any) -> httpx.Response:
    base, headers = api
    return httpx.request(method, base + path, headers=headers, timeout=30, **kwargs)


def _ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == {"url", "url_source", "username", "username_source", "password_set", "password_source"}
    assert ENV_PASSWORD not in r.text and SIM_PASSWORD not in r.text
    return body


INVALID: list[tuple[dict[str, Any], list[str], str]] = [
    ({"url": "ftp://qbit:21", "username": "u"}, ["body", "url"], "http:// or https://"),
    ({"url": "http://qbit host:8081", "username": "u"}, ["body", "url"], "http:// or https://"),
    ({"username": "u"}, ["body", "url"], "Field required"),
    ({"url": "http://qbit:8081"}, ["body", "username"], "Field required"),
    ({"url": "http://qbit:8081", "username": "u", "password": ""}, ["body", "password"], "empty"),
    ({"url": "http://qbit:8081", "username": "u", "category": "x"}, ["body", "category"], "Extra inputs"),
]


def _bad_bodies_are_problems_and_store_nothing(api: tuple[str, dict[str, Any]]) -> None:
    for body, loc, words in INVALID:
        r = _call(api, "PUT", json=body)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), body
        errors = r.json()["errors"]
        assert [e["loc"] for e in errors] == [loc] and words in errors[0]["msg"], (body, errors)
    assert _ok(_call(api, "GET"))["url_source"] == "environment"
    base, _ = api
    assert httpx.get(base + PATH, timeout=30).status_code == 401


def test_qbittorrent_settings_round_trip_and_the_worker_uses_them(
        api: tuple[str, dict[str, Any]], qbit_sim: tuple[QbitSimState, str]) -> None:
    """One API process for every step (each start costs seconds)."""
    state, sim_url = qbit_sim
    _bad_bodies_are_problems_and_store_nothing(api)
    assert _ok(_call(api, "GET")) == {
        "url": "http://qbit.env.test:8081", "url_source": "environment", "username": "env-user",
        "username_source": "environment", "password_set": True, "password_source": "environment"}

    with session_scope() as s:  # a job met a refused login with the environment's credentials
        qbit_gate.mark_refused(s, qbit_settings.load_connection(s), "qBittorrent: login as 'env-user' refused")
    alerts = _call(api, "GET", "/api/v1/alerts").json()["items"]
    assert [a["kind"] for a in alerts] == [qbit_gate.ALERT_KIND] and ENV_PASSWORD not in str(alerts)

    stored = _ok(_call(api, "PUT", json={"url": sim_url + "/", "username": "mamc", "password": SIM_PASSWORD}))
    with session_scope() as s:
        assert not qbit_gate.gate_closed(s)  # new settings open the gate and resolve the alert
    assert _call(api, "GET", "/api/v1/alerts").json()["items"] == []
    assert stored == {"url": sim_url, "url_source": "stored", "username": "mamc", "username_source": "stored",
                      "password_set": True, "password_source": "stored"}
    with session_scope() as s:
        blobs = s.execute(text("SELECT ciphertext FROM stored_secrets WHERE name = 'qbit_password'")).scalars().all()
    assert len(blobs) == 1 and SIM_PASSWORD.encode() not in bytes(blobs[0])

    with session_scope() as s:
        client = connect(s)
    assert (client.url, client.username, client.category) == (sim_url, "mamc", "mamc-books")
    assert client.snapshot().full_update and state.count("auth/login") == 1
    with session_scope() as s:
        assert connect(s) is client  # same settings: same client, same session and rid
    assert client.snapshot().calls == 1

    _ok(_call(api, "PUT", json={"url": sim_url, "username": "mamc", "password": "a-wrong-one"}))
    with session_scope() as s:
        wrong = connect(s)
    assert wrong is not client
    with pytest.raises(QbitLoginRefused, match="MAMC_QBIT_PASSWORD"):
        wrong.snapshot()

    _ok(_call(api, "PUT", json={"url": sim_url, "username": "mamc", "password": SIM_PASSWORD}))
    kept = _ok(_call(api, "PUT", json={"url": sim_url, "username": "mamc"}))  # no password: the stored one stays
    assert kept["password_source"] == "stored"
    with session_scope() as s:
        assert connect(s).snapshot().full_update  # logged in again with the fixed password

    cleared = _ok(_call(api, "DELETE", PATH + "/password"))
    assert cleared["password_source"] == "environment" and cleared["url_source"] == "stored"
    reset = _ok(_call(api, "DELETE"))
    assert reset["url"] == "http://qbit.env.test:8081" and reset["username_source"] == "environment"
