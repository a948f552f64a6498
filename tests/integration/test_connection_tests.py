"""Connection tests (``connection.test``) run by real worker processes against the simulators.

- ``POST /api/v1/settings/{service}/test`` answers 202 with the job, routed to the pool that uses the
  service; the job's result (``GET /api/v1/jobs/{id}``) says ``ok`` and why, for a working and a
  refused credential alike; ``POST /api/v1/jobs`` creates the same job, and a bad service is a 422
  naming ``args.service``; a second request while one is queued returns that one.
- ABS: a working key and a refused one. qBittorrent: a refused password closes the login gate, and
  the next test reports it without logging in again; the right password then works.
- MAM: no cookie is reported without a request; with one, the test is one ``jsonLoad`` through the
  account's budget (two tests are spaced by it), stores the account's standing and spends nothing.
- Hardcover: the environment's token works, a stored wrong one is refused, deleting it goes back.
- No credential appears in any job's arguments, result or error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from shared.infra.db import session_scope
from shared.models.jobs import Job
from tests.integration.stack import Stack, api_headers, wait_state
from tests.integration.test_metadata_gaps import FAST_LIMITS
from tests.integration.test_metadata_world import ADMIN_TOKEN, HARDCOVER_TOKEN, ServedWorld, serve_world
from tests.sims.mam import MamSimState, serve_mam
from tests.sims.qbit import QbitSimState, serve_qbit
from tests.sims.world import generate_world

pytestmark = pytest.mark.slow
MAM_SPACING = 1.5
QBIT_PASSWORD = "qbit-password-3f9c"
WRONG = "wrong-credential-77d1"


@pytest.fixture
def sims() -> Iterator[dict[str, Any]]:
    world = serve_world(generate_world(2, seed=5))
    mam = MamSimState()
    mam_url, stop_mam = serve_mam(mam)
    qbit = QbitSimState(username="mamc", password=QBIT_PASSWORD)
    qbit_url, stop_qbit = serve_qbit(qbit)
    yield {"world": world, "mam": mam, "mam_url": mam_url, "qbit": qbit, "qbit_url": qbit_url}
    stop_qbit()
    stop_mam()
    world.stop()


@pytest.fixture
def api(stack: Stack, sims: dict[str, Any], api_key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    world: ServedWorld = sims["world"]
    stack.env.update(world.env())
    stack.env.update({"MAMC_MAM_URL": sims["mam_url"], "MAMC_QBIT_URL": "http://127.0.0.1:9",
                      "MAMC_RATE_LIMITS": json.dumps({**FAST_LIMITS, "mam": f"1/{MAM_SPACING}/1"})})
    for pool in ("crawl", "download", "library_sync", "metadata"):
        stack.worker(pool, concurrency=1)
    _, base = stack.api()
    yield base, api_headers(api_key)


def _call(api: tuple[str, dict[str, Any]], method: str, path: str, **kwargs: Any) -> httpx.Response:
    base, headers = api
    return httpx.request(method, base + path, headers=headers, timeout=30, **kwargs)


def _start(api: tuple[str, dict[str, Any]], service: str) -> dict[str, Any]:
    r = _call(api, "POST", f"/api/v1/settings/{service}/test")
    assert r.status_code == 202, r.text
    job: dict[str, Any] = r.json()
    assert job["type"] == "connection.test" and job["args"] == {"service": service}
    return job


def _verdict(api: tuple[str, dict[str, Any]], service: str) -> dict[str, Any]:
    """Run a test and read its result the way a client does: the job, through the API."""
    job = _start(api, service)
    wait_state(job["id"], ("succeeded", "failed", "dead"), 90)
    r = _call(api, "GET", f"/api/v1/jobs/{job['id']}")
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"] == "succeeded", done
    result: dict[str, Any] = done["result"]
    assert result["service"] == service and isinstance(result["message"], str) and result["message"], result
    return result


def test_connection_tests_are_jobs_on_each_services_pool(api: tuple[str, dict[str, Any]],
                                                         sims: dict[str, Any]) -> None:
    mam: MamSimState = sims["mam"]
    qbit: QbitSimState = sims["qbit"]

    # -- the job itself: routed per service, through either route; bad input is a 422 --------------
    r = _call(api, "POST", "/api/v1/jobs", json={"type": "connection.test", "args": {"service": "abs"}})
    assert r.status_code == 202 and r.json()["queue"] == "library_sync", r.text
    r = _call(api, "POST", "/api/v1/jobs", json={"type": "connection.test", "args": {"service": "ftp"}})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["args", "service"], r.text
    r = _call(api, "POST", "/api/v1/settings/ftp/test")
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert _call(api, "POST", "/api/v1/pools/crawl/pause").status_code == 200
    first, second = _start(api, "mam"), _start(api, "mam")
    assert first["id"] == second["id"] and first["queue"] == "crawl"  # one test of a service at a time
    assert _call(api, "POST", "/api/v1/pools/crawl/resume").status_code == 200

    # -- MAM: no cookie is a verdict without a request ----------------------------------------------
    result = _verdict(api, "mam")  # the one queued while the pool was paused
    assert result["ok"] is False and "no MAM session cookie" in result["message"], result
    assert mam.log == []

    # -- ABS: the environment's key works; a stored wrong one is refused -------------------------------
    result = _verdict(api, "abs")
    assert result["ok"] is True and "Audiobookshelf" in result["message"] and "book librar" in result["message"]
    assert _call(api, "PUT", "/api/v1/settings/abs", json={"token": WRONG}).status_code == 200
    result = _verdict(api, "abs")
    assert result["ok"] is False and "401" in result["message"], result
    assert _call(api, "DELETE", "/api/v1/settings/abs/token").status_code == 200

    # -- qBittorrent: a refused password closes the gate; the next test sends nothing ------------------
    conn = {"url": sims["qbit_url"], "username": "mamc"}
    assert _call(api, "PUT", "/api/v1/settings/qbittorrent", json={**conn, "password": WRONG}).status_code == 200
    result = _verdict(api, "qbittorrent")
    assert result["ok"] is False and "refused" in result["message"], result
    logins = qbit.count("auth/login")
    assert logins >= 1
    result = _verdict(api, "qbittorrent")
    assert result["ok"] is False and "refused" in result["message"], result
    assert qbit.count("auth/login") == logins  # qBittorrent's ban comes closer with each failed login
    assert _call(api, "PUT", "/api/v1/settings/qbittorrent",
                 json={**conn, "password": QBIT_PASSWORD}).status_code == 200
    result = _verdict(api, "qbittorrent")
    assert result["ok"] is True and "qBittorrent" in result["message"] and "'mamc'" in result["message"], result

    # -- MAM with a cookie: one jsonLoad each, spaced by the budget, nothing spent ---------------------
    assert _call(api, "PUT", "/api/v1/account/session", json={"mam_id": mam.session}).status_code == 204
    for _ in range(2):
        result = _verdict(api, "mam")
        assert result["ok"] is True and "accepted the session cookie" in result["message"], result
    sent = [e for e in mam.log if e.route == "account"]
    assert len(sent) == 2 and len(mam.log) == 2, [e.path for e in mam.log]
    assert sent[1].time - sent[0].time >= MAM_SPACING - 0.1
    assert mam.purchases == [] and mam.forbidden_spends == []
    assert _call(api, "GET", "/api/v1/account").json()["snapshot"] is not None

    # -- metadata: Audible answers; Hardcover's key from the environment, then a stored wrong one ------
    assert _verdict(api, "audible")["ok"] is True
    assert _verdict(api, "hardcover")["ok"] is True
    keys = _call(api, "PUT", "/api/v1/settings/metadata-keys", json={"hardcover_token": WRONG})
    assert keys.status_code == 200 and keys.json()["hardcover_token"] == {"set": True, "source": "stored"}
    result = _verdict(api, "hardcover")
    assert result["ok"] is False, result
    keys = _call(api, "DELETE", "/api/v1/settings/metadata-keys/hardcover_token")
    assert keys.json()["hardcover_token"] == {"set": True, "source": "environment"}
    assert _verdict(api, "hardcover")["ok"] is True

    # -- no credential in the ledger -------------------------------------------------------------------
    with session_scope() as s:
        rows = s.scalars(select(Job).where(Job.type == "connection.test")).all()
    ledger_text = json.dumps([[j.args, j.result, j.error] for j in rows])
    for secret in (WRONG, QBIT_PASSWORD, ADMIN_TOKEN, HARDCOVER_TOKEN, *mam.issued):
        assert secret not in ledger_text
