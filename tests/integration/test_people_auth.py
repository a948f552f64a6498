"""People log in with a password and a session cookie; machines keep their API keys.

Through the real app (its lifespan, real PostgreSQL and Redis): the cookie's attributes, the CSRF
rule for cookie sessions (and the API key's exemption), logout and expiry ending a session at once,
cross-site logins refused, and API keys created once and never readable afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from shared.infra.db import session_scope
from shared.models.people import UserSession
from shared.people.users import create_user

PROBE = {"type": "probe", "args": {"pool": "crawl"}}
PASSWORD = "correct horse battery"


@pytest.fixture
def client(settings_env: dict[str, str]) -> Iterator[TestClient]:
    with session_scope() as s:
        create_user(s, "alice", PASSWORD)
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def _login(client: TestClient, name: str = "alice", password: str = PASSWORD) -> str:
    r = client.post("/api/v1/auth/login", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])


def test_login_sets_an_httponly_lax_cookie_and_the_session_reads_the_api(client: TestClient) -> None:
    assert client.get("/api/v1/jobs").status_code == 401
    r = client.post("/api/v1/auth/login", json={"name": "ALICE", "password": PASSWORD})  # names fold case
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["via"] == "session" and body["user"]["name"] == "alice" and body["csrf_token"]
    cookies = {c.split("=", 1)[0]: c.lower() for c in r.headers.get_list("set-cookie")}
    assert "httponly" in cookies["mamc_session"] and "samesite=lax" in cookies["mamc_session"]
    assert "secure" not in cookies["mamc_session"]  # plain http unless MAMC_BEHIND_HTTPS
    assert "httponly" not in cookies["mamc_csrf"]  # the page reads it to echo it
    assert client.cookies["mamc_csrf"] == body["csrf_token"]
    assert client.get("/api/v1/jobs").status_code == 200
    me = client.get("/api/v1/auth/me").json()
    assert me == {"via": "session", "user": {"id": body["user"]["id"], "name": "alice"},
                  "csrf_token": body["csrf_token"]}


def test_wrong_password_or_name_is_one_answer(client: TestClient) -> None:
    wrong = client.post("/api/v1/auth/login", json={"name": "alice", "password": "nope-nope-nope"})
    nobody = client.post("/api/v1/auth/login", json={"name": "mallory", "password": PASSWORD})
    for r in (wrong, nobody):
        assert r.status_code == 401 and r.json()["detail"] == "wrong name or password"
        assert "set-cookie" not in r.headers
    assert client.get("/api/v1/jobs").status_code == 401


def test_unsafe_requests_with_a_session_need_the_csrf_token(client: TestClient, api_key: str) -> None:
    csrf = _login(client)
    refused = client.post("/api/v1/jobs", json=PROBE)
    assert refused.status_code == 403 and refused.json()["title"] == "CSRF token missing or wrong"
    assert client.post("/api/v1/jobs", json=PROBE, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post("/api/v1/jobs", json=PROBE, headers={"X-CSRF-Token": csrf}).status_code == 202
    # A key is judged alone: machines need no CSRF token, even when a cookie rides along.
    assert client.post("/api/v1/jobs", json=PROBE, headers={"X-Api-Key": api_key}).status_code == 202
    me = client.get("/api/v1/auth/me", headers={"X-Api-Key": api_key}).json()
    assert me == {"via": "api_key", "user": None, "csrf_token": None}


def test_logout_ends_the_session_at_once(client: TestClient) -> None:
    csrf = _login(client)
    token = client.cookies["mamc_session"]
    assert client.post("/api/v1/auth/logout").status_code == 403  # without its token, a live session stays
    out = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert client.get("/api/v1/jobs").status_code == 401
    client.cookies.set("mamc_session", token)  # the old cookie, replayed
    assert client.get("/api/v1/jobs").status_code == 401
    assert client.post("/api/v1/auth/logout").status_code == 204  # nothing to end: cookies cleared


def test_an_expired_session_is_refused(client: TestClient) -> None:
    _login(client)
    with session_scope() as s:
        s.execute(update(UserSession).values(expires_at=UserSession.created_at))
    assert client.get("/api/v1/jobs").status_code == 401


def test_cross_site_login_is_refused(client: TestClient) -> None:
    r = client.post("/api/v1/auth/login", json={"name": "alice", "password": PASSWORD},
                    headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    ok = client.post("/api/v1/auth/login", json={"name": "alice", "password": PASSWORD},
                     headers={"Origin": "http://testserver"})
    assert ok.status_code == 200


def test_secure_cookies_behind_https(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.infra.settings import get_settings

    monkeypatch.setenv("MAMC_BEHIND_HTTPS", "true")
    get_settings.cache_clear()
    with session_scope() as s:
        create_user(s, "bob", PASSWORD)
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        r = c.post("/api/v1/auth/login", json={"name": "bob", "password": PASSWORD})
    assert r.status_code == 200
    assert all("secure" in c.lower() for c in r.headers.get_list("set-cookie"))


def test_api_keys_are_shown_once_and_revoked(client: TestClient) -> None:
    csrf = _login(client)
    h = {"X-CSRF-Token": csrf}
    created = client.post("/api/v1/apikeys", json={"name": "script"}, headers=h)
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("mamc_") and created.json()["prefix"] == key[:12]
    assert client.post("/api/v1/apikeys", json={"name": "script"}, headers=h).status_code == 409
    listed = client.get("/api/v1/apikeys")
    assert listed.status_code == 200 and key not in listed.text and "key" not in listed.json()[0]
    assert [k["name"] for k in listed.json()] == ["script"]
    key_id = created.json()["id"]
    assert client.get("/api/v1/jobs", headers={"X-Api-Key": key}).status_code == 200
    assert client.delete(f"/api/v1/apikeys/{key_id}", headers=h).status_code == 204
    assert client.get("/api/v1/jobs", headers={"X-Api-Key": key}).status_code == 401  # this process forgot it
    assert client.get("/api/v1/apikeys").json()[0]["revoked_at"] is not None
    assert client.delete("/api/v1/apikeys/99999", headers=h).status_code == 404


def test_short_passwords_and_bad_names_are_refused(settings_env: dict[str, str]) -> None:
    with session_scope() as s:
        with pytest.raises(ValueError, match="at least 8"):
            create_user(s, "carol", "short")
        with pytest.raises(ValueError, match="a name is"):
            create_user(s, "has space", PASSWORD)
        create_user(s, "carol", PASSWORD)
    with session_scope() as s, pytest.raises(ValueError, match="already exists"):
        create_user(s, "CAROL", PASSWORD)
