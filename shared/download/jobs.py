"""The download domain's job types. Bodies: workers/download/tasks.py.

``download.grab`` talks to MAM (the ``.torrent`` file, a wedge) through the account's one budget, so
it throttles on ``mam`` like every MAM job and parks with them while the session is invalid.
"""

from __future__ import annotations

from pydantic import Field

from shared.engine.jobtypes import JobArgs, JobType, register
from shared.engine.pools import Pool


class GrabArgs(JobArgs):
    wanted_id: int = Field(ge=1)
    torrent_id: int = Field(ge=1)
    # None: the settings decide (MAMC_DRY_RUN, the governor policy's dry_run); True forces a dry run.
    dry_run: bool | None = None


DOWNLOAD_GRAB = register(JobType(
    "download.grab", GrabArgs, pool=Pool.DOWNLOAD, throttle=("mam",),
    description="grab one candidate: ask the governor, fetch the .torrent from MAM, add it to qBittorrent",
    api=False,  # POST /api/v1/downloads checks the pick first
))


def grab_dedupe_key(torrent_id: int) -> str:
    """One grab per torrent at a time: a second request while one is active returns that job."""
    return f"download.grab:{torrent_id}"


class RemoveArgs(JobArgs):
    download_id: int = Field(ge=1)
    reason: str = Field(min_length=3, max_length=500)


DOWNLOAD_REMOVE = register(JobType(
    "download.remove", RemoveArgs, pool=Pool.DOWNLOAD, throttle=("qbit",), api=False,
    description="remove one torrent from qBittorrent (files kept), only once its seeding obligation is met",
))
