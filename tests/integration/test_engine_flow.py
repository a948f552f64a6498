"""Gateway → Redis → the right pool → ledger, with real processes; retries, dead letters, replay."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.stack import Stack, api_headers, attempts, wait_state

pytestmark = pytest.mark.slow

POOLS = ("crawl", "metadata", "download", "library_sync")


def test_job_goes_gateway_queue_pool_ledger(stack: Stack, api_key: str) -> None:
    for pool in POOLS:
        stack.worker(pool, concurrency=1)
    _, base = stack.api()
    ids = {}
    for pool in POOLS:
        r = httpx.post(f"{base}/api/v1/jobs", json={"type": "probe", "args": {"pool": pool}},
                       headers=api_headers(api_key))
        assert r.status_code == 202, r.text
        assert r.json()["state"] == "queued" and r.json()["queue"] == pool
        ids[pool] = r.json()["id"]
    for pool, job_id in ids.items():
        done = wait_state(job_id, ("succeeded", "failed", "dead"), 60)
        assert done.state == "succeeded", stack.logs()
        assert done.result["pool"] == pool
        [attempt] = attempts(job_id)
        assert attempt.worker.startswith(f"{pool}-"), f"{pool} job ran on {attempt.worker}"
        assert attempt.pid == done.result["pid"] and attempt.outcome == "succeeded"
    body = httpx.get(f"{base}/api/v1/jobs/{ids['crawl']}", headers=api_headers(api_key)).json()
    assert body["state"] == "succeeded" and len(body["attempt_log"]) == 1
    pools = httpx.get(f"{base}/api/v1/pools", headers=api_headers(api_key)).json()
    assert {p["pool"]: p["live_consumers"] for p in pools} == dict.fromkeys(POOLS, 1)


def test_transient_failure_retries_with_backoff_then_succeeds(stack: Stack, api_key: str) -> None:
    stack.worker("download", concurrency=1)
    _, base = stack.api()
    r = httpx.post(f"{base}/api/v1/jobs", json={"type": "probe", "args": {"pool": "download", "fail_times": 2}},
                   headers=api_headers(api_key))
    done = wait_state(r.json()["id"], ("succeeded", "failed", "dead"), 60)
    assert done.state == "succeeded", stack.logs()
    rows = attempts(done.id)
    assert [a.outcome for a in rows] == ["retry", "retry", "succeeded"]
    assert "planned transient failure 1 of 2" in (rows[0].error or "")
    # policy 0.5/2/3 (FAST_ENV): retry n waits uniform(ceiling/2, ceiling), ceiling = 0.5 * 2**(n-1)
    for n, (before, after) in enumerate(zip(rows, rows[1:], strict=False), start=1):
        assert before.ended_at is not None
        gap = (after.started_at - before.ended_at).total_seconds()
        assert gap >= 0.5 * 2 ** (n - 1) / 2 - 0.05, f"retry {n} came after {gap:.2f}s, before its backoff"


def test_exhausted_retries_dead_letter_then_replay(stack: Stack, api_key: str) -> None:
    stack.worker("library_sync", concurrency=1)
    _, base = stack.api()
    # max_retries 3 → 4 attempts, all planned to fail; the replay's first attempt is the 5th.
    r = httpx.post(f"{base}/api/v1/jobs",
                   json={"type": "probe", "args": {"pool": "library_sync", "fail_times": 4}},
                   headers=api_headers(api_key))
    job_id = r.json()["id"]
    dead = wait_state(job_id, ("succeeded", "failed", "dead"), 60)
    assert dead.state == "dead", stack.logs()
    assert "retries exhausted after 4 attempts" in (dead.error or "")
    listed = httpx.get(f"{base}/api/v1/jobs", params={"state": "dead"}, headers=api_headers(api_key)).json()
    assert [j["id"] for j in listed["items"]] == [job_id]
    replay = httpx.post(f"{base}/api/v1/jobs/{job_id}/retry", headers=api_headers(api_key))
    assert replay.status_code == 200 and replay.json()["generation"] == 2
    done = wait_state(job_id, ("succeeded", "failed", "dead"), 60)
    assert done.state == "succeeded" and done.generation == 2
    assert [a.generation for a in attempts(job_id)] == [1, 1, 1, 1, 2]
    again = httpx.post(f"{base}/api/v1/jobs/{job_id}/retry", headers=api_headers(api_key))
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")


def test_cancel_running_job(stack: Stack, api_key: str) -> None:
    stack.worker("metadata", concurrency=1)
    _, base = stack.api()
    r = httpx.post(f"{base}/api/v1/jobs", json={"type": "probe", "args": {"pool": "metadata", "seconds": 30}},
                   headers=api_headers(api_key))
    job_id = r.json()["id"]
    wait_state(job_id, ("running",), 30)
    c = httpx.post(f"{base}/api/v1/jobs/{job_id}/cancel", headers=api_headers(api_key))
    assert c.status_code == 200 and c.json()["state"] == "cancelled"
    from tests.integration.stack import wait_for

    wait_for(lambda: attempts(job_id)[-1].outcome == "cancelled", 10, what="attempt noticed the cancel")


def test_rate_limit_waits_are_not_attempts(stack: Stack) -> None:
    """Four probes share a 1-per-2s limit: they run one slot apart, each with exactly one attempt."""
    from shared.engine import ledger
    from shared.infra.db import session_scope

    stack.env["MAMC_RATE_LIMITS"] = '{"probe": "1/2"}'
    stack.worker("crawl", concurrency=2)
    with session_scope() as s:
        ids = [ledger.create_job(s, "probe", {"pool": "crawl"}).job.id for _ in range(4)]
    done = [wait_state(i, ("succeeded", "failed", "dead"), 60) for i in ids]
    assert [d.state for d in done] == ["succeeded"] * 4
    assert [d.attempts for d in done] == [1, 1, 1, 1]
    assert sum(d.rate_limit_waits for d in done) >= 3
    starts = sorted(attempts(d.id)[0].started_at for d in done)
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 1.8, gaps  # never faster than the limit


def test_pause_and_resume_a_pool(stack: Stack, api_key: str) -> None:
    stack.worker("download", concurrency=1)
    _, base = stack.api()
    h = api_headers(api_key)
    paused = httpx.post(f"{base}/api/v1/pools/download/pause", headers=h)
    assert paused.status_code == 200 and paused.json()["paused"] is True
    from tests.integration.stack import job, wait_for

    wait_for(lambda: not next(p for p in httpx.get(f"{base}/api/v1/pools", headers=h).json()
                              if p["pool"] == "download")["live_consumers"], 20, 0.5, what="consumer cancelled")
    job_id = httpx.post(f"{base}/api/v1/jobs", json={"type": "probe", "args": {"pool": "download"}},
                        headers=h).json()["id"]
    import time

    time.sleep(3)
    assert job(job_id).state == "queued"
    pool = next(p for p in httpx.get(f"{base}/api/v1/pools", headers=h).json() if p["pool"] == "download")
    assert pool["backlog"] == 1 and pool["oldest_waiting_job"]["id"] == job_id
    # a worker started while the pool is paused honours the pause too
    stack.worker("download", concurrency=1)
    time.sleep(2)
    assert job(job_id).state == "queued"
    assert httpx.post(f"{base}/api/v1/pools/download/resume", headers=h).json()["paused"] is False
    assert wait_state(job_id, ("succeeded",), 30).state == "succeeded"
