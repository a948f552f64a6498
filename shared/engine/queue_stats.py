"""What Redis holds per queue: depth and the age of the oldest waiting message.

Kombu's Redis transport keeps one list per queue and priority step (``name``, ``name\\x06\\x163``
...), pushes on the left and pops on the right, so the oldest message is at index -1. Our
dispatcher stamps ``mamc_published`` into every message's headers, which is how its age is known.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from shared.engine.pools import QUEUES

PRIORITY_SEP = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)


def queue_keys(queue: str) -> list[str]:
    return [queue if step == 0 else f"{queue}{PRIORITY_SEP}{step}" for step in PRIORITY_STEPS]


@dataclass(frozen=True)
class QueueStat:
    queue: str
    depth: int
    oldest_age: float | None


def queue_stats(redis: Any, queues: tuple[str, ...] = QUEUES) -> dict[str, QueueStat]:
    pipe = redis.pipeline()
    for q in queues:
        for key in queue_keys(q):
            pipe.llen(key)
            pipe.lindex(key, -1)
    raw = pipe.execute()
    now = time.time()
    out: dict[str, QueueStat] = {}
    per = len(PRIORITY_STEPS) * 2
    for i, q in enumerate(queues):
        chunk = raw[i * per:(i + 1) * per]
        depth = sum(int(n) for n in chunk[0::2])
        ages = [a for a in (_age(m, now) for m in chunk[1::2]) if a is not None]
        out[q] = QueueStat(q, depth, max(ages) if ages else None)
    return out


def _age(message: bytes | None, now: float) -> float | None:
    if not message:
        return None
    try:
        published = json.loads(message)["headers"].get("mamc_published")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return max(0.0, now - float(published)) if published is not None else None


def live_workers(redis: Any) -> list[dict[str, Any]]:
    keys = list(redis.scan_iter(match="mamc:worker:*", count=500))
    if not keys:
        return []
    values = redis.mget(keys)
    workers = []
    for value in values:
        if value:
            try:
                workers.append(json.loads(value))
            except ValueError:
                continue  # a half-written key expires within seconds
    return workers
