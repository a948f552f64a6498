"""The metadata domain's job types: matching recordings to providers, series gaps, follows.

All run on the ``metadata`` pool; each declares the providers its body calls (a job that only
fans out or reads the database throttles on none). Bodies: workers/metadata/tasks.py.

The job tree of a gap scan is drawn in workers/metadata/tasks.py.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from shared.engine.jobtypes import JobArgs, JobType, Schedule, register
from shared.engine.pools import Pool


class MetadataRefreshArgs(JobArgs):
    """``force``: re-match every recording, ignoring (and refreshing) cached answers. ``oldest``: also
    re-check the ``MAMC_METADATA_REFRESH_BATCH`` records checked longest ago (the daily refresh).
    ``writeback``: then queue the ABS write-back (when ``MAMC_METADATA_WRITEBACK`` is on)."""

    force: bool = False
    oldest: bool = True
    writeback: bool = True


class MetadataMatchArgs(JobArgs):
    recording_ids: list[int] = Field(min_length=1, max_length=500)
    force: bool = False


class GapsDetectArgs(JobArgs):
    """``as_of``: the day releases are judged against (default today): a book out later is not a gap."""

    force: bool = False
    as_of: date | None = None


class GapsSeriesArgs(JobArgs):
    metadata_series_id: int = Field(ge=1)
    force: bool = False
    as_of: date | None = None


class GapsListingArgs(JobArgs):
    metadata_series_id: int = Field(ge=1)
    provider: Literal["audible", "hardcover"]
    force: bool = False


class FollowCheckArgs(JobArgs):
    """``rebuild_owned``: refresh the owned-keys index first (a gap scan spawning this just did)."""

    follow_id: int = Field(ge=1)
    force: bool = False
    as_of: date | None = None
    rebuild_owned: bool = True


METADATA_REFRESH = register(JobType(
    "metadata.refresh", MetadataRefreshArgs, pool=Pool.METADATA, singleton=True, finalize=True,
    description="match unmatched and the oldest-checked recordings to providers",
    schedule=Schedule("metadata-refresh", every="schedule_metadata_refresh"),
))
METADATA_MATCH = register(JobType(
    "metadata.match", MetadataMatchArgs, pool=Pool.METADATA, throttle=("audible",), api=False,
    description="match a batch of recordings on Audible (ASIN, ISBN, title+author)",
))
METADATA_MATCH_REGION = register(JobType(
    "metadata.match_region", MetadataMatchArgs, pool=Pool.METADATA, throttle=("audnexus",), api=False,
    description="resolve other marketplaces' ASINs through Audnexus",
))
METADATA_MATCH_ISBN = register(JobType(
    "metadata.match_isbn", MetadataMatchArgs, pool=Pool.METADATA, throttle=("hardcover",), api=False,
    description="Hardcover by ISBN or ASIN: what Audible left unmatched, unplaced",
))
METADATA_MATCH_PRINT = register(JobType(
    "metadata.match_print", MetadataMatchArgs, pool=Pool.METADATA,
    throttle=("googlebooks", "openlibrary", "itunes"), api=False,
    description="fill missing ISBNs and release dates from print catalogues",
))
METADATA_MERGE = register(JobType(
    "metadata.merge", MetadataMatchArgs, pool=Pool.METADATA, api=False,
    description="re-merge recordings' fields after a review decision",
))
GAPS_DETECT = register(JobType(
    "gaps.detect", GapsDetectArgs, pool=Pool.METADATA, singleton=True, finalize=True,
    description="match, cluster series, list them and compute the wanted list",
    schedule=Schedule("gaps-detect", every="schedule_gaps_detect"),
))
GAPS_DETECT_SERIES = register(JobType(
    "gaps.detect_series", GapsSeriesArgs, pool=Pool.METADATA, api=False, finalize=True,
    description="list one series on each provider, then compute its gaps",
))
GAPS_LISTING = register(JobType(
    "gaps.listing", GapsListingArgs, pool=Pool.METADATA, throttle=("audible", "hardcover"), api=False,
    description="fetch one provider's complete listing of one series",
))
METADATA_FOLLOW = register(JobType(
    "metadata.follow", FollowCheckArgs, pool=Pool.METADATA, throttle=("audible",), api=False,
    description="list a followed author's books; new ones become wanted",
))
