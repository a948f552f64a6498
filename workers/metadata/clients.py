"""Provider clients built from settings, each wired to its global rate limit and the PG cache.

The pipeline uses Audible (the primary marketplace: matching and series listings), Audnexus (ASINs
of other marketplaces) and Hardcover (ISBNs, complete series bibliographies). Google Books, Open
Library and iTunes carry no series or ASINs: they fill missing ISBNs and release dates
(``workers/metadata/print_stage.py``) when ``MAMC_METADATA_PRINT_PROVIDERS`` names them.

Every outgoing request first takes a slot of the provider's Redis-held limit (``ctx.throttle``):
short waits sleep, long ones raise ``RateLimited`` and the engine re-schedules the job without
counting an attempt. The job's earlier answers are in the cache, so its second run replays them
without outside calls. Credentials come from the encrypted store or the environment, never from
job arguments.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
from redis import Redis

from shared.infra.db import session_scope
from shared.infra.errors import RateLimited
from shared.infra.redis_client import get_redis
from shared.infra.secret_store import effective_secret
from shared.infra.settings import Settings, get_settings
from workers.context import JobContext
from workers.metadata.cache import PgResponseCache
from workers.metadata.providers._http import ProviderHttp
from workers.metadata.providers.audible import AudibleClient
from workers.metadata.providers.audnexus import AudnexusClient
from workers.metadata.providers.googlebooks import GoogleBooksClient
from workers.metadata.providers.hardcover import HardcoverClient
from workers.metadata.providers.itunes import ITunesClient
from workers.metadata.providers.openlibrary import OpenLibraryClient
from workers.upstream import Reply, UpstreamOptions, parse_retry_after
from workers.upstream.client import Params

log = logging.getLogger(__name__)

#: Longest wait for a rate-limit slot (or a provider's Retry-After) inside a job before handing the
#: wait to the engine, which re-schedules the job without counting an attempt.
THROTTLE_WAIT = 15.0
#: A request answered 429 is sent again after Retry-After at most this many times before the 429
#: becomes the job's error (and the pool's retry policy takes over).
MAX_429_WAITS = 6

_http: httpx.Client | None = None
_http_pid: int | None = None


def shared_http() -> httpx.Client:
    """One pooled HTTP client per process (made after fork): a fresh client per job costs a TLS
    context load (~30 ms) and a new connection per provider; per-request timeouts come from the
    provider clients."""
    global _http, _http_pid
    if _http is None or _http_pid != os.getpid():
        _http = httpx.Client(limits=httpx.Limits(max_connections=32, max_keepalive_connections=16))
        _http_pid = os.getpid()
    return _http


class ProviderPause:
    """A provider's 429 pauses every worker on every host, not only the job that met it.

    The pause is a Redis key that expires when the provider's Retry-After does; every request to
    that provider waits it out first (short waits sleep, long ones re-schedule the job, which is not
    an attempt). That is what "slow down" means: the whole pool backs off, nobody burns retries.
    """

    PREFIX = "mamc:pause:"

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    def hold(self, provider: str, seconds: float) -> None:
        key, ms = self.PREFIX + provider, max(1, int(seconds * 1000))
        if int(self._redis.pttl(key)) < ms:
            self._redis.set(key, "1", px=ms)

    def remaining(self, provider: str) -> float:
        ttl = int(self._redis.pttl(self.PREFIX + provider))
        return ttl / 1000 if ttl > 0 else 0.0

    def wait(self, provider: str, max_wait: float) -> None:
        left = self.remaining(provider)
        if left > max_wait:
            raise RateLimited(provider, left)
        if left > 0:
            time.sleep(left)


class _Polite(ProviderHttp):
    """Sends a request answered 429 again after its Retry-After, pausing the provider for everyone."""

    pause: ProviderPause | None = None

    def send(self, method: str, path: str, *, params: Params | None = None, body: Any = None,
             headers: Mapping[str, str] | None = None) -> Reply:
        reply = super().send(method, path, params=params, body=body, headers=headers)
        for _ in range(MAX_429_WAITS):
            if reply.status != 429 or self.pause is None:
                return reply
            wait = parse_retry_after(reply.headers.get("retry-after")) or 1.0
            self.pause.hold(self.provider, wait)
            if wait > THROTTLE_WAIT:
                return reply  # a long one: the job's retry honours Retry-After as its lower bound
            log.info("%s answered 429: every worker pauses %.1fs", self.provider, wait)
            self.pause.wait(self.provider, THROTTLE_WAIT)
            reply = super().send(method, path, params=params, body=body, headers=headers)
        return reply


class PoliteAudible(_Polite, AudibleClient):
    pass


class PoliteAudnexus(_Polite, AudnexusClient):
    pass


class PoliteHardcover(_Polite, HardcoverClient):
    pass


class PoliteGoogleBooks(_Polite, GoogleBooksClient):
    pass


class PoliteOpenLibrary(_Polite, OpenLibraryClient):
    pass


class PoliteITunes(_Polite, ITunesClient):
    pass


P = TypeVar("P", bound=_Polite)


class Clients:
    """Builds the clients one job uses, sharing the process's HTTP pool; ``listing`` clients keep
    answers for the shorter listing TTL, ``force`` ones skip cached answers (and store fresh ones)."""

    def __init__(self, ctx: JobContext | None, *, force: bool = False, listing: bool = False,
                 settings: Settings | None = None) -> None:
        self.ctx = ctx
        self.settings = settings or get_settings()
        self.cache = PgResponseCache(bypass_reads=force)
        self.ttl = self.settings.metadata_listing_cache_ttl if listing else self.settings.metadata_cache_ttl
        self.pause = ProviderPause(get_redis())

    def throttle(self, provider: str) -> Callable[[], None] | None:
        ctx = self.ctx
        if ctx is None:
            return None

        def take() -> None:
            self.pause.wait(provider, THROTTLE_WAIT)
            ctx.throttle(provider, max_wait=THROTTLE_WAIT)

        return take

    @property
    def region(self) -> str:
        return self.settings.metadata_regions[0]

    def options(self, provider: str, base_url: str) -> UpstreamOptions:
        """How every provider is reached: the shared pool, its global limit, the PG cache, the TTLs."""
        s = self.settings
        return UpstreamOptions(base_url, http=shared_http(), throttle=self.throttle(provider), cache=self.cache,
                               cache_ttl=self.ttl, negative_ttl=s.metadata_negative_cache_ttl,
                               timeout=s.metadata_timeout)

    def _polite(self, client: P) -> P:
        client.pause = self.pause
        return client

    def audible(self) -> AudibleClient:
        return self._polite(PoliteAudible(self.options("audible", self.settings.audible_url), region=self.region))

    def audnexus(self) -> AudnexusClient:
        return self._polite(PoliteAudnexus(self.options("audnexus", self.settings.audnexus_url)))

    def hardcover_token(self) -> str | None:
        with session_scope() as session:
            token, _ = effective_secret(session, "hardcover_token")
        return token

    def hardcover(self) -> HardcoverClient | None:
        """None when no token is configured: Hardcover is then skipped, and the results say so."""
        token = self.hardcover_token()
        if not token:
            return None
        return self._polite(PoliteHardcover(self.options("hardcover", self.settings.hardcover_url), token=token))

    def googlebooks(self) -> GoogleBooksClient:
        """Works without a key too (anonymous calls share a small quota)."""
        with session_scope() as session:
            key, _ = effective_secret(session, "googlebooks_key")
        return self._polite(PoliteGoogleBooks(self.options("googlebooks", self.settings.googlebooks_url), key=key))

    def openlibrary(self) -> OpenLibraryClient:
        return self._polite(PoliteOpenLibrary(self.options("openlibrary", self.settings.openlibrary_url)))

    def itunes(self) -> ITunesClient:
        return self._polite(PoliteITunes(self.options("itunes", self.settings.itunes_url)))

    def print_clients(self, names: list[str]) -> dict[str, GoogleBooksClient | OpenLibraryClient | ITunesClient]:
        """The print catalogues to ask, in the configured order."""
        out: dict[str, GoogleBooksClient | OpenLibraryClient | ITunesClient] = {}
        for name in names:
            out[name] = (self.googlebooks() if name == "googlebooks" else
                         self.openlibrary() if name == "openlibrary" else self.itunes())
        return out
