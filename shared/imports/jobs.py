"""The import domain's job type. Body: workers/imports/tasks.py.

``import.abs`` runs on the ``library_sync`` pool: Audiobookshelf is that pool's outside world (its
rate limit, its retry policy, its long time limit: waiting for a scan takes minutes), and the files
it links live on the storage that pool's hosts mount. The download monitor queues it when a
download completes (dedupe key :func:`import_dedupe_key`, so a completion seen twice queues one).
"""

from __future__ import annotations

from pydantic import Field

from shared.engine.jobtypes import JobArgs, JobType, register
from shared.engine.pools import Pool


class ImportArgs(JobArgs):
    download_id: int = Field(ge=1)


IMPORT_ABS = register(JobType(
    "import.abs", ImportArgs, pool=Pool.LIBRARY_SYNC, throttle=("abs",), api=False,
    description="verify a completed download, hardlink it into the ABS library, scan, describe it",
))


def import_dedupe_key(download_id: int) -> str:
    """One import job per download at a time (the monitor's key too)."""
    return f"{IMPORT_ABS.name}:{download_id}"
