"""Every job type MAMcrawler knows: its argument schema and whether the API may create it.

The gateway validates ``POST /api/v1/jobs`` against this table; the worker registry check
proves every type here has a task. Argument models are pydantic so a bad request gets a 422
problem with the field named, and a task re-validates what it reads from the ledger.
Arguments never carry secrets: tasks read credentials from settings or the encrypted store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.pools import Pool


class JobArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoArgs(JobArgs):
    pass


class ProbeArgs(JobArgs):
    """An operator's fire drill: sleep, fail transiently ``fail_times`` times, report who ran it."""

    pool: Pool
    seconds: float = Field(0.0, ge=0, le=3600)
    fail_times: int = Field(0, ge=0, le=100)


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


@dataclass(frozen=True)
class JobType:
    name: str
    args: type[JobArgs]
    api: bool = True
    finalize: bool = False
    singleton: bool = False  # at most one active job of this type: a second request returns the first
    description: str = ""

    def dedupe_key(self) -> str | None:
        return f"singleton:{self.name}" if self.singleton else None


_TYPES: dict[str, JobType] = {}


def register(job_type: JobType) -> JobType:
    if job_type.name in _TYPES and _TYPES[job_type.name] != job_type:
        raise ValueError(f"job type {job_type.name!r} registered twice with different specs")
    _TYPES[job_type.name] = job_type
    return job_type


def get(name: str) -> JobType:
    try:
        return _TYPES[name]
    except KeyError:
        raise KeyError(f"unknown job type {name!r}; known: {', '.join(sorted(_TYPES))}") from None


def all_types() -> dict[str, JobType]:
    return dict(_TYPES)


PROBE = register(JobType("probe", ProbeArgs, description="fire drill on one pool"))
LIBRARY_SYNC = register(JobType("library.sync", SyncArgs, singleton=True,
                                 description="mirror every Audiobookshelf book library"))
LIBRARY_SYNC_LIBRARY = register(JobType("library.sync_library", SyncLibraryArgs, api=False,
                                        description="list one library, diff it, fan out fetches"))
LIBRARY_SYNC_ITEMS = register(JobType("library.sync_items", SyncItemsArgs, api=False,
                                      description="fetch and store a chunk of expanded items"))


# -- metadata pool (issue 4): matching, gaps, follows, wishlist --------------------------------------


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


class WantedResolveArgs(JobArgs):
    wanted_id: int = Field(ge=1)


class WritebackArgs(JobArgs):
    """``recording_ids``: these recordings; none: every recording whose merged metadata ABS lacks."""

    recording_ids: list[int] | None = Field(None, min_length=1, max_length=500)


METADATA_REFRESH = register(JobType("metadata.refresh", MetadataRefreshArgs, singleton=True, finalize=True,
                                    description="match unmatched and the oldest-checked recordings to providers"))
METADATA_MATCH = register(JobType("metadata.match", MetadataMatchArgs, api=False,
                                  description="match a batch of recordings on Audible (ASIN, ISBN, title+author)"))
METADATA_MATCH_REGION = register(JobType("metadata.match_region", MetadataMatchArgs, api=False,
                                         description="resolve other marketplaces' ASINs through Audnexus"))
METADATA_MATCH_ISBN = register(JobType("metadata.match_isbn", MetadataMatchArgs, api=False,
                                       description="Hardcover by ISBN or ASIN: what Audible left unmatched, unplaced"))
METADATA_MATCH_PRINT = register(JobType("metadata.match_print", MetadataMatchArgs, api=False,
                                        description="fill missing ISBNs and release dates from print catalogues"))
METADATA_MERGE = register(JobType("metadata.merge", MetadataMatchArgs, api=False,
                                  description="re-merge recordings' fields after a review decision"))
GAPS_DETECT = register(JobType("gaps.detect", GapsDetectArgs, singleton=True, finalize=True,
                               description="match, cluster series, list them and compute the wanted list"))
GAPS_DETECT_SERIES = register(JobType("gaps.detect_series", GapsSeriesArgs, api=False, finalize=True,
                                      description="list one series on each provider, then compute its gaps"))
GAPS_LISTING = register(JobType("gaps.listing", GapsListingArgs, api=False,
                                description="fetch one provider's complete listing of one series"))
METADATA_FOLLOW = register(JobType("metadata.follow", FollowCheckArgs, api=False,
                                   description="list a followed author's books; new ones become wanted"))
METADATA_RESOLVE_WANTED = register(JobType("metadata.resolve_wanted", WantedResolveArgs, api=False,
                                           description="fill in a wishlist entry from Audible"))
LIBRARY_WRITEBACK = register(JobType("library.writeback", WritebackArgs, api=False,
                                     description="write merged metadata back to Audiobookshelf (opt-in)"))
