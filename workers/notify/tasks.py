"""``notify.send``: one notification through Apprise to every URL in ``MAMC_NOTIFY_URLS``.

A delivery Apprise reports as failed raises a transient error, so the pool's retry policy tries
again later; the URLs (which often hold tokens) are never logged or put in an error.
"""

from __future__ import annotations

from typing import Any

import apprise
from celery import Celery

from shared.infra.errors import ConfigError, TransientError
from shared.infra.settings import get_settings
from shared.notify.jobs import NOTIFY_SEND, NotifyArgs
from workers.base import job_task
from workers.context import JobContext


class NotificationFailed(TransientError):
    """Apprise could not deliver to at least one URL."""


def _urls() -> list[str]:
    secret = get_settings().notify_urls
    raw = secret.get_secret_value() if secret is not None else ""
    return [u for u in raw.replace(",", " ").split() if u]


def notify_send(ctx: JobContext[NotifyArgs]) -> dict[str, Any]:
    urls = _urls()
    if not urls:
        return {"sent": False, "why": "MAMC_NOTIFY_URLS is empty"}
    sender = apprise.Apprise()
    bad = sum(1 for u in urls if not sender.add(u))
    if bad == len(urls):
        raise ConfigError(f"none of the {len(urls)} MAMC_NOTIFY_URLS is a URL Apprise understands")
    if not sender.notify(title=ctx.args.title, body=ctx.args.body):
        raise NotificationFailed(f"Apprise could not deliver the {ctx.args.kind} notification to every URL")
    return {"sent": True, "kind": str(ctx.args.kind), "urls": len(urls) - bad, "unusable_urls": bad}


def register(app: Celery) -> None:
    job_task(app, NOTIFY_SEND)(notify_send)
