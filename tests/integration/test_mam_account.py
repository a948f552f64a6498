"""The MAM account with real crawl workers and the API against the MAM simulator over real HTTP.

- ``account.refresh`` started through the API stores a snapshot; ``GET /api/v1/account`` shows it
  with the shorthand line and the session; a renewed cookie is stored and used from then on.
- The cookie expires: the first 403 parks every MAM job (``waiting``, no attempt counted, none
  dead-lettered), a job started meanwhile parks without sending, the alert is open; a new cookie
  entered with ``PUT /api/v1/account/session`` resumes them all and they succeed.
- After that full run no value the simulator ever issued as a cookie, nor the passkey, appears in
  a log file, the ledger or an API response; requests never come closer than the budget's spacing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from shared.crawl.session import ALERT_KIND, GATE
from shared.engine import ledger
from shared.infra.db import session_scope
from shared.models.alerts import Alert
from shared.models.jobs import Job, JobAttempt
from tests.integration.stack import Stack, api_headers, job, wait_state
from tests.sims.mam import MamSimState, serve_mam

pytestmark = pytest.mark.slow
SPACING = 1.0  # the test's MAM budget: one request a second on all processes
JITTER = 0.1


@pytest.fixture
def mam() -> Iterator[tuple[str, MamSimState]]:
    state = MamSimState()
    base, stop = serve_mam(state)
    yield base, state
    stop()


@pytest.fixture
def mam_stack(stack: Stack, mam: tuple[str, MamSimState]) -> Stack:
    base, _ = mam
    stack.env.update({
        "MAMC_MAM_URL": base,
        "MAMC_RATE_LIMITS": json.dumps({"mam": f"1/{SPACING}/1", "probe": "1000/1/100"}),
        "MAMC_MAM_BACKOFF_SECONDS": "2",
        "MAMC_SCHEDULE_ACCOUNT_REFRESH": "0",
        "MAMC_LOG_LEVEL": "DEBUG",  # the secret scan reads the most talkative logs
    })
    return stack


class Api:
    """The gateway over HTTP, keeping every response body for the secret scan."""

    def __init__(self, base: str, key: str) -> None:
        self.base, self.headers = base, api_headers(key)
        self.bodies: list[str] = []

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = httpx.request(method, self.base + path, headers=self.headers, timeout=30, **kwargs)
        self.bodies.append(f"{method} {path} {response.status_code} {dict(response.headers)} {response.text}")
        return response

    def put_cookie(self, value: str) -> None:
        response = self.call("PUT", "/api/v1/account/session", json={"mam_id": value})
        assert response.status_code == 204, response.text
        assert response.content == b""

    def account(self) -> dict[str, Any]:
        response = self.call("GET", "/api/v1/account")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def new_refresh() -> uuid.UUID:
    """A refresh job made by the ledger directly (no singleton key), so several can wait at once."""
    with session_scope() as s:
        job_id: uuid.UUID = ledger.create_job(s, "account.refresh", {}).job.id
    return job_id


def attempts_of(job_id: uuid.UUID) -> int:
    with session_scope() as s:
        return len(list(s.scalars(select(JobAttempt).where(JobAttempt.job_id == job_id))))


def assert_spacing(state: MamSimState) -> None:
    times = sorted(e.time for e in state.log)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(g >= SPACING - JITTER for g in gaps), f"requests closer than the budget: {min(gaps):.3f}s"


def test_refresh_through_the_api_stores_a_snapshot_and_keeps_renewed_cookies(
    mam_stack: Stack, mam: tuple[str, MamSimState], api_key: str,
) -> None:
    _, state = mam
    state.rotate_every = 1  # every answer renews the cookie; the old one works for 2 more requests
    mam_stack.worker("crawl", concurrency=2)
    _, base = mam_stack.api()
    api = Api(base, api_key)
    before = api.account()
    assert before["session"] == "unset" and before["snapshot"] is None
    assert before["shorthand"] == "Up ? | Dn ? | Ratio ? | Class ? | BP/hr ? | Sat ? | Unsat ? | Leech ?"

    api.put_cookie(state.session)
    assert api.account()["session"] == "valid"
    for round_ in range(4):  # 4 refreshes, each renewing: only a stored-and-used renewal survives grace=2
        created = api.call("POST", "/api/v1/jobs", json={"type": "account.refresh"})
        assert created.status_code == 202, created.text
        done = wait_state(created.json()["id"], ("succeeded", "failed", "dead"), 60)
        assert done.state == "succeeded", (round_, done.error, mam_stack.logs())

    shown = api.account()
    assert shown["session"] == "valid" and shown["session_source"] == "stored"
    snapshot = shown["snapshot"]
    assert snapshot["classname"] == "Power User" and snapshot["unsat_count"] == 12 and snapshot["unsat_limit"] == 100
    assert shown["shorthand"].startswith("Up 2.1 TiB | Dn 919.2 GiB | Ratio 2.38 | Power User | BP/hr ?")
    assert shown["shorthand"].endswith("Sat 230 | Unsat 12/100 | Leech 1")
    history = api.call("GET", "/api/v1/account/history", params={"limit": 3}).json()
    assert len(history["items"]) == 3 and history["next_cursor"]
    rest = api.call("GET", "/api/v1/account/history", params={"cursor": history["next_cursor"]}).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    # the cookie in use moved on with every renewal: each request used the newest value
    assert [e.session for e in state.log] == ["s1", "s2", "s3", "s4"]
    assert len(state.issued) == 5
    assert_spacing(state)


def test_a_429_backs_off_every_mam_job_without_burning_attempts(
    mam_stack: Stack, mam: tuple[str, MamSimState], api_key: str,
) -> None:
    _, state = mam
    mam_stack.worker("crawl", concurrency=2)
    _, base = mam_stack.api()
    Api(base, api_key).put_cookie(state.session)
    state.fail(429, retry_after="4")
    jobs = [new_refresh() for _ in range(3)]
    for job_id in jobs:
        done = wait_state(job_id, ("succeeded", "failed", "dead"), 90)
        assert done.state == "succeeded" and done.attempts == 1, (done.error, mam_stack.logs())
    statuses = [(e.status, e.time) for e in state.log]
    assert [s for s, _ in statuses] == [429, 200, 200, 200]
    assert statuses[1][1] - statuses[0][1] >= 4 - JITTER, "the account did not wait out Retry-After"
    assert sum(job(j).rate_limit_waits for j in jobs) >= 1
    assert_spacing(state)


def test_an_expired_cookie_parks_every_mam_job_and_a_new_one_resumes_them_leaking_no_secret(
    mam_stack: Stack, mam: tuple[str, MamSimState], api_key: str,
) -> None:
    _, state = mam
    state.rotate_every = 2
    mam_stack.worker("crawl", concurrency=2)
    mam_stack.worker("crawl", concurrency=2)
    _, base = mam_stack.api()
    api = Api(base, api_key)
    api.put_cookie(state.session)
    warm = [new_refresh() for _ in range(3)]  # 3 requests: one renewal on the way
    for job_id in warm:
        assert wait_state(job_id, ("succeeded", "failed", "dead"), 60).state == "succeeded", mam_stack.logs()
    assert len(state.issued) == 2

    state.expire()
    sent_before = len(state.log)
    jobs = [new_refresh() for _ in range(6)]
    for job_id in jobs:
        parked = wait_state(job_id, ("waiting", "succeeded", "failed", "dead"), 60)
        assert parked.state == "waiting" and parked.parked_on == GATE, (parked.state, parked.error)
        assert parked.attempts == 0 and parked.lifetime_attempts == 0 and attempts_of(job_id) == 0
    refused = [e for e in state.log[sent_before:] if e.status == 403]
    assert len(refused) == 1 and len(state.log) == sent_before + 1, "the first 403 must stop every MAM job"
    shown = api.account()
    assert shown["session"] == "invalid" and "403" in (shown["session_reason"] or "")
    with session_scope() as s:
        alert = s.scalar(select(Alert).where(Alert.kind == ALERT_KIND))
        assert alert is not None and alert.resolved_at is None

    late = new_refresh()  # started while invalid: parks before sending anything
    assert wait_state(late, ("waiting",), 30).parked_on == GATE
    assert len(state.log) == sent_before + 1

    fresh = state.set_session()
    api.put_cookie(fresh)
    for job_id in [*jobs, late]:
        done = wait_state(job_id, ("succeeded", "failed", "dead"), 90)
        assert done.state == "succeeded", (done.error, mam_stack.logs())
        assert done.attempts == 1 and attempts_of(job_id) == 1
    with session_scope() as s:
        assert s.scalar(select(Alert.resolved_at).where(Alert.kind == ALERT_KIND)) is not None
        assert s.scalar(select(Job).where(Job.state.in_(("dead", "failed")))) is None
    assert api.account()["session"] == "valid"
    assert len(state.issued) >= 4  # the run also renewed the new cookie at least once
    assert_spacing(state)

    mam_stack.stop()
    scan_for_secrets(mam_stack.workdir, api, [*state.issued, state.passkey])


def scan_for_secrets(workdir: Path, api: Api, secrets: list[str]) -> None:
    """No cookie value and no passkey in any log file, ledger column or API response we saw."""
    assert all(len(secret) >= 16 for secret in secrets)
    logs = {p.name: p.read_text(errors="replace") for p in workdir.glob("*.log")}
    assert any(name.startswith("worker-crawl") for name in logs) and any(name.startswith("api") for name in logs)
    assert any("MAM refused the session cookie" in text for text in logs.values()), "the 403 was never logged?"
    with session_scope() as s:
        ledger_text = "\n".join(str(row) for row in s.execute(text(
            "SELECT args::text, coalesce(result::text, ''), coalesce(error, '') FROM jobs "
            "UNION ALL SELECT '', '', coalesce(error, '') FROM job_attempts "
            "UNION ALL SELECT raw::text, '', '' FROM mam_account_snapshots "
            "UNION ALL SELECT message, coalesce(resolved_at::text, ''), '' FROM alerts "
            "UNION ALL SELECT coalesce(reason, ''), '', '' FROM mam_sessions")))
        stored = [bytes(b) for b in s.scalars(text("SELECT ciphertext FROM stored_secrets"))]
    places = {**logs, "ledger": ledger_text, "api responses": "\n".join(api.bodies)}
    for secret in secrets:
        for where, content in places.items():
            assert secret not in content, f"a secret leaked into {where}"
        assert not any(secret.encode() in blob for blob in stored), "a cookie is stored in plain text"
