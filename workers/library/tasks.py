"""Library-sync pool tasks: ``library.sync`` fans out per library, each library fans out chunks.

The root job waits (no worker slot held) until every library and every chunk is stored, so
``succeeded`` on ``library.sync`` means the whole library is mirrored; its progress counts
items stored out of items to fetch, reported idempotently by the children.
"""

from __future__ import annotations

import uuid
from typing import Any

from celery import Celery

from shared.engine import ledger
from shared.infra.db import session_scope
from shared.infra.errors import AuthError
from shared.infra.secret_store import effective_secret
from shared.infra.settings import get_settings
from shared.library.jobs import (
    LIBRARY_SYNC,
    LIBRARY_SYNC_ITEMS,
    LIBRARY_SYNC_LIBRARY,
    LIBRARY_WRITEBACK,
    SyncArgs,
    SyncItemsArgs,
    SyncLibraryArgs,
    WritebackArgs,
)
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
from workers.library.writeback import patches, pending
from workers.metadata.recordings import chunks
from workers.upstream import UpstreamOptions


def abs_client(ctx: JobContext) -> AbsClient:
    with session_scope() as s:
        token, _ = effective_secret(s, "abs_token")
    if not token:
        raise AuthError("no Audiobookshelf API token: set MAMC_ABS_TOKEN or PUT /api/v1/settings/abs")
    options = UpstreamOptions(get_settings().abs_url, throttle=lambda: ctx.throttle("abs", max_wait=10.0))
    return AbsClient(options, token)


def library_sync(ctx: JobContext[SyncArgs]) -> dict[str, Any]:
    args = ctx.args
    with abs_client(ctx) as client:
        library_ids = sync_libraries(client)
    for library_id in library_ids:
        ctx.spawn("library.sync_library", {"library_id": library_id, "force": args.force, "root": str(ctx.job_id)})
    with session_scope() as s:
        ledger.report_progress(s, ctx.job_id, ctx.job_id, done=0, total=0)
    return {"libraries": library_ids}


def library_sync_library(ctx: JobContext[SyncLibraryArgs]) -> dict[str, Any]:
    args = ctx.args
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


def library_sync_items(ctx: JobContext[SyncItemsArgs]) -> dict[str, Any]:
    args = ctx.args
    with abs_client(ctx) as client:
        items = client.get_expanded(list(args.ids))
    with session_scope() as s:  # the data and the progress it represents commit together
        stored = upsert_items(s, items)
        ledger.report_progress(s, uuid.UUID(args.root), ctx.job_id, done=len(args.ids))
    return {"requested": len(args.ids), "stored": stored.items, "vanished": len(args.ids) - len(items)}


def library_writeback(ctx: JobContext[WritebackArgs]) -> dict[str, Any]:
    """Write merged metadata back to ABS (``library.writeback``); what is written: writeback.py."""
    args = ctx.args
    if not get_settings().metadata_writeback:
        return {"skipped": "MAMC_METADATA_WRITEBACK is off"}
    with session_scope() as s:
        ids = list(args.recording_ids) if args.recording_ids else pending(s)
        todo = {rec: patch for chunk in chunks(ids, 500) for rec, patch in patches(s, chunk).items()}
    written: dict[str, list[str]] = {}
    with abs_client(ctx) as client:
        for rec, patch in todo.items():
            for item_id in rec.item_ids:
                client.patch_media(item_id, patch)  # idempotent: a redelivery writes the same values
                written[item_id] = sorted(patch)
    return {"checked": len(ids), "items": len(written), "fields": dict(list(written.items())[:50])}


def register(app: Celery) -> None:
    job_task(app, LIBRARY_SYNC)(library_sync)
    job_task(app, LIBRARY_SYNC_LIBRARY)(library_sync_library)
    job_task(app, LIBRARY_SYNC_ITEMS)(library_sync_items)
    job_task(app, LIBRARY_WRITEBACK)(library_writeback)
