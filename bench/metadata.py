"""Metadata benchmark: a gap scan over 1,000 series (100 with ``--quick``) is bounded by the rate limits.

The simulated world's owned books go into the ABS simulator and are synced; then ``gaps.detect``
runs on real metadata workers against the Audible, Audnexus and Hardcover simulators (their own
limits raised out of the way) with *our* limits set to ``LIMITS``. Each simulator timestamps the
requests it serves, so the achieved rate per provider is measured where it matters: at the
provider. A second scan inside the cache TTL must make no outside call at all.

Figures: per provider calls, active seconds, average calls/s and the busiest 10 s window's calls/s,
the configured limit/s and their ratios (the average includes the pauses between the scan's phases;
a busiest ratio at 1, never above 1 plus the burst, means the limiter, not the workers, set the
pace); the scan's recall and owned books listed against the world's ground truth; the second run's
calls and seconds.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.types import Receive, Scope, Send

from shared.engine.ratelimit import Limit
from tests.integration.stack import Stack
from tests.integration.test_metadata_world import gap_figures, run_job, serve_world, wanted_rows
from tests.sims.providers.common import SimApp
from tests.sims.world import generate_world

LIMITS = {"audible": "10/1/5", "audnexus": "10/1/5", "hardcover": "10/1/5"}
OTHER_LIMITS = {"abs": "5000/1/500", "itunes": "20/60/2", "openlibrary": "100/300/5", "googlebooks": "100/60/5",
                "mam": "1/3", "qbit": "10/1/10", "probe": "1000/1/100"}


class Timed:
    """An ASGI wrapper that timestamps every request a simulator serves."""

    def __init__(self, app: SimApp) -> None:
        self.app = app
        self.name = app.name
        self.times: list[float] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.times.append(time.monotonic())
        await self.app(scope, receive, send)


def _rate(times: list[float], limit: str) -> dict[str, Any]:
    configured = Limit.parse(limit)
    per_s = configured.limit / configured.period
    if len(times) < 2:
        return {"calls": len(times), "configured_limit_per_s": per_s}
    seconds = max(times) - min(times)
    achieved = (len(times) - 1) / seconds if seconds > 0 else float("inf")
    ordered = sorted(times)
    window, busiest, start = 10.0, 0, 0
    for end, t in enumerate(ordered):
        while t - ordered[start] > window:
            start += 1
        busiest = max(busiest, end - start + 1)
    peak = busiest / window if seconds >= window else achieved
    return {"calls": len(times), "seconds": round(seconds, 1), "calls_per_s": round(achieved, 2),
            "busiest_10s_calls_per_s": round(peak, 2), "configured_limit_per_s": per_s,
            "burst": configured.burst, "ratio": round(achieved / per_s, 3), "busiest_ratio": round(peak / per_s, 3)}


def run(stack: Stack, env: dict[str, str], quick: bool) -> dict[str, Any]:
    n_series = 100 if quick else 1000
    world = generate_world(n_series, seed=1)
    timed: dict[str, Timed] = {}

    def wrap(app: SimApp) -> Timed:
        timed[app.name.split("-")[0]] = Timed(app)
        return timed[app.name.split("-")[0]]

    from bench.library import fresh_database

    stack.stop()  # workers of earlier areas point at their own database: start from nothing
    stack.procs.clear()
    fresh_database(stack, env)
    served = serve_world(world, wrap=wrap)
    try:
        stack.env.update(served.env())
        stack.env["MAMC_RATE_LIMITS"] = json.dumps({**OTHER_LIMITS, **LIMITS})
        stack.env["MAMC_LOG_LEVEL"] = "WARNING"
        stack.worker("library_sync", concurrency=2)
        for _ in range(2):
            stack.worker("metadata", concurrency=8)
        started = time.monotonic()
        synced = run_job("library.sync", timeout=900)
        sync_seconds = time.monotonic() - started
        if synced.state != "succeeded":
            raise RuntimeError(f"library.sync {synced.state}: {synced.error}")
        started = time.monotonic()
        scan = run_job("gaps.detect", {"as_of": world.as_of.isoformat()}, timeout=3600)
        scan_seconds = time.monotonic() - started
        if scan.state != "succeeded":
            raise RuntimeError(f"gaps.detect {scan.state}: {scan.error}")
        figures = gap_figures(world, wanted_rows())
        first = {name: list(t.times) for name, t in timed.items()}
        for t in timed.values():
            t.times.clear()
        started = time.monotonic()
        again = run_job("gaps.detect", {"as_of": world.as_of.isoformat()}, timeout=1800)
        second_seconds = time.monotonic() - started
        if again.state != "succeeded":
            raise RuntimeError(f"second gaps.detect {again.state}: {again.error}")
        result: dict[str, Any] = {
            "gap_detection": {"series": n_series, "owned_items": len(world.owned_books),
                              "sync_seconds": round(sync_seconds, 1), "seconds": round(scan_seconds, 1),
                              "calls": sum(len(v) for v in first.values()), "true_gaps": figures.true_gaps,
                              "found": figures.found, "recall": round(figures.recall, 4),
                              "owned_listed": len(figures.owned_listed), "extra": len(figures.extra)},
            "second_run": {"calls": sum(len(t.times) for t in timed.values()), "seconds": round(second_seconds, 1)},
            "second_run_calls": sum(len(t.times) for t in timed.values()),
        }
        for name, times in first.items():
            result[f"provider_{name}"] = _rate(times, LIMITS[name])
        return result
    finally:
        served.stop()
