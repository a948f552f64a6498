"""The qBittorrent login gate against PostgreSQL (no worker processes): closed for the refused
credentials only, opened by new settings (API or environment), parked jobs released, the alert."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from shared.download import qbit_gate, qbit_settings
from shared.engine import gates, ledger
from shared.infra.db import session_scope
from shared.models.alerts import Alert
from shared.models.jobs import Job

WORKER = ledger.Worker(name="test@host", host="host", pid=1)


def running_job() -> tuple[uuid.UUID, int]:
    with session_scope() as s:
        job_id: uuid.UUID = ledger.create_job(s, "probe", {"pool": "download"}).job.id
    with session_scope() as s:
        claim = ledger.claim(s, job_id, 1, 1, WORKER, attempt_cap=10, stale_after=30, pid_alive=lambda pid: True)
        assert claim.claimed is not None
        return job_id, claim.claimed.attempt_id


def job(job_id: uuid.UUID) -> Job:
    with session_scope() as s:
        found = s.get(Job, job_id)
        assert found is not None
        s.expunge(found)
        return found


def refuse() -> None:
    with session_scope() as s:
        qbit_gate.mark_refused(s, qbit_settings.load_connection(s), "qBittorrent at http://q: login refused")


def open_alerts() -> list[str]:
    with session_scope() as s:
        return [a.message for a in s.scalars(select(Alert).where(Alert.kind == qbit_gate.ALERT_KIND,
                                                                Alert.resolved_at.is_(None)))]


@pytest.fixture
def env(settings_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    from shared.infra.settings import get_settings

    monkeypatch.setenv("MAMC_QBIT_PASSWORD", "first-password")
    get_settings.cache_clear()
    return monkeypatch


def test_refusal_parks_and_new_settings_release(env: pytest.MonkeyPatch) -> None:
    with session_scope() as s:
        assert not qbit_gate.gate_closed(s)
    job_id, attempt_id = running_job()
    refuse()
    with session_scope() as s:
        assert qbit_gate.gate_closed(s)
        assert gates.park(s, job_id, attempt_id, gate=qbit_gate.GATE, reason="login refused",
                           still_closed=qbit_gate.gate_closed) == "parked"
    assert (job(job_id).state, job(job_id).parked_on) == ("waiting", qbit_gate.GATE)
    alerts = open_alerts()
    assert len(alerts) == 1 and "first-password" not in alerts[0]

    with session_scope() as s:  # same credentials: nothing to release
        assert qbit_gate.release_if_changed(s) == 0 and qbit_gate.gate_closed(s)
    with session_scope() as s:  # a new password through the API
        qbit_settings.save_password(s, "second-password")
        assert not qbit_gate.gate_closed(s)
        assert qbit_gate.settings_changed(s) == 1
    assert (job(job_id).state, job(job_id).parked_on) == ("queued", None) and open_alerts() == []


def test_an_environment_change_opens_the_gate(env: pytest.MonkeyPatch) -> None:
    from shared.infra.settings import get_settings

    job_id, attempt_id = running_job()
    refuse()
    with session_scope() as s:
        assert gates.park(s, job_id, attempt_id, gate=qbit_gate.GATE, reason="refused",
                           still_closed=qbit_gate.gate_closed) == "parked"
    env.setenv("MAMC_QBIT_PASSWORD", "fixed-in-the-environment")  # and the workers restarted
    get_settings.cache_clear()
    with session_scope() as s:
        assert not qbit_gate.gate_closed(s) and qbit_gate.release_if_changed(s) == 1
    with session_scope() as s:
        assert qbit_gate.release_if_changed(s) == 0  # the record is gone
    assert job(job_id).state == "queued" and open_alerts() == []


def test_a_job_parking_after_the_release_is_queued(env: pytest.MonkeyPatch) -> None:
    job_id, attempt_id = running_job()
    refuse()
    with session_scope() as s:
        qbit_settings.save_connection(s, url="http://127.0.0.1:8081", username="someone-else")
        assert qbit_gate.settings_changed(s) == 0
    with session_scope() as s:
        assert gates.park(s, job_id, attempt_id, gate=qbit_gate.GATE, reason="refused",
                           still_closed=qbit_gate.gate_closed) == "queued"
