"""The MAM session's rules against PostgreSQL (no worker processes): epochs, stale refusals, renewals,
and parking racing a release.

The races are the reason for the gate lock and the epoch: a 403 or a renewed cookie answering an
old cookie must not undo a value a person just entered, and a job that decides to park just as the
gate opens must be queued, not stranded.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from shared.crawl import session as mam
from shared.engine import gates, ledger
from shared.infra.db import session_scope
from shared.infra.secret_store import stored_secret
from shared.models.alerts import Alert
from shared.models.jobs import Job

WORKER = ledger.Worker(name="test@host", host="host", pid=1)


def running_job() -> tuple[uuid.UUID, int]:
    """An account.refresh job claimed as if a worker ran it: (job id, attempt id)."""
    with session_scope() as s:
        job_id: uuid.UUID = ledger.create_job(s, "account.refresh", {}).job.id
    with session_scope() as s:
        claim = ledger.claim(s, job_id, 1, 1, WORKER, attempt_cap=10, stale_after=30, pid_alive=lambda pid: True)
        assert claim.claimed is not None
        return job_id, claim.claimed.attempt_id


def row(job_id: uuid.UUID) -> Job:
    with session_scope() as s:
        found = s.get(Job, job_id)
        assert found is not None
        s.expunge(found)
        return found


def enter(value: str) -> int:
    with session_scope() as s:
        return mam.enter_cookie(s, value)


def test_unset_then_entered_then_refused_then_entered_again(settings_env: dict[str, Any]) -> None:
    with session_scope() as s:
        assert mam.view(s).state == "unset" and mam.gate_closed(s)
    enter("cookie-one-0123456789")
    with session_scope() as s:
        cookie = mam.current_cookie(s)
        assert cookie is not None and cookie.epoch == 1 and cookie.source == "stored"
        assert "cookie-one" not in repr(cookie)
        assert mam.mark_invalid(s, 1, "cookie-one-0123456789", "MAM: HTTP 403")
    with session_scope() as s:
        assert mam.view(s).state == "invalid" and mam.gate_closed(s)
        assert s.scalar(select(Alert).where(Alert.kind == mam.ALERT_KIND, Alert.resolved_at.is_(None)))
        assert mam.mark_invalid(s, 1, "cookie-one-0123456789", "again")  # a second 403: still one alert
    enter("cookie-two-0123456789")
    with session_scope() as s:
        assert mam.view(s).state == "valid" and not mam.gate_closed(s)
        alerts = list(s.scalars(select(Alert)))
        assert len(alerts) == 1 and alerts[0].resolved_at is not None


def test_a_late_403_or_renewal_for_an_old_cookie_changes_nothing(settings_env: dict[str, Any]) -> None:
    enter("cookie-one-0123456789")
    enter("cookie-two-0123456789")  # epoch 2
    with session_scope() as s:
        assert not mam.mark_invalid(s, 1, "cookie-one-0123456789", "late 403 for the first cookie")
        assert not mam.keep_renewed(s, 1, "renewed-from-one-0123456789")
    with session_scope() as s:
        assert mam.view(s).state == "valid"
        assert stored_secret(s, mam.SECRET_NAME) == "cookie-two-0123456789"
        # a renewal of the current cookie is kept; then a 403 to the value it replaced changes nothing
        assert mam.keep_renewed(s, 2, "renewed-from-two-0123456789")
    with session_scope() as s:
        assert stored_secret(s, mam.SECRET_NAME) == "renewed-from-two-0123456789"
        assert not mam.mark_invalid(s, 2, "cookie-two-0123456789", "403 to the superseded value")
        assert mam.view(s).state == "valid"


def test_parking_counts_no_attempt_and_the_release_queues_the_job(settings_env: dict[str, Any]) -> None:
    enter("cookie-one-0123456789")
    job_id, attempt_id = running_job()
    with session_scope() as s:
        assert mam.mark_invalid(s, 1, "cookie-one-0123456789", "MAM: HTTP 403")
    with session_scope() as s:
        assert gates.park(s, job_id, attempt_id, gate=mam.GATE, reason="403",
                           still_closed=mam.gate_closed) == "parked"
    parked = row(job_id)
    assert (parked.state, parked.parked_on, parked.attempts, parked.lifetime_attempts) == ("waiting", mam.GATE, 0, 0)
    assert parked.dispatched_at is None
    seq = parked.dispatch_seq
    with session_scope() as s:  # a stale delivery of the parked job does nothing
        claim = ledger.claim(s, job_id, 1, seq, WORKER, attempt_cap=10, stale_after=30, pid_alive=lambda p: True)
        assert claim.claimed is None and claim.noop == f"parked until {mam.GATE} opens"
    assert enter("cookie-two-0123456789") == 1
    released = row(job_id)
    assert (released.state, released.parked_on, released.error) == ("queued", None, None)
    assert released.dispatch_seq == seq + 1 and released.dispatched_at is not None


def test_a_job_parking_after_the_gate_reopened_is_queued_not_stranded(settings_env: dict[str, Any]) -> None:
    enter("cookie-one-0123456789")
    job_id, attempt_id = running_job()
    with session_scope() as s:
        assert mam.mark_invalid(s, 1, "cookie-one-0123456789", "MAM: HTTP 403")
    assert enter("cookie-two-0123456789") == 0  # the release ran before this job parked
    with session_scope() as s:
        outcome = gates.park(s, job_id, attempt_id, gate=mam.GATE, reason="403", still_closed=mam.gate_closed)
    assert outcome == "queued"
    again = row(job_id)
    assert (again.state, again.parked_on, again.attempts) == ("queued", None, 0)


def test_current_account_refreshes_only_when_unknown_or_too_old(settings_env: dict[str, Any]) -> None:
    from sqlalchemy import update

    from shared.models.crawl import MamAccountSnapshot
    from tests.sims.mam import BASE_URL, MamSimState, mam_http_client
    from workers.crawl.account import current_account
    from workers.crawl.mam_client import MamClient
    from workers.upstream import UpstreamOptions

    state = MamSimState()
    client = MamClient(UpstreamOptions(BASE_URL, http=mam_http_client(state)), state.session)
    assert current_account(client, max_age=3600).classname == "Power User"  # unknown: asks MAM
    assert len(state.log) == 1
    state.account.classname = "VIP"
    assert current_account(client, max_age=3600).classname == "Power User"  # fresh: the stored one
    assert len(state.log) == 1
    with session_scope() as s:
        s.execute(update(MamAccountSnapshot).values(fetched_at=MamAccountSnapshot.fetched_at - timedelta(hours=2)))
    refreshed = current_account(client, max_age=3600)
    assert refreshed.classname == "VIP" and refreshed.is_vip and len(state.log) == 2
