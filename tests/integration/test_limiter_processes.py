"""The global limiter, shared by several real processes, never exceeds its limit."""

from __future__ import annotations

import multiprocessing as mp
import time

import pytest
import redis

from shared.engine.ratelimit import Limit, RateLimiter

pytestmark = pytest.mark.slow

LIMIT = Limit(limit=20, period=1.0, burst=1)


def _hammer(url: str, seconds: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    client = redis.Redis.from_url(url)
    limiter = RateLimiter(client, {"svc": LIMIT})
    granted: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        wait = limiter.try_acquire("svc")
        if wait <= 0:
            t = client.time()
            granted.append(t[0] + t[1] / 1e6)  # Redis' clock: the one the limiter uses
        else:
            time.sleep(min(wait, 0.05))
    out.put(granted)


def test_limit_holds_across_processes(redis_url: str) -> None:
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_hammer, args=(redis_url, 3.0, out)) for _ in range(4)]
    for p in procs:
        p.start()
    stamps = sorted(t for _ in procs for t in out.get(timeout=30))
    for p in procs:
        p.join(10)
    assert len(stamps) >= 40, "the limiter granted almost nothing"
    # In any window of one period, at most limit calls (+ burst - 1); GCRA spaces them evenly.
    allowed = LIMIT.limit + LIMIT.burst - 1
    j = 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - LIMIT.period:
            j += 1
        assert i - j + 1 <= allowed + 1, f"{i - j + 1} grants within {LIMIT.period}s (limit {allowed})"
    # spacing: the mean interval is no shorter than the emission interval
    span = stamps[-1] - stamps[0]
    assert (len(stamps) - 1) / span <= LIMIT.limit / LIMIT.period * 1.02


def test_a_stamp_moves_the_next_slot_to_one_interval_after_the_call_leaves(redis_url: str) -> None:
    """A call held up after its grant: without the stamp the next slot opens one interval after the
    grant (the two calls would leave 0.3 s apart); with it, one interval after the call leaves."""
    limiter = RateLimiter(redis.Redis.from_url(redis_url), {"spaced": Limit(limit=1, period=0.5, burst=1)})
    assert limiter.try_acquire("spaced") == 0
    time.sleep(0.2)  # the checks between grant and send, on a busy machine
    assert 0 < limiter.try_acquire("spaced") <= 0.3, "unstamped: the next slot is due 0.5 s after the grant"
    limiter.stamp("spaced")
    assert 0.4 <= limiter.try_acquire("spaced") <= 0.5, "stamped: the next slot is 0.5 s after the call left"
    time.sleep(0.5)
    assert limiter.try_acquire("spaced") == 0
    limiter.stamp("spaced")  # a prompt call: the stamp changes (almost) nothing
    assert 0.4 <= limiter.try_acquire("spaced") <= 0.5
