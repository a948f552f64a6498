"""What a client is configured with, in one value instead of seven keyword arguments per constructor.

Fields left ``None`` fall back to the client class's own default (ABS waits longer than a metadata
provider; Hardcover answers stay cached longer than Audible's), so a test can build a client from a
base URL and an in-process transport alone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Protocol

import httpx

#: Called before every request that leaves the process (each redirect hop too); the project's global
#: Redis limiter plugs in here and may raise :class:`shared.infra.errors.RateLimited`, which propagates.
Throttle = Callable[[], None]



class ResponseCache(Protocol):
    """Where a client keeps answers (the metadata providers back it with a PostgreSQL table).

    Bodies are opaque bytes to the cache; ``provider`` lets the table be purged per provider. What is
    cached, and for how long, is the provider base's decision (``workers/metadata/providers/_http.py``).
    The ``_many`` forms exist for batched endpoints (Audible's ``asins=``) that keep one entry per item,
    so a batch costs one round trip to the cache, not fifty.
    """

    def get(self, provider: str, key: str) -> bytes | None: ...

    def put(self, provider: str, key: str, body: bytes, ttl: float) -> None: ...

    def get_many(self, provider: str, keys: Collection[str]) -> dict[str, bytes]:
        """The live entries among ``keys`` (absent keys are misses)."""
        ...

    def put_many(self, provider: str, bodies: Mapping[str, bytes], ttl: float) -> None: ...


DEFAULT_USER_AGENT = "MAMcrawler/0.1 (audiobook metadata; https://github.com/mamcrawler)"
#: Far above any answer we expect (an ABS batch of 100 expanded items is a few MB; an Audible page of
#: 50 products ~1 MB) and far below what would hurt a worker's memory.
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class UpstreamOptions:
    """How to reach one service. ``secrets`` are redacted from every message; credentials a client
    takes itself (a token, an API key) are added to them by the client."""

    base_url: str
    _: KW_ONLY
    http: httpx.Client | None = field(default=None, repr=False)
    throttle: Throttle | None = field(default=None, repr=False)
    timeout: float | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    user_agent: str = DEFAULT_USER_AGENT
    secrets: tuple[str, ...] = field(default=(), repr=False)
    cache: ResponseCache | None = field(default=None, repr=False)
    cache_ttl: float | None = None
    negative_ttl: float | None = None

    def __post_init__(self) -> None:
        if self.max_response_bytes < 1:
            raise ValueError("max_response_bytes must be positive")
