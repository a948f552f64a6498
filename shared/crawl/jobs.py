"""The crawl domain's job types (the MAM account, searching, top lists). Bodies: workers/crawl/tasks.py.

Every MAM job runs on the ``crawl`` pool and throttles on ``mam``, the account's one global budget;
while the MAM session is invalid (or unset) they park on ``shared.crawl.session.GATE`` instead of
running. ``crawl.auto_search`` sends nothing to MAM itself: it queues ``crawl.search`` jobs.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shared.engine.jobtypes import JobArgs, JobType, NoArgs, Schedule, register
from shared.engine.pools import Pool

ACCOUNT_REFRESH = register(JobType(
    "account.refresh", NoArgs, pool=Pool.CRAWL, throttle=("mam",), singleton=True,
    description="read the MAM account's standing (jsonLoad) into the history",
    schedule=Schedule("account-refresh", every="schedule_account_refresh"),
))


class CrawlSearchArgs(JobArgs):
    wanted_id: int = Field(ge=1)
    # None: the MAMC_DRY_RUN setting decides; True forces a dry run whatever the setting says.
    dry_run: bool | None = None


CRAWL_SEARCH = register(JobType(
    "crawl.search", CrawlSearchArgs, pool=Pool.CRAWL, throttle=("mam",),
    description="search MAM for one wanted entry and choose the one best edition (grabs nothing)",
))

CRAWL_AUTO_SEARCH = register(JobType(
    "crawl.auto_search", NoArgs, pool=Pool.CRAWL, singleton=True,
    description="queue searches for the highest-priority wanted entries that are due",
    schedule=Schedule("crawl-auto-search", every="schedule_crawl_auto_search"),
))


def search_dedupe_key(wanted_id: int) -> str:
    """One search per entry at a time: a second click while one is queued returns that one."""
    return f"crawl.search:{wanted_id}"


class TopListArgs(JobArgs):
    """Overrides of the settings for one run; each left out comes from ``MAMC_CRAWL_TOP_LIST_*``."""

    categories: list[Annotated[int, Field(ge=1)]] | None = Field(None, max_length=50)
    days: int | None = Field(None, ge=1, le=365)
    size: int | None = Field(None, ge=1, le=100)


CRAWL_TOP_LIST = register(JobType(
    "crawl.top_list", TopListArgs, pool=Pool.CRAWL, throttle=("mam",), singleton=True,
    description="suggest the most snatched books of chosen MAM categories (approval needed; off by default)",
    schedule=Schedule("crawl-top-list", every="schedule_crawl_top_list"),
))
