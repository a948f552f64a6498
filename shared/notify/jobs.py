"""The notification job type. Body: workers/notify/tasks.py (on the download pool: light, and
the pool whose events are most of the notifications)."""

from __future__ import annotations

from pydantic import Field

from shared.engine.jobtypes import JobArgs, JobType, register
from shared.engine.pools import Pool
from shared.notify.events import EventKind


class NotifyArgs(JobArgs):
    kind: EventKind
    title: str = Field(max_length=200)
    body: str = Field(max_length=4000)


NOTIFY_SEND = register(JobType(
    "notify.send", NotifyArgs, pool=Pool.DOWNLOAD, api=False,
    description="deliver one notification through Apprise (MAMC_NOTIFY_URLS)",
))
