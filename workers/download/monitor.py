"""``download.monitor``: the job body, the qBittorrent client it uses, and its registration.

The cycle itself is ``workers/download/cycle.py``. This module holds what a worker process keeps
between cycles: the client (its ``sync/maindata`` position, the ``rid``, lives in it, which is what
makes a steady-state cycle cost one call) and :class:`~workers.download.cycle.MonitorMemory`.
Both start empty in a new process: its first snapshot is a full one and its first cycle checks
qBittorrent's global share limits.

The client comes from a factory set with :func:`set_client_factory` (the pool's qBittorrent
client, ``workers/download/qbit.py``; tests set a fake). Without one the job fails with a
``ConfigError`` saying so, rather than guessing a client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery

from shared.download.monitor_jobs import DOWNLOAD_MONITOR
from shared.download.torrents import TorrentClient
from shared.engine.jobtypes import NoArgs
from shared.infra.clock import utcnow
from shared.infra.db import session_scope
from shared.infra.errors import ConfigError
from shared.infra.settings import get_settings
from workers.base import job_task
from workers.context import JobContext
from workers.download.cycle import MonitorConfig, MonitorMemory, run_cycle
from workers.download.throttled import Throttled

ClientFactory = Callable[[], TorrentClient]

_factory: ClientFactory | None = None
_client: TorrentClient | None = None
MEMORY = MonitorMemory()


def set_client_factory(factory: ClientFactory | None) -> None:
    """Use ``factory`` for the qBittorrent client from now on (the cached client is dropped)."""
    global _factory, _client
    _factory, _client = factory, None


def current_client() -> TorrentClient:
    global _client
    if _client is None:
        if _factory is None:
            raise ConfigError("download.monitor has no qBittorrent client: the download pool sets one with "
                              "workers.download.monitor.set_client_factory")
        _client = _factory()
    return _client


def download_monitor(ctx: JobContext[NoArgs]) -> dict[str, Any]:
    """One cycle: every torrent of our category reconciled with its row; the report is the result."""
    client = Throttled(current_client(), lambda: ctx.throttle("qbit"))
    with session_scope() as s:
        report = run_cycle(s, client, utcnow(), MonitorConfig.from_settings(get_settings()), MEMORY)
    return report.result()


def register(app: Celery) -> None:
    job_task(app, DOWNLOAD_MONITOR)(download_monitor)
