"""The ledger's state machine and the sweeper against real PostgreSQL and Redis (no workers)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import redis as redis_lib
from sqlalchemy import select, update

from shared.engine import ledger, sweeper
from shared.engine.dispatch import WITNESS_KEY, task_id
from shared.engine.sweeper import sweep
from shared.infra import clock
from shared.infra.db import session_scope
from shared.infra.settings import get_settings
from shared.models.jobs import Job, JobAttempt

ME = ledger.Worker(name="t@host", host="host-a", pid=4242)


def make(**kw: object) -> uuid.UUID:
    with session_scope() as s:
        return ledger.create_job(s, "probe", {"pool": "crawl"}, **kw).job.id  # type: ignore[arg-type]


def claim(job_id: uuid.UUID, gen: int = 1, seq: int = 1, worker: ledger.Worker = ME,
          alive: bool = True) -> ledger.Claim:
    with session_scope() as s:
        return ledger.claim(s, job_id, gen, seq, worker, attempt_cap=3, stale_after=30,
                            pid_alive=lambda pid: alive)


def get(job_id: uuid.UUID) -> Job:
    with session_scope() as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


@pytest.fixture
def r(settings_env: dict[str, str]) -> redis_lib.Redis:
    return redis_lib.Redis.from_url(settings_env["MAMC_REDIS_URL"])


def test_enqueue_after_commit_only(r: redis_lib.Redis) -> None:
    with pytest.raises(RuntimeError):
        with session_scope() as s:
            ledger.create_job(s, "probe", {"pool": "crawl"})
            raise RuntimeError("rollback")
    assert r.llen("crawl") == 0
    job_id = make()
    assert r.llen("crawl") == 1 and r.sismember(WITNESS_KEY, task_id(job_id, 1, 1))


def test_claim_admits_only_the_current_dispatch(r: redis_lib.Redis) -> None:
    job_id = make()
    assert claim(job_id, seq=2).noop and "stale" in (claim(job_id, seq=2).noop or "")
    first = claim(job_id)
    assert first.claimed is not None
    assert claim(job_id, worker=ledger.Worker("other@x", "host-b", 1)).noop == "already running elsewhere"
    with session_scope() as s:
        ledger.succeed(s, job_id, first.attempt_id, {"ok": 1})
    assert "duplicate" in (claim(job_id).noop or "")
    assert get(job_id).state == "succeeded"


def test_dead_process_on_this_host_is_taken_over(r: redis_lib.Redis) -> None:
    job_id = make()
    assert claim(job_id).claimed is not None
    second = claim(job_id, worker=ledger.Worker("t2@host", "host-a", 999), alive=False)
    assert second.claimed is not None and second.claimed.attempts == 2
    with session_scope() as s:
        outcomes = list(s.scalars(select(JobAttempt.outcome).where(JobAttempt.job_id == job_id)
                                  .order_by(JobAttempt.id)))
    assert outcomes == ["lost", "running"]


def test_attempt_cap_dead_letters_a_poison_message(r: redis_lib.Redis) -> None:
    job_id = make()
    for _ in range(3):
        assert claim(job_id, alive=False).claimed is not None
    capped = claim(job_id, alive=False)
    assert capped.noop == "attempt cap reached"
    assert get(job_id).state == "dead" and "attempt cap" in (get(job_id).error or "")


def test_expired_job_is_not_run(r: redis_lib.Redis) -> None:
    job_id = make(expires_in=0.001)
    import time

    time.sleep(0.01)
    assert claim(job_id).noop == "expired"
    assert get(job_id).state == "cancelled"


def test_dedupe_and_schedule_keys(r: redis_lib.Redis) -> None:
    a = make(dedupe_key="sync:1")
    assert make(dedupe_key="sync:1") == a
    b = make(schedule_key="beat:x:1")
    assert make(schedule_key="beat:x:1") == b
    assert r.llen("crawl") == 2


def test_rate_limit_wait_is_not_an_attempt(r: redis_lib.Redis) -> None:
    job_id = make()
    c = claim(job_id)
    assert c.claimed is not None
    with session_scope() as s:
        assert ledger.defer(s, job_id, c.attempt_id, wait=0.5, max_countdown=300) == "queued"
    job = get(job_id)
    assert (job.state, job.attempts, job.rate_limit_waits, job.dispatch_seq) == ("queued", 0, 1, 2)
    with session_scope() as s:
        assert s.scalar(select(JobAttempt).where(JobAttempt.job_id == job_id)) is None


def test_long_wait_is_parked_and_the_sweeper_publishes_it_when_due(r: redis_lib.Redis) -> None:
    job_id = make()
    c = claim(job_id)
    assert c.claimed is not None
    with session_scope() as s:
        ledger.defer(s, job_id, c.attempt_id, wait=3600, max_countdown=300)
    assert get(job_id).dispatched_at is None  # parked: no message waits in Redis for an hour
    with session_scope() as s:
        assert sweep(s, r, get_settings()).parked_published == 0
        s.execute(update(Job).where(Job.id == job_id).values(not_before=clock.utcnow()))
    with session_scope() as s:
        assert sweep(s, r, get_settings()).parked_published == 1
    assert r.sismember(WITNESS_KEY, task_id(job_id, 1, 2))


def test_sweeper_republishes_only_lost_messages(r: redis_lib.Redis) -> None:
    waiting, lost = make(), make()
    old = clock.utcnow() - timedelta(minutes=5)
    with session_scope() as s:
        s.execute(update(Job).where(Job.id.in_([waiting, lost])).values(dispatched_at=old))
    _drop_message(r, "crawl", task_id(lost, 1, 1))
    r.srem(WITNESS_KEY, task_id(lost, 1, 1))  # as if Redis had lost it (the waiting one is still queued)
    with session_scope() as s:
        report = sweep(s, r, get_settings())
    assert report.lost_republished == 1
    assert get(lost).dispatch_seq == 2 and get(waiting).dispatch_seq == 1
    assert "stale" in (claim(lost, seq=1).noop or "")  # the lost message, if it ever reappears, does nothing


def _drop_message(r: redis_lib.Redis, queue: str, tid: str) -> None:
    """Remove the message of ``tid`` from ``queue``, leaving every other message in place."""
    [raw] = [m for m in r.lrange(queue, 0, -1) if m.startswith(b"{") and json.loads(m)["headers"]["id"] == tid]
    r.lrem(queue, 1, raw)


def test_sweeper_republishes_a_witnessed_message_that_is_nowhere(r: redis_lib.Redis,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker popped the message and died (or lost Redis) before recording it unacked: the
    witness entry stays but the message is in no queue and not held. That job is lost too; one
    whose message still waits in its queue, however long, is not."""
    waiting, popped = make(), make()
    old = clock.utcnow() - timedelta(minutes=5)
    with session_scope() as s:
        s.execute(update(Job).where(Job.id.in_([waiting, popped])).values(dispatched_at=old))
    _drop_message(r, "crawl", task_id(popped, 1, 1))
    assert r.smismember(WITNESS_KEY, [task_id(waiting, 1, 1), task_id(popped, 1, 1)]) == [1, 1]
    monkeypatch.setattr(sweeper, "QUEUE_PEEK", 1)  # the second, deeper read is the one that finds it
    r.lpush("crawl", *[b"not a celery message"] * 3)  # newer messages in front of the waiting one
    with session_scope() as s:
        report = sweep(s, r, get_settings())
    assert report.lost_republished == 1, report
    assert get(popped).dispatch_seq == 2 and get(waiting).dispatch_seq == 1
    assert r.sismember(WITNESS_KEY, task_id(popped, 1, 2))
    assert "stale" in (claim(popped, seq=1).noop or "")

    # A queue longer than the sweeper reads proves nothing: the job is left until it drains.
    _drop_message(r, "crawl", task_id(popped, 1, 2))
    with session_scope() as s:
        s.execute(update(Job).where(Job.id == popped).values(dispatched_at=old))
    monkeypatch.setattr(sweeper, "QUEUE_SCAN_CAP", 2)
    with session_scope() as s:
        assert sweep(s, r, get_settings()).lost_republished == 0
    monkeypatch.setattr(sweeper, "QUEUE_SCAN_CAP", 10)
    with session_scope() as s:
        assert sweep(s, r, get_settings()).lost_republished == 1
    assert get(popped).dispatch_seq == 3 and get(waiting).dispatch_seq == 1


