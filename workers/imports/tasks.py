"""``import.abs``: a completed download into the Audiobookshelf library (the flow: flow.py)."""

from __future__ import annotations

from typing import Any

from celery import Celery

from shared.imports.jobs import IMPORT_ABS, ImportArgs
from shared.infra.settings import get_settings
from workers.base import job_task
from workers.context import JobContext
from workers.imports.flow import Env, run_import
from workers.library.tasks import abs_client


def import_abs(ctx: JobContext[ImportArgs]) -> dict[str, Any]:
    return run_import(ctx.args.download_id, Env(settings=get_settings(), client=lambda: abs_client(ctx),
                                                job_id=ctx.job_id))


def register(app: Celery) -> None:
    job_task(app, IMPORT_ABS)(import_abs)
