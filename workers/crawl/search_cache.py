"""Single-flight and cached MAM searches: the same query within a few minutes makes one request.

Why: automatic searching, a person clicking "search" and a second wanted entry asking the same
words all land on one account whose budget is one request every 3 s. The answer is kept in Redis
(shared by every worker on every host) for ``MAMC_MAM_SEARCH_CACHE_SECONDS``; while one process is
asking, others asking the same query wait for its answer instead of sending their own.

The key is a hash of the request body MAM receives, so two queries are "the same" exactly when MAM
would see the same request. Only answers that parsed are kept: an error is never cached. With the
cache off (0 s) an answer is still kept for :data:`HANDOFF_SECONDS`, long enough to hand it to
processes that were waiting for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from workers.crawl.mam_query import MamQuery, MamSearchPage
from workers.crawl.mam_rows import parse_search_body

log = logging.getLogger(__name__)

PREFIX = "mamc:mam:search:"
HANDOFF_SECONDS = 10.0
#: How long the asking process may hold the flight; beyond it another process may ask (it died).
FLIGHT_SECONDS = 90.0
POLL_SECONDS = 0.2


def cache_key(query: MamQuery) -> str:
    body = json.dumps(query.body(), sort_keys=True, separators=(",", ":"))
    return PREFIX + hashlib.sha256(body.encode()).hexdigest()[:32]


class SearchCache:
    """``fetch(query, ask)``: the cached page, or ``ask()``'s (one asker at a time per query)."""

    def __init__(self, redis: Any, ttl: float, *, wait: float = FLIGHT_SECONDS,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._redis = redis
        self._keep_ms = int(max(ttl, HANDOFF_SECONDS) * 1000)
        self._wait = wait
        self._sleep = sleep

    def _cached(self, key: str, query: MamQuery) -> MamSearchPage | None:
        raw = self._redis.get(key)
        if raw is None:
            return None
        return parse_search_body(json.loads(raw), query)

    def fetch(self, query: MamQuery,
              ask: Callable[[MamQuery], tuple[MamSearchPage, Any]]) -> tuple[MamSearchPage, bool]:
        """(page, answered from the cache?)."""
        key = cache_key(query)
        flight = key + ":flight"
        deadline = time.monotonic() + self._wait
        while True:
            page = self._cached(key, query)
            if page is not None:
                return page, True
            token = uuid.uuid4().hex
            if self._redis.set(flight, token, nx=True, px=int(FLIGHT_SECONDS * 1000)):
                try:
                    page, data = ask(query)
                    self._redis.set(key, json.dumps(data, separators=(",", ":")), px=self._keep_ms)
                    return page, False
                finally:
                    # only our own flight; the get-then-delete race (our flight expiring in between and
                    # another process taking it) costs at worst one extra request, never a wrong answer
                    held = self._redis.get(flight)
                    if held is not None and (held.decode() if isinstance(held, bytes) else held) == token:
                        self._redis.delete(flight)
            if time.monotonic() >= deadline:
                log.warning("a MAM search asked elsewhere did not answer within %.0fs; asking again", self._wait)
                page, _ = ask(query)
                return page, False
            self._sleep(POLL_SECONDS)
