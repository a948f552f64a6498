"""The library domain's job types: mirroring Audiobookshelf, and writing merged metadata back to it.

All run on the ``library_sync`` pool and throttle on ``abs``, that pool's outside world. Bodies:
workers/library/tasks.py.
"""

from __future__ import annotations

from pydantic import Field

from shared.engine.jobtypes import JobArgs, JobType, Schedule, register
from shared.engine.pools import Pool


class SyncArgs(JobArgs):
    force: bool = False


class SyncLibraryArgs(JobArgs):
    library_id: str = Field(min_length=1, max_length=64)
    force: bool = False
    root: str


class SyncItemsArgs(JobArgs):
    library_id: str = Field(min_length=1, max_length=64)
    ids: list[str] = Field(min_length=1, max_length=1000)
    root: str


class WritebackArgs(JobArgs):
    """``recording_ids``: these recordings; none: every recording whose merged metadata ABS lacks."""

    recording_ids: list[int] | None = Field(None, min_length=1, max_length=500)


LIBRARY_SYNC = register(JobType(
    "library.sync", SyncArgs, pool=Pool.LIBRARY_SYNC, throttle=("abs",), singleton=True,
    description="mirror every Audiobookshelf book library",
    schedule=Schedule("library-sync", every="schedule_library_sync"),
))
LIBRARY_SYNC_LIBRARY = register(JobType(
    "library.sync_library", SyncLibraryArgs, pool=Pool.LIBRARY_SYNC, throttle=("abs",), api=False,
    description="list one library, diff it, fan out fetches",
))
LIBRARY_SYNC_ITEMS = register(JobType(
    "library.sync_items", SyncItemsArgs, pool=Pool.LIBRARY_SYNC, throttle=("abs",), api=False,
    description="fetch and store a chunk of expanded items",
))
LIBRARY_WRITEBACK = register(JobType(
    "library.writeback", WritebackArgs, pool=Pool.LIBRARY_SYNC, throttle=("abs",), api=False,
    description="write merged metadata back to Audiobookshelf (opt-in)",
))
