"""Following our qBittorrent category: ``download.monitor`` and ``download.trackers``.

``download.monitor`` (body: workers/download/monitor.py) follows every torrent of our category.
Singleton on beat (``MAMC_SCHEDULE_DOWNLOAD_MONITOR``, 60 s): two cycles at once would credit the
same seeding seconds twice. It throttles on ``qbit`` (one slot per qBittorrent call: one per cycle
in steady state). It never removes, pauses or moves a torrent: it reads, re-announces a stalled
download, sets per-torrent share limits to "none" while seeding time is owed, and re-adds a torrent
that vanished with its files still there.

``download.trackers`` (body: workers/download/trackers.py) reads the tracker lists of the seeds that
owe time, round-robin, a bounded number per run (``MAMC_SCHEDULE_TRACKER_CHECKS``, 60 s), and keeps
each answer on its download row, where the monitor reads it: seeding is credited only while the last
answer says "working" and is fresh (shared/download/tracker_checks.py). Its own job so that a steady
monitor cycle stays one call and holds its row locks only for as long as the cycle's own work (the
monitor asks only about seeds with no fresh answer: one found complete, or after an outage).
"""

from __future__ import annotations

from shared.engine.jobtypes import JobType, NoArgs, Schedule, register
from shared.engine.pools import Pool

DOWNLOAD_MONITOR = register(JobType(
    "download.monitor", NoArgs, pool=Pool.DOWNLOAD, throttle=("qbit",), singleton=True,
    description="follow our qBittorrent category: progress, completion, stalls, seeding obligations",
    schedule=Schedule("download-monitor", every="schedule_download_monitor"),
))
DOWNLOAD_TRACKERS = register(JobType(
    "download.trackers", NoArgs, pool=Pool.DOWNLOAD, throttle=("qbit",), singleton=True,
    description="read the tracker lists of the seeds that owe time (round-robin): is each announce working?",
    schedule=Schedule("download-trackers", every="schedule_tracker_checks"),
))
