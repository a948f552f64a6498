"""Provider outages against real worker processes: slow down, lose nothing, fail only what must fail.

1. 429 storms (with Retry-After), 5xx answers and timeouts on Audible and Hardcover during a gap
   scan: a 429 pauses every worker for its Retry-After (no attempt spent), 5xx and timeouts retry
   with backoff, every job ends ``succeeded``, and the wanted list is exactly the one a fault-free
   forced rescan produces.
2. Hardcover down for good: the jobs that need Hardcover end ``dead`` with its error as a readable
   reason, every Audible job succeeds, each series is still computed from Audible's listing (its
   job then fails saying so, and so does the scan), and no owned book is listed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text

from shared.infra.db import session_scope
from shared.models.jobs import Job, JobAttempt
from tests.integration.stack import Stack
from tests.integration.test_metadata_gaps import FAST_LIMITS
from tests.integration.test_metadata_world import ServedWorld, gap_figures, jobs_of, run_job, serve_world, wanted_rows
from tests.sims.world import generate_world

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world24() -> Iterator[ServedWorld]:
    served = serve_world(generate_world(24, seed=11))
    yield served
    served.stop()


@pytest.fixture
def outage_stack(stack: Stack, world24: ServedWorld) -> Iterator[Stack]:
    for app in world24.sims.values():
        app.state.clear_faults()
    stack.env.update(world24.env())
    stack.env["MAMC_RATE_LIMITS"] = json.dumps(FAST_LIMITS)
    stack.env["MAMC_METADATA_TIMEOUT"] = "1.5"
    yield stack
    for app in world24.sims.values():
        app.state.clear_faults()


def _scan(world24: ServedWorld, *, force: bool = False) -> Job:
    return run_job("gaps.detect", {"as_of": world24.world.as_of.isoformat(), "force": force}, timeout=300)


def _wanted_keys() -> set[tuple[str, str | None]]:
    with session_scope() as s:
        return {(k, p) for k, p in s.execute(text("SELECT key, position FROM wanted"))}


def test_storms_errors_and_timeouts_slow_the_scan_but_lose_nothing(outage_stack: Stack, world24: ServedWorld) -> None:
    policies = json.loads(outage_stack.env["MAMC_RETRY_POLICIES"])
    outage_stack.env["MAMC_RETRY_POLICIES"] = json.dumps({**policies, "metadata": "0.3/3/9"})
    outage_stack.worker("library_sync")
    outage_stack.worker("metadata", concurrency=4)
    assert run_job("library.sync", timeout=120).state == "succeeded"
    audible, hardcover = world24.sims["audible"].state, world24.sims["hardcover"].state
    audible.storm_429(times=12, retry_after="1")
    audible.fail(503, times=6)
    audible.slow(3.0, times=3)
    hardcover.storm_429(times=8, retry_after="1")
    hardcover.fail(502, times=4)
    hardcover.slow(3.0, times=2)
    done = _scan(world24)
    assert done.state == "succeeded", (done.error, done.result)
    assert audible.faults == [] and hardcover.faults == []  # every injected fault was met
    with session_scope() as s:
        states = {st: n for st, n in s.execute(select(Job.state, func.count()).group_by(Job.state))}
        retries = s.scalar(select(func.count()).select_from(JobAttempt).where(JobAttempt.outcome == "retry"))
        reasons = [e for (e,) in s.execute(select(JobAttempt.error).where(JobAttempt.outcome == "retry"))]
    assert set(states) == {"succeeded"}, states
    assert any("HTTP 503" in r or "HTTP 502" in r for r in reasons), reasons
    assert any("no answer within" in r for r in reasons), reasons
    assert not any("HTTP 429" in r for r in reasons), "a 429 is waited out, it costs no attempt"
    logs = "".join(p.log.read_text() for p in outage_stack.procs if p.name == "worker-metadata")
    assert "answered 429: every worker pauses" in logs
    under_faults = _wanted_keys()
    figures = gap_figures(world24.world, wanted_rows())
    print(f"\n[outages] {retries} retries absorbed; {figures.line()}")
    assert figures.owned_listed == []
    # the same scan without faults, every answer fetched again: the very same wanted list
    again = _scan(world24, force=True)
    assert again.state == "succeeded", again.error
    assert _wanted_keys() == under_faults


def test_a_provider_that_stays_down_dead_letters_only_its_jobs(outage_stack: Stack, world24: ServedWorld) -> None:
    outage_stack.worker("library_sync")
    outage_stack.worker("metadata", concurrency=4)
    assert run_job("library.sync", timeout=120).state == "succeeded"
    world24.sims["hardcover"].state.fail(503, times=None)
    done = _scan(world24)
    assert done.state == "failed" and "did not succeed" in (done.error or ""), (done.state, done.error)
    hardcover_jobs = [j for j in jobs_of("gaps.listing") if j.args["provider"] == "hardcover"]
    hardcover_jobs += jobs_of("metadata.match_isbn")
    assert hardcover_jobs
    for job in hardcover_jobs:
        assert job.state == "dead", (job.type, job.state, job.error)
        assert "retries exhausted" in (job.error or "") and "hardcover: HTTP 503" in (job.error or ""), job.error
    audible_jobs = [j for j in jobs_of("gaps.listing") if j.args["provider"] == "audible"]
    audible_jobs += jobs_of("metadata.match")
    assert audible_jobs and {j.state for j in audible_jobs} == {"succeeded"}
    for job in jobs_of("gaps.detect_series"):
        assert job.state == "failed" and "hardcover listing did not arrive" in (job.error or ""), job.error
    with session_scope() as s:
        partial = [r["failed"][0]["provider"] for (r,) in s.execute(text("SELECT result FROM metadata_series"))]
    assert partial and set(partial) == {"hardcover"}
    figures = gap_figures(world24.world, wanted_rows())
    print(f"\n[outages] Hardcover down: {len(hardcover_jobs)} jobs dead; from Audible alone: {figures.line()}")
    assert figures.found > 0.8 * figures.true_gaps
    assert figures.owned_listed == []
