"""The notification job type. Body: workers/notify/tasks.py (on the download pool: light, and
the pool whose events are most of the notifications).

``kind: "test"`` is a person's "send a test notification" (``POST
/api/v1/settings/notifications/test``): it goes to every URL whatever the switches say, and its
result says whether it arrived instead of retrying, since a person is waiting for the answer.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.engine.jobtypes import JobArgs, JobType, register
from shared.engine.pools import Pool
from shared.notify.kinds import EventKind

TEST_KIND = "test"


class NotifyArgs(JobArgs):
    kind: EventKind | Literal["test"]
    title: str = Field(max_length=200)
    body: str = Field(max_length=4000)


NOTIFY_SEND = register(JobType(
    "notify.send", NotifyArgs, pool=Pool.DOWNLOAD, api=False,
    description="deliver one notification through Apprise (the URLs of the notification settings)",
))
