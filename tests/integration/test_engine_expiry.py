"""A job whose message expires in its queue is settled by the worker that drops it, not left ``queued``.

Celery drops an expired message before any task code runs (it "revokes" it), so the ledger's own
expiry check in the claim never sees it. Without the worker's handler the row stayed ``queued`` until
the sweeper's grace, and a singleton type (every periodic job) could not be enqueued again meanwhile:
the demo's busy download pool missed monitor ticks that way.
"""

from __future__ import annotations

import time
import uuid

import pytest
import redis as redis_lib
from sqlalchemy import select

from shared.engine import ledger
from shared.engine.dispatch import WITNESS_KEY
from shared.infra.db import session_scope
from shared.models.jobs import Job
from tests.integration.stack import Stack, wait_for

pytestmark = pytest.mark.slow


def _job(job_id: uuid.UUID) -> Job:
    with session_scope() as s:
        job = s.scalar(select(Job).where(Job.id == job_id))
        assert job is not None
        s.expunge(job)
        return job


def test_a_message_expired_in_its_queue_cancels_its_job(stack: Stack) -> None:
    with session_scope() as s:
        expiring = ledger.create_job(s, "probe", {"pool": "download"}, expires_in=1.0).job.id
        lasting = ledger.create_job(s, "probe", {"pool": "download"}).job.id
    time.sleep(1.5)  # no worker yet: the first message expires in the queue
    stack.worker("download", concurrency=1)  # no beat, so no sweeper: only the worker can settle it
    wait_for(lambda: _job(lasting).state == "succeeded", 30, what="the lasting job to run")
    wait_for(lambda: _job(expiring).state == "cancelled", 30, what="the expired job to be cancelled")
    job = _job(expiring)
    assert job.error == "expired before it could run" and job.attempts == 0
    client = redis_lib.Redis.from_url(stack.env["MAMC_REDIS_URL"])
    assert not [m for m in client.smembers(WITNESS_KEY) if m.decode().startswith(str(expiring))]
