"""``download.monitor``: the job body, where its qBittorrent client comes from, and its registration.

The cycle itself is ``workers/download/cycle.py``. What a worker process keeps between cycles is
:data:`MEMORY` (when it last read qBittorrent's global share limits: empty in a new process, so
each start-up checks them) and, inside the client, the ``sync/maindata`` rid that makes a
steady-state cycle cost one call (the tracker checks are ``download.trackers``'s; their answers are
on the rows).

The client comes from :data:`ClientFactory`, asked on every cycle with the job's ``qbit``
slot-taker. The pool's (:func:`pool_client`) is the one ``download.grab`` uses,
``workers.download.qbit_session.qbit_client``: one client per process and per credentials (so the
rid lasts), and a refused login parks the job on the ``qbit_login`` gate with an alert instead of
retrying into qBittorrent's ban. Tests set a fake with :func:`set_client_factory` (``Throttled``
gives a client without a throttle hook of its own one slot per call).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from celery import Celery

from shared.download.monitor_jobs import DOWNLOAD_MONITOR
from shared.download.torrents import TorrentClient
from shared.engine.jobtypes import NoArgs
from shared.infra.clock import utcnow
from shared.infra.db import session_scope
from shared.infra.settings import get_settings
from workers.base import job_task
from workers.context import JobContext
from workers.download.cycle import MonitorConfig, MonitorMemory, run_cycle
from workers.download.qbit_session import qbit_client

#: Takes one ``qbit`` rate-limit slot (the job's ``ctx.throttle("qbit")``).
TakeSlot = Callable[[], None]
ClientFactory = Callable[[TakeSlot], AbstractContextManager[TorrentClient]]

MEMORY = MonitorMemory()


@contextmanager
def pool_client(take_slot: TakeSlot) -> Iterator[TorrentClient]:
    """The pool's qBittorrent client, taking a ``qbit`` slot before each call."""
    with qbit_client() as client:
        client.throttle = take_slot
        try:
            yield client
        finally:
            client.throttle = None


_factory: ClientFactory = pool_client


def set_client_factory(factory: ClientFactory | None) -> None:
    """Use ``factory`` for the qBittorrent client from the next cycle on (None: the pool's own)."""
    global _factory
    _factory = factory or pool_client


def client(take_slot: TakeSlot) -> AbstractContextManager[TorrentClient]:
    """The qBittorrent client of a cycle (and of a ``download.trackers`` run: workers/download/trackers.py)."""
    return _factory(take_slot)


def download_monitor(ctx: JobContext[NoArgs]) -> dict[str, Any]:
    """One cycle: every torrent of our category reconciled with its row; the report is the result."""
    with client(lambda: ctx.throttle("qbit")) as qbit, session_scope() as s:
        report = run_cycle(s, qbit, utcnow(), MonitorConfig.from_settings(get_settings()), MEMORY)
    return report.result()


def register(app: Celery) -> None:
    job_task(app, DOWNLOAD_MONITOR)(download_monitor)
