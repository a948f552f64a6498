"""A redis-py client per process (created after fork) for everything that is not Celery's transport:
the witness set, rate-limit buckets, worker presence, queue depths."""

from __future__ import annotations

import os

import redis

from shared.infra.errors import ConfigError

_client: redis.Redis[bytes] | None = None
_pid = 0


def get_redis() -> redis.Redis[bytes]:
    global _client, _pid
    if _client is None or _pid != os.getpid():
        from shared.infra.settings import get_settings

        url = get_settings().redis_url
        if not url:
            raise ConfigError("MAMC_REDIS_URL is not set (or run everything with `mamcrawler up`)")
        _client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3,
                                       health_check_interval=15, decode_responses=False)
        _pid = os.getpid()
    return _client
