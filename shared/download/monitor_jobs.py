"""``download.monitor``: follow every torrent of our category in qBittorrent. Body: workers/download/monitor.py.

Singleton on beat (``MAMC_SCHEDULE_DOWNLOAD_MONITOR``, 60 s): two cycles at once would credit the
same seeding seconds twice. It throttles on ``qbit`` (one slot per qBittorrent call: one per cycle
in steady state). It never removes, pauses or moves a torrent: it reads, re-announces a stalled
download, sets per-torrent share limits to "none" while seeding time is owed, and re-adds a torrent
that vanished with its files still there.
"""

from __future__ import annotations

from shared.engine.jobtypes import JobType, NoArgs, Schedule, register
from shared.engine.pools import Pool

DOWNLOAD_MONITOR = register(JobType(
    "download.monitor", NoArgs, pool=Pool.DOWNLOAD, throttle=("qbit",), singleton=True,
    description="follow our qBittorrent category: progress, completion, stalls, seeding obligations",
    schedule=Schedule("download-monitor", every="schedule_download_monitor"),
))
