"""The wanted list's job types. Body: workers/metadata/tasks.py (it runs on the metadata pool).

``metadata.resolve_wanted`` keeps its historical name: job names are stored in the ledger.
"""

from __future__ import annotations

from pydantic import Field

from shared.engine.jobtypes import JobArgs, JobType, register
from shared.engine.pools import Pool


class WantedResolveArgs(JobArgs):
    wanted_id: int = Field(ge=1)


METADATA_RESOLVE_WANTED = register(JobType(
    "metadata.resolve_wanted", WantedResolveArgs, pool=Pool.METADATA, throttle=("audible",), api=False,
    description="fill in a wishlist entry from Audible",
))
