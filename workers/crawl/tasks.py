"""Crawl pool tasks: ``account.refresh`` (the member's standing into the history).

Bodies reach MAM only through :func:`workers.crawl.session.mam_session`, which carries the account's
rules (budget, back-off, the 403 stop); results hold ids and figures, never the cookie.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from shared.crawl.jobs import ACCOUNT_REFRESH
from shared.engine.jobtypes import NoArgs
from workers.base import job_task
from workers.context import JobContext
from workers.crawl.account import refresh
from workers.crawl.session import mam_session


def account_refresh(ctx: JobContext[NoArgs]) -> dict[str, Any]:
    """Read ``jsonLoad.php?snatch_summary`` and keep it as a snapshot."""
    with mam_session(ctx) as client:
        snapshot_id, snapshot = refresh(client)
    return {"snapshot_id": snapshot_id, "classname": snapshot.classname, "unsat_count": snapshot.unsat_count}


def register(app: Celery) -> None:
    job_task(app, ACCOUNT_REFRESH)(account_refresh)
