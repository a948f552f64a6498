"""Job type → queue, from one explicit table.

Routing is by the job type's prefix so a new ``metadata.*`` job lands on the metadata pool
without anyone remembering to add a route. ``probe`` is the exception: its ``pool`` argument
names the queue, because a fire drill must be runnable on any pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.pools import Pool

PREFIX_ROUTES: tuple[tuple[str, Pool], ...] = (
    ("crawl.", Pool.CRAWL),
    ("account.", Pool.CRAWL),
    ("metadata.", Pool.METADATA),
    ("gaps.", Pool.METADATA),
    ("download.", Pool.DOWNLOAD),
    ("library.", Pool.LIBRARY_SYNC),
)


class UnroutableJob(ValueError):
    """A job type no route covers, or a probe naming no known pool."""


def queue_for(job_type: str, args: Mapping[str, Any] | None = None) -> str:
    if job_type == "probe":
        pool = (args or {}).get("pool")
        try:
            return Pool(str(pool)).value
        except ValueError:
            raise UnroutableJob(f"probe needs args.pool, one of {[p.value for p in Pool]}") from None
    for prefix, pool_ in PREFIX_ROUTES:
        if job_type.startswith(prefix):
            return pool_.value
    raise UnroutableJob(f"no queue routes job type {job_type!r}")