def test_sweeper_requeues_jobs_whose_worker_stopped_heartbeating(r: redis_lib.Redis) -> None:
    job_id = make()
    assert claim(job_id).claimed is not None
    with session_scope() as s:
        s.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=clock.utcnow() - timedelta(minutes=1)))
    with session_scope() as s:
        assert sweep(s, r, get_settings()).dead_workers_requeued == 1
    job = get(job_id)
    assert job.state == "queued" and job.dispatch_seq == 2
    assert claim(job_id, seq=2).claimed is not None


def test_parent_waits_and_last_child_completes_it(r: redis_lib.Redis) -> None:
    parent = make()
    c = claim(parent)
    assert c.claimed is not None
    with session_scope() as s:
        state = ledger.succeed(s, parent, c.attempt_id, {"fanned": 2},
                               [("probe", {"pool": "crawl"}, None), ("probe", {"pool": "crawl"}, None)])
    assert state == "waiting"
    with session_scope() as s:
        kids = list(s.scalars(select(Job.id).where(Job.parent_id == parent)))
    for n, kid in enumerate(kids):
        kc = claim(kid)
        assert kc.claimed is not None
        with session_scope() as s:
            ledger.succeed(s, kid, kc.attempt_id, {})
        assert get(parent).state == ("waiting" if n == 0 else "succeeded")
    assert get(parent).result == {"fanned": 2, "children_failed": 0}


def test_prune_keeps_failures(r: redis_lib.Redis) -> None:
    ok, bad = make(), make()
    for job_id, state in ((ok, "succeeded"), (bad, "failed")):
        with session_scope() as s:
            s.execute(update(Job).where(Job.id == job_id).values(
                state=state, finished_at=clock.utcnow() - timedelta(days=30)))
    with session_scope() as s:
        assert sweep(s, r, get_settings()).pruned == 1
    with session_scope() as s:
        assert s.get(Job, ok) is None and s.get(Job, bad) is not None
