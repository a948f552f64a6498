"""The MAM account's request budget: the limiter key, and the account-wide back-off after 429/5xx.

The spacing itself is the engine's GCRA limiter (``MAMC_RATE_LIMITS["mam"]``, default ``1/3/1``: one
request every 3 s on all hosts, no burst). On top of it, a 429 or a 5xx from MAM closes the budget
for every process for the server's ``Retry-After`` (else ``MAMC_MAM_BACKOFF_SECONDS``): one key in
Redis whose TTL is the remaining wait, so every host reads the same deadline from Redis' clock.
"""

from __future__ import annotations

from typing import Any

from shared.crawl.session import ACCOUNT

#: The engine limiter key every MAM request takes a slot of (one account per installation today).
THROTTLE_KEY = "mam"

_EXTEND = """
local current = redis.call('PTTL', KEYS[1])
if current < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 0
"""


def backoff_key(account: str = ACCOUNT) -> str:
    return f"mamc:mam:{account}:backoff_until"


def back_off(redis: Any, seconds: float, account: str = ACCOUNT) -> None:
    """Close the budget for ``seconds`` from now; never shortens a longer back-off already set."""
    ms = max(1, int(seconds * 1000))
    redis.eval(_EXTEND, 1, backoff_key(account), ms)


def backoff_remaining(redis: Any, account: str = ACCOUNT) -> float:
    """Seconds until MAM may be asked again (0 when no back-off is set)."""
    ms = int(redis.pttl(backoff_key(account)))
    return ms / 1000 if ms > 0 else 0.0
