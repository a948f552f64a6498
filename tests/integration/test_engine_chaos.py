"""Kills: a pool process, a whole worker (as a host dying), Redis (clean restart and SIGKILL).

Each ends with every job succeeded and its effect recorded exactly once (``probe_runs`` has one
row per job and generation, whatever ``executions`` says about how often the body ran).
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
from sqlalchemy import func, select

from shared.devstack.postgres_server import EmbeddedPostgres
from shared.devstack.redis_server import EmbeddedRedis
from shared.engine import ledger
from shared.infra.db import engine, session_scope
from shared.models.jobs import Job
from shared.models.probe import ProbeRun
from tests.integration.stack import Stack, attempts, job, wait_for, wait_state

pytestmark = [pytest.mark.slow, pytest.mark.chaos]

BEAT_LOCK = "mamc:redbeat::lock"


def enqueue(pool: str, seconds: float = 0.0, n: int = 1) -> list[uuid.UUID]:
    with session_scope() as s:
        ids = [ledger.create_job(s, "probe", {"pool": pool, "seconds": seconds}).job.id for _ in range(n)]
    return ids


def effects(job_id: uuid.UUID) -> list[ProbeRun]:
    with session_scope() as s:
        return list(s.scalars(select(ProbeRun).where(ProbeRun.job_id == job_id)))


def beat_holds_lock(redis_server: EmbeddedRedis) -> None:
    """Wait until a beat holds RedBeat's lock, so it runs (and sweeps) before a test breaks Redis.

    Why: ``stack.beat()`` does not wait, and a beat that only starts after Redis came back never
    sees its lock vanish. Whether the Redis-restart test caught the beat dying with its lock
    depended on how fast the beat process started, which varied with machine and test order.
    """
    with redis_server.client() as client:
        wait_for(lambda: client.exists(BEAT_LOCK), 60, 0.1, what="a beat to hold its lock")


def running_attempt_pid(job_id: uuid.UUID) -> int:
    wait_state(job_id, ("running",), 30)
    return wait_for(lambda: attempts(job_id)[-1].pid, 10, what="attempt pid")


def test_sigkill_of_the_pool_process_running_a_job(stack: Stack) -> None:
    stack.worker("library_sync", concurrency=2)
    [job_id] = enqueue("library_sync", seconds=4)
    pid = running_attempt_pid(job_id)
    os.kill(pid, signal.SIGKILL)
    done = wait_state(job_id, ("succeeded", "failed", "dead"), 60)
    assert done.state == "succeeded", stack.logs()
    outcomes = [a.outcome for a in attempts(job_id)]
    assert outcomes == ["lost", "succeeded"], outcomes
    [effect] = effects(job_id)
    assert effect.executions == 1


def test_sigkill_of_a_whole_worker_recovers_on_another(stack: Stack) -> None:
    victim = stack.worker("download", concurrency=2)
    stack.beat()  # the sweeper lives in beat: it notices the missing heartbeats
    ids = enqueue("download", seconds=5, n=2)
    for job_id in ids:
        wait_state(job_id, ("running",), 30)
    victim.kill_group()
    stack.worker("download", concurrency=2)
    for job_id in ids:
        done = wait_state(job_id, ("succeeded", "failed", "dead"), 90)
        assert done.state == "succeeded", stack.logs()
        rows = attempts(job_id)
        assert [a.outcome for a in rows] == ["lost", "succeeded"]
        assert rows[0].worker != rows[1].worker
        assert len(effects(job_id)) == 1


@pytest.mark.parametrize("how", ["clean", "sigkill", "wiped"])
def test_redis_restart_mid_run_loses_no_job(stack: Stack, redis_server: EmbeddedRedis, how: str) -> None:
    """Workers reconnect and consume again; whatever Redis lost, the ledger's sweeper re-publishes."""
    stack.worker("metadata", concurrency=2)
    stack.worker("metadata", concurrency=2)
    stack.beat()
    beat_holds_lock(redis_server)  # the beat must live through the restart, not start after it
    ids = enqueue("metadata", seconds=0.3, n=40)
    wait_for(lambda: _count_done(ids) >= 5, 60, what="some jobs done before the restart")
    if how == "clean":
        redis_server.stop()
    else:
        redis_server.kill()
    redis_server.start()
    if how == "wiped":  # it came back empty (no persistence, or a lost disk): only the ledger remembers
        with redis_server.client() as client:
            client.flushall()
    more = enqueue("metadata", seconds=0.1, n=10)  # published after the restart
    try:
        wait_for(lambda: _count_done(ids + more) == 50, 150, 0.5, what="every job succeeded")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_diagnose(ids + more, redis_server)}\n{stack.logs()}") from None
    with session_scope() as s:
        states = dict(
            s.execute(select(Job.state, func.count()).where(Job.id.in_(ids + more)).group_by(Job.state)).all()
        )
        runs = s.scalar(select(func.count()).select_from(ProbeRun).where(ProbeRun.job_id.in_(ids + more)))
    assert states == {"succeeded": 50}, stack.logs()
    assert runs == 50


