"""Global rate limits shared by every worker process on every host.

A GCRA (generic cell rate algorithm) bucket per key, evaluated atomically in Redis by one Lua
script using Redis' own clock (``TIME``), so hosts with skewed clocks still share one limit.
Each key allows ``limit`` calls per ``period`` seconds, spaced evenly, with up to ``burst``
calls back to back. Keys name the outside service and, where the outside world counts per
account, the account: ``mam:<account>``, ``audnexus``, ``abs``.

Why GCRA rather than a moving window: it stores one number per key, answers "when is the next
slot" exactly (that is what a parked task needs), and never lets more than ``burst`` calls
through at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.infra.errors import RateLimited

if TYPE_CHECKING:
    from redis import Redis
    from redis.asyncio import Redis as AsyncRedis

_GCRA = """
local key = KEYS[1]
local interval = tonumber(ARGV[1])   -- microseconds between calls
local tolerance = tonumber(ARGV[2])  -- microseconds of burst allowance
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', key) or now)
if tat < now then tat = now end
local allow_at = tat - tolerance
if now < allow_at then
  return allow_at - now
end
local new_tat = tat + interval
redis.call('SET', key, new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return 0
"""

#: A call is leaving now: the next slot opens no earlier than one interval from now.
_STAMP = """
local key = KEYS[1]
local interval = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', key) or 0)
local floor = now + interval
if floor > tat then
  redis.call('SET', key, floor, 'PX', math.ceil(interval / 1000) + 1000)
end
return 0
"""


@dataclass(frozen=True)
class Limit:
    """``limit`` calls per ``period`` seconds, at most ``burst`` back to back."""

    limit: int
    period: float
    burst: int = 1

    @property
    def interval_us(self) -> int:
        return max(1, int(self.period / self.limit * 1_000_000))

    @property
    def tolerance_us(self) -> int:
        return self.interval_us * (max(1, self.burst) - 1)

    @classmethod
    def parse(cls, text: str) -> Limit:
        """Parse ``"100/60"`` or ``"100/60/5"`` (limit/period-seconds[/burst])."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3):
            raise ValueError(f"rate limit {text!r}: expected LIMIT/PERIOD_SECONDS[/BURST], e.g. 100/60")
        limit, period = int(parts[0]), float(parts[1])
        burst = int(parts[2]) if len(parts) == 3 else 1
        if limit <= 0 or period <= 0 or burst <= 0:
            raise ValueError(f"rate limit {text!r}: every part must be positive")
        return cls(limit=limit, period=period, burst=burst)


def limit_for(limits: dict[str, Limit], key: str) -> Limit:
    """The limit of ``key`` itself (``mam:<account>``) or else of its service (``mam``)."""
    service = key.split(":", 1)[0]
    try:
        return limits[key] if key in limits else limits[service]
    except KeyError:
        raise KeyError(f"no rate limit configured for {key!r} (known: {sorted(limits)})") from None


class RateLimiter:
    """Acquire slots from Redis-held GCRA buckets.

    ``try_acquire`` never blocks: it returns 0.0 when a slot was taken, else the seconds until
    the next slot. ``acquire`` sleeps for short waits (``max_wait``) and raises
    :class:`RateLimited` for longer ones, which the task base turns into a re-schedule.
    """

    PREFIX = "mamc:rl:"

    def __init__(self, redis: Redis[Any], limits: dict[str, Limit]) -> None:
        self._redis = redis
        self._limits = dict(limits)
        self._script = redis.register_script(_GCRA)
        self._stamp = redis.register_script(_STAMP)

    def limit_for(self, key: str) -> Limit:
        return limit_for(self._limits, key)

    def stamp(self, key: str) -> None:
        """The call whose slot was just taken is leaving *now*: no slot opens before one interval from now.

        A slot is granted some time before its call leaves (checks, a database read, a busy CPU):
        without this, a call delayed after its grant and the next one sent promptly arrive closer
        than the interval. Stamping right before sending moves the next slot to one interval after
        the call really leaves, so the spacing holds where the other side sees it (the send path
        after the stamp is all that is left of the jitter), at the cost of that delay per call.
        Meant for spacing limits (burst 1, as MAM's); with a burst it only makes the limit stricter."""
        lim = self.limit_for(key)
        self._stamp(keys=[self.PREFIX + key], args=[lim.interval_us])

    def try_acquire(self, key: str) -> float:
        lim = self.limit_for(key)
        wait_us = int(self._script(keys=[self.PREFIX + key], args=[lim.interval_us, lim.tolerance_us]))
        return wait_us / 1_000_000

    def acquire(self, key: str, *, max_wait: float = 5.0) -> None:
        deadline = time.monotonic() + max_wait
        while True:
            wait = self.try_acquire(key)
            if wait <= 0:
                return
            if time.monotonic() + wait > deadline:
                raise RateLimited(key, wait)
            time.sleep(wait)


class AsyncRateLimiter:
    """The same buckets for code on an event loop (the gateway's per-key limit): same script, keys, clock."""

    def __init__(self, redis: AsyncRedis[Any], limits: dict[str, Limit]) -> None:
        self._limits = dict(limits)
        self._script = redis.register_script(_GCRA)

    async def try_acquire(self, key: str) -> float:
        lim = limit_for(self._limits, key)
        wait_us = int(await self._script(keys=[RateLimiter.PREFIX + key], args=[lim.interval_us, lim.tolerance_us]))
        return wait_us / 1_000_000
