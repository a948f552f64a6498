"""Download pool tasks: ``download.grab`` (the monitor and the spends register their own)."""

from __future__ import annotations

from typing import Any

from celery import Celery

from shared.download import removal
from shared.download.jobs import DOWNLOAD_GRAB, DOWNLOAD_REMOVE, GrabArgs, RemoveArgs
from shared.download.states import DownloadState
from shared.infra.db import session_scope
from shared.infra.errors import PermanentError
from workers.base import job_task
from workers.context import JobContext
from workers.download.grab import download_grab
from workers.download.qbit import info_hash_of
from workers.download.qbit_session import qbit_client


def grab(ctx: JobContext[GrabArgs]) -> dict[str, Any]:
    """Ask the governor, fetch the .torrent from MAM, add it to qBittorrent (workers/download/grab.py)."""
    with qbit_client() as client:
        return download_grab(ctx, client_for=lambda: client, info_hash_of=info_hash_of)


def remove(ctx: JobContext[RemoveArgs]) -> dict[str, Any]:
    """Remove one torrent (files kept) if the seeding rule still allows it, checked again under a lock."""
    with session_scope() as s:
        found = removal.verdict(s, ctx.args.download_id, lock=True)
        if found is None:
            return {"skipped": "no such download"}
        row, said = found
        if not said.allowed:
            raise PermanentError(said.reason)
        if row.state == DownloadState.REMOVED:
            return {"download_id": row.id, "already": "removed"}
        info_hash = row.info_hash
    if info_hash:
        with qbit_client() as client:
            client.remove(info_hash)
    with session_scope() as s:
        found = removal.verdict(s, ctx.args.download_id, lock=True)
        assert found is not None
        removal.mark_removed(found[0])
    return {"download_id": ctx.args.download_id, "removed": True, "reason": ctx.args.reason}


def register(app: Celery) -> None:
    job_task(app, DOWNLOAD_GRAB)(grab)
    job_task(app, DOWNLOAD_REMOVE)(remove)
