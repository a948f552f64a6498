"""``download.monitor``: the job body, where its qBittorrent client comes from, and its registration.

The cycle itself is ``workers/download/cycle.py``. What a worker process keeps between cycles is
:data:`MEMORY` (when it last read qBittorrent's global share limits: empty in a new process, so
each start-up checks them) and, inside the client, the ``sync/maindata`` rid that makes a
steady-state cycle cost one call.

The client comes from a factory set with :func:`set_client_factory`, asked on every cycle with the
job's ``qbit`` slot-taker. The pool's factory is the lead's wiring of
``workers.download.qbit.connect`` (one client per process and per credentials, so the rid lasts;
``throttle=`` takes the slot-taker; a refused login closes ``shared.download.qbit_gate``), the same
way ``download.grab`` gets its client; tests set a fake (``Throttled`` gives a client without a
throttle hook of its own one slot per call). Without a factory the job fails with a
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

#: Takes one ``qbit`` rate-limit slot (the job's ``ctx.throttle("qbit")``).
TakeSlot = Callable[[], None]
ClientFactory = Callable[[TakeSlot], TorrentClient]

_factory: ClientFactory | None = None
MEMORY = MonitorMemory()


def set_client_factory(factory: ClientFactory | None) -> None:
    """Use ``factory`` for the qBittorrent client from the next cycle on."""
    global _factory
    _factory = factory


def client_for(take_slot: TakeSlot) -> TorrentClient:
    if _factory is None:
        raise ConfigError("download.monitor has no qBittorrent client: the download pool sets one with "
                          "workers.download.monitor.set_client_factory")
    return _factory(take_slot)


def download_monitor(ctx: JobContext[NoArgs]) -> dict[str, Any]:
    """One cycle: every torrent of our category reconciled with its row; the report is the result."""
    client = client_for(lambda: ctx.throttle("qbit"))
    with session_scope() as s:
        report = run_cycle(s, client, utcnow(), MonitorConfig.from_settings(get_settings()), MEMORY)
    return report.result()


def register(app: Celery) -> None:
    job_task(app, DOWNLOAD_MONITOR)(download_monitor)
