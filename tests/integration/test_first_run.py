"""The first account from the web UI's first-run page: only while nobody exists, only on this machine.

Through the real app (its lifespan, real PostgreSQL and Redis), with the client address each case
needs: a loopback visitor creates the first person and is logged in; after that it is a 409; from
any other address, or through a proxy (a forwarding header), or from another site, a 403 that
creates nobody; a weak password is a 422 naming the field. Two first runs at once make one person.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from shared.infra.db import session_scope
from shared.people import users

PATH = "/api/v1/auth/first-run"
BODY = {"name": "admin", "password": "correct horse battery"}


@pytest.fixture
def app(settings_env: dict[str, str]) -> Iterator[object]:
    yield create_app()


def _client(app: object, host: str) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(host, 50000))  # type: ignore[arg-type]


def _people() -> list[str]:
    with session_scope() as s:
        return [u.name for u in users.list_users(s)]


def test_refused_from_elsewhere_created_from_this_machine_then_refused_for_everyone(app: object) -> None:
    for host in ("192.0.2.7", "10.0.0.3", "2001:db8::5", "testclient"):
        with _client(app, host) as remote:
            assert remote.get(PATH).json() == {"available": False}
            r = remote.post(PATH, json=BODY)
            assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["title"] == "First run is only open on this machine"
    with _client(app, "127.0.0.1") as local:
        # through a proxy every visitor looks local: a forwarding header closes the page
        for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
            assert local.get(PATH, headers={header: "192.0.2.7"}).json() == {"available": False}
            assert local.post(PATH, json=BODY, headers={header: "192.0.2.7"}).status_code == 403
        cross = local.post(PATH, json=BODY, headers={"Origin": "http://evil.example"})
        assert cross.status_code == 403 and cross.json()["title"] == "Cross-site request refused"
        weak = local.post(PATH, json={"name": "admin", "password": "short"})
        assert weak.status_code == 422 and weak.json()["errors"][0]["loc"] == ["body", "password"]
        bad_name = local.post(PATH, json={"name": "no spaces please", "password": BODY["password"]})
        assert bad_name.status_code == 422 and bad_name.json()["errors"][0]["loc"] == ["body", "name"]
        assert _people() == []

        assert local.get(PATH).json() == {"available": True}
        r = local.post(PATH, json=BODY)
        assert r.status_code == 201, r.text
        assert r.json()["via"] == "session" and r.json()["user"]["name"] == "admin"
        assert local.get("/api/v1/auth/me").json()["user"]["name"] == "admin"  # logged in by the cookie
        assert local.get(PATH).json() == {"available": False}
        again = local.post(PATH, json={"name": "second", "password": BODY["password"]})
        assert again.status_code == 409 and again.json()["title"] == "Somebody exists already"
    with _client(app, "::1") as local6:
        assert local6.post(PATH, json={"name": "third", "password": BODY["password"]}).status_code == 409
    assert _people() == ["admin"]


def test_two_first_runs_at_once_make_one_person(settings_env: dict[str, str]) -> None:
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def first(name: str) -> None:
        start.wait()
        try:
            with session_scope() as s:
                users.create_first_user(s, name, BODY["password"])
            outcomes.append("created")
        except users.NotFirst:
            outcomes.append("refused")

    threads = [threading.Thread(target=first, args=(name,)) for name in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["created", "refused"]
    assert len(_people()) == 1