def test_deliveries_while_postgresql_is_down_are_published_again(stack: Stack, pg_server: EmbeddedPostgres,
                                                                 redis_url: str) -> None:
    """A worker takes messages it cannot claim (the ledger is unreachable): they fail and are acked,
    and once PostgreSQL is back the sweeper sees them lost and publishes them again."""
    import redis as redis_lib

    from shared.engine.celery_app import publisher
    from shared.engine.queue_stats import live_workers

    stack.worker("crawl", concurrency=2)
    names = [w["name"] for w in live_workers(redis_lib.Redis.from_url(redis_url)) if w.get("pool") == "crawl"]
    publisher().control.cancel_consumer("crawl", destination=names, reply=True, timeout=5.0)
    # A BRPOP the worker issued before the cancel is still blocked in Redis and would take the first
    # message pushed; it returns empty within kombu's brpop_timeout (1 s), so let it expire first.
    time.sleep(2.5)
    ids = enqueue("crawl", seconds=0.0, n=6)
    client = redis_lib.Redis.from_url(redis_url)
    assert client.llen("crawl") == 6
    pg_server.stop()
    try:
        publisher().control.add_consumer("crawl", destination=names, reply=True, timeout=5.0)
        wait_for(lambda: client.llen("crawl") == 0 and client.hlen("unacked") == 0, 60, 0.2,
                 what="the worker to take (and fail) every delivery")
    finally:
        pg_server.start()
    engine().dispose()  # this process's own idle connections died with the server it restarted
    stack.beat()
    wait_for(lambda: _count_done(ids) == 6, 90, 0.5, what="every job succeeded after PostgreSQL came back")
    assert all(len(effects(j)) == 1 for j in ids)


def _diagnose(ids: list[uuid.UUID], redis_server: EmbeddedRedis) -> str:
    """What the ledger and Redis say about jobs that did not finish (for a failed chaos run)."""
    from shared.engine.dispatch import WITNESS_KEY, task_id

    with session_scope() as s:
        rows = s.execute(select(Job.id, Job.state, Job.generation, Job.dispatch_seq, Job.dispatched_at,
                                Job.attempts, Job.error).where(Job.id.in_(ids), Job.state != "succeeded")).all()
    with redis_server.client() as client:
        witness = {m.decode() for m in client.smembers(WITNESS_KEY)}
        queued = client.llen("metadata")
        unacked = client.hlen("unacked")
    lines = [f"queue metadata: {queued} messages, unacked: {unacked}"]
    lines += [f"{r.id} {r.state} gen={r.generation} seq={r.dispatch_seq} dispatched_at={r.dispatched_at} "
              f"attempts={r.attempts} in_witness={task_id(r.id, r.generation, r.dispatch_seq) in witness} "
              f"error={r.error}"
              for r in rows]
    return "\n".join(lines)


def _count_done(ids: list[uuid.UUID]) -> int:
    with session_scope() as s:
        return int(
            s.scalar(select(func.count()).select_from(Job).where(Job.id.in_(ids), Job.state == "succeeded")) or 0
        )


def test_second_beat_does_not_double_ticks(stack: Stack) -> None:
    stack.env["MAMC_SCHEDULE_PROBE_SECONDS"] = "1"
    stack.env["MAMC_SCHEDULE_PROBE_POOL"] = "crawl"
    first = stack.beat()
    second = stack.beat()
    wait_for(lambda: _ticks() >= 6, 60, 0.5, what="six ticks")
    first.kill_group()  # the standby takes over once the lock times out
    before = _ticks()
    wait_for(lambda: _ticks() >= before + 3, 60, 0.5, what="ticks from the standby beat")
    assert second.alive()
    with session_scope() as s:
        created = sorted(s.scalars(select(Job.created_at).where(Job.type == "probe")))
        keys = list(s.scalars(select(Job.schedule_key).where(Job.type == "probe")))
    assert len(keys) == len(set(keys))
    gaps = [(b - a).total_seconds() for a, b in zip(created, created[1:], strict=False)]
    assert min(gaps) > 0.5, f"two ticks {min(gaps):.3f}s apart: a tick was doubled"


def test_beat_lives_through_redis_coming_back_empty(stack: Stack, redis_server: EmbeddedRedis) -> None:
    """A Redis that comes back empty takes the beat lock and RedBeat's schedule with it: the beats
    live on (one takes the lock again, the other stands by), ticks go on, and the sweeper publishes
    again the job whose message was lost. Before, the lock holder's next tick raised
    LockNotOwnedError and the beat, with the sweeper in it, exited."""
    stack.env["MAMC_SCHEDULE_PROBE_SECONDS"] = "1"
    stack.env["MAMC_SCHEDULE_PROBE_POOL"] = "crawl"
    first = stack.beat()
    beat_holds_lock(redis_server)
    second = stack.beat()
    wait_for(lambda: "beat: Starting" in second.tail(400), 60, 0.2, what="a standby beat waiting for the lock")
    wait_for(lambda: _ticks() >= 3, 60, 0.5, what="ticks before the wipe")
    [lost] = enqueue("download")  # no download worker: its message waits in Redis, and is lost with it
    redis_server.kill()
    redis_server.start()
    with redis_server.client() as client:
        client.flushall()
    before = _ticks()
    wait_for(lambda: job(lost).dispatch_seq >= 2, 60, 0.5, what="the lost job published again")
    wait_for(lambda: _ticks() >= before + 3, 60, 0.5, what="ticks after the wipe")
    with redis_server.client() as client:
        assert client.exists(BEAT_LOCK) and client.llen("download") >= 1
    assert first.alive() and second.alive(), stack.logs()
    with session_scope() as s:
        created = sorted(s.scalars(select(Job.created_at).where(Job.schedule_key.is_not(None))))
    gaps = [(b - a).total_seconds() for a, b in zip(created, created[1:], strict=False)]
    assert min(gaps) > 0.5, f"two ticks {min(gaps):.3f}s apart: both beats ticked"


def _ticks() -> int:
    """Jobs the beat created (a job created by a test has no schedule key)."""
    with session_scope() as s:
        return int(s.scalar(select(func.count()).select_from(Job)
                            .where(Job.type == "probe", Job.schedule_key.is_not(None))) or 0)
