"""Library-sync pool tasks: ``library.sync`` fans out per library, each library fans out chunks.

The root job waits (no worker slot held) until every library and every chunk is stored, so
``succeeded`` on ``library.sync`` means the whole library is mirrored; its progress counts
items stored out of items to fetch, reported idempotently by the children.
"""

from __future__ import annotations

import uuid
from typing import Any

from celery import Celery

from shared import ledger
from shared.db import session_scope
from shared.errors import AuthError
from shared.jobtypes import SyncArgs, SyncItemsArgs, SyncLibraryArgs
from shared.secret_store import effective_secret
from shared.settings import get_settings
from workers.base import job_task
from workers.context import JobContext
from workers.library.abs_client import AbsClient
from workers.library.sync import (
    CHUNK,
    LibraryDiff,
    apply_drift,
    confirm_gone,
    drop_listing,
    fetch_chunks,
    stage_listing,
    sync_libraries,
)
from workers.library.upsert import upsert_items
from workers.upstream import UpstreamOptions


def abs_client(ctx: JobContext) -> AbsClient:
    with session_scope() as s:
        token, _ = effective_secret(s, "abs_token")
    if not token:
        raise AuthError("no Audiobookshelf API token: set MAMC_ABS_TOKEN or PUT /api/v1/settings/abs")
    options = UpstreamOptions(get_settings().abs_url, throttle=lambda: ctx.throttle("abs", max_wait=10.0))
    return AbsClient(options, token)


def library_sync(ctx: JobContext) -> dict[str, Any]:
    args = ctx.args
    assert isinstance(args, SyncArgs)
    with abs_client(ctx) as client:
        library_ids = sync_libraries(client)
    for library_id in library_ids:
        ctx.spawn("library.sync_library", {"library_id": library_id, "force": args.force, "root": str(ctx.job_id)})
    with session_scope() as s:
        ledger.report_progress(s, ctx.job_id, ctx.job_id, done=0, total=0)
    return {"libraries": library_ids}


def library_sync_library(ctx: JobContext) -> dict[str, Any]:
    args = ctx.args
    assert isinstance(args, SyncLibraryArgs)
    scratch = str(ctx.job_id)
    diff = LibraryDiff()
    with abs_client(ctx) as client:
        diff.listed = stage_listing(client, args.library_id, scratch)
        apply_drift(scratch, diff)
        diff.gone, still_there = confirm_gone(client, args.library_id, scratch)
    chunks = list(fetch_chunks(args.library_id, scratch, args.force))
    chunks += [still_there[i:i + CHUNK] for i in range(0, len(still_there), CHUNK)]
    drop_listing(scratch)
    diff.to_fetch = sum(len(c) for c in chunks)
    with session_scope() as s:
        ledger.report_progress(s, uuid.UUID(args.root), ctx.job_id, total=diff.to_fetch)
    for chunk in chunks:
        ctx.spawn("library.sync_items", {"library_id": args.library_id, "ids": chunk, "root": args.root})
    return diff.as_result()


def library_sync_items(ctx: JobContext) -> dict[str, Any]:
    args = ctx.args
    assert isinstance(args, SyncItemsArgs)
    with abs_client(ctx) as client:
        items = client.get_expanded(list(args.ids))
    with session_scope() as s:  # the data and the progress it represents commit together
        stored = upsert_items(s, items)
        ledger.report_progress(s, uuid.UUID(args.root), ctx.job_id, done=len(args.ids))
    return {"requested": len(args.ids), "stored": stored.items, "vanished": len(args.ids) - len(items)}


def register(app: Celery) -> None:
    job_task(app, "library.sync")(library_sync)
    job_task(app, "library.sync_library")(library_sync_library)
    job_task(app, "library.sync_items")(library_sync_items)
