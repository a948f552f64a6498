"""Live events never block or break the commit path: a slow or unreachable Redis costs dropped
events (counted), not a stalled worker, and a burst goes out in pipelined batches."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import redis.exceptions

from shared.engine import events


class SlowPipe:
    def __init__(self, sent: list[Any], gate: threading.Event, fail: bool) -> None:
        self.sent, self.gate, self.fail, self.batch = sent, gate, fail, []

    def publish(self, channel: str, data: str) -> None:
        self.batch.append((channel, data))

    def execute(self) -> None:
        self.gate.wait(5)
        if self.fail:
            raise redis.exceptions.ConnectionError("down")
        self.sent.append(self.batch)


class FakeRedis:
    def __init__(self, *, fail: bool = False) -> None:
        self.sent: list[list[tuple[str, str]]] = []
        self.gate = threading.Event()
        self.fail = fail

    def pipeline(self, transaction: bool) -> SlowPipe:
        assert transaction is False
        return SlowPipe(self.sent, self.gate, self.fail)


def test_emit_returns_at_once_while_redis_hangs_and_batches_the_backlog(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRedis()
    monkeypatch.setattr(events, "get_redis", lambda: fake)
    publisher = events._Publisher()
    start = time.monotonic()
    for i in range(300):
        publisher.put(events.job_event(f"00000000-0000-0000-0000-{i:012d}", "queued", "probe", "crawl"))
    assert time.monotonic() - start < 0.5  # the first batch is stuck in execute(); nobody waited for it
    fake.gate.set()
    deadline = time.monotonic() + 5
    while sum(len(b) for b in fake.sent) < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sum(len(b) for b in fake.sent) == 300
    assert len(fake.sent) < 300  # pipelined: the backlog went out in a few batches
    assert all(channel == events.CHANNEL for batch in fake.sent for channel, _ in batch)


def test_an_unreachable_redis_drops_and_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRedis(fail=True)
    fake.gate.set()
    monkeypatch.setattr(events, "get_redis", lambda: fake)
    publisher = events._Publisher()
    for _ in range(5):
        publisher.put(events.pool_event("crawl", True))
    deadline = time.monotonic() + 5
    while publisher.dropped < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert publisher.dropped == 5


def test_a_full_queue_drops_instead_of_blocking(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRedis()  # never released: the thread holds one batch, the queue fills up
    monkeypatch.setattr(events, "get_redis", lambda: fake)
    monkeypatch.setattr(events, "_QUEUE_SIZE", 10)
    monkeypatch.setattr(events, "_BATCH", 1)
    publisher = events._Publisher()
    start = time.monotonic()
    for _ in range(50):
        publisher.put(events.pool_event("crawl", False))
    assert time.monotonic() - start < 0.5
    assert 50 - 10 - 1 <= publisher.dropped <= 50 - 10  # 10 queued, at most 1 in the stuck batch
    fake.gate.set()
