"""``notify.send``: one notification through Apprise to every URL of the notification settings.

A delivery Apprise reports as failed raises a transient error, so the pool's retry policy tries
again later; the URLs (which often hold tokens) are never logged or put in an error. A test
notification (``kind: "test"``) is the exception: a person waits for its answer, so a failure is
its result (``sent: false`` and why), not a retry minutes later.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from shared.infra.db import session_scope
from shared.infra.errors import ConfigError, TransientError
from shared.notify.apprise_urls import send
from shared.notify.config import effective
from shared.notify.jobs import NOTIFY_SEND, TEST_KIND, NotifyArgs
from workers.base import job_task
from workers.context import JobContext


class NotificationFailed(TransientError):
    """Apprise could not deliver to at least one URL."""


def notify_send(ctx: JobContext[NotifyArgs]) -> dict[str, Any]:
    with session_scope() as s:
        urls = effective(s).urls
    test = ctx.args.kind == TEST_KIND
    if not urls:
        return {"sent": False, "why": "no notification URL is set (PUT /api/v1/settings/notifications or "
                                      "MAMC_NOTIFY_URLS)"}
    sent = send(urls, title=ctx.args.title, body=ctx.args.body)
    counts = {"urls": sent.usable, "unusable_urls": sent.unusable}
    if sent.usable == 0:
        why = f"none of the {len(urls)} notification URLs is a URL Apprise understands"
        if test:
            return {"sent": False, "why": why, **counts}
        raise ConfigError(why)
    if not sent.delivered:
        why = f"Apprise could not deliver the {ctx.args.kind} notification to every URL"
        if test:
            return {"sent": False, "why": why, **counts}
        raise NotificationFailed(why)
    return {"sent": True, "kind": str(ctx.args.kind), **counts}


def register(app: Celery) -> None:
    job_task(app, NOTIFY_SEND)(notify_send)
