"""Download pool tasks: ``download.grab`` (the monitor and the spends register their own)."""

from __future__ import annotations

from typing import Any

from celery import Celery

from shared.download.jobs import DOWNLOAD_GRAB, GrabArgs
from workers.base import job_task
from workers.context import JobContext
from workers.download.grab import download_grab
from workers.download.qbit import info_hash_of
from workers.download.qbit_session import qbit_client


def grab(ctx: JobContext[GrabArgs]) -> dict[str, Any]:
    """Ask the governor, fetch the .torrent from MAM, add it to qBittorrent (workers/download/grab.py)."""
    with qbit_client() as client:
        return download_grab(ctx, client_for=lambda: client, info_hash_of=info_hash_of)


def register(app: Celery) -> None:
    job_task(app, DOWNLOAD_GRAB)(grab)
