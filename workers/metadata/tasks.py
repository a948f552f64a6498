"""Metadata pool tasks: thin bodies that load, call a service function, store, and fan out.

Job tree of a gap scan (``gaps.detect``, weekly on beat, or from the API)::

    gaps.detect ── metadata.match (Audible, per 50 recordings) ─┬─ metadata.match_region (Audnexus)
        │  (finalize: cluster series, rebuild owned keys)        └─ metadata.match_isbn (Hardcover)
        ├── gaps.detect_series (per series) ── gaps.listing audible / gaps.listing hardcover
        │      (finalize: compute gaps from the stored listings, write wanted rows)
        └── metadata.follow (per followed author)

Each job talks to one provider, so a provider that stays down dead-letters only its own jobs (with
the provider's error as the reason) while the others finish, and a series whose Hardcover listing
failed is still computed from Audible's (its result names what failed). ``metadata.refresh`` (daily)
is the matching half alone, over unmatched, changed and the oldest-checked recordings.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from celery import Celery
from sqlalchemy import func, select, text

from shared.infra.clock import utcnow
from shared.infra.db import session_scope
from shared.infra.errors import PermanentError
from shared.infra.settings import get_settings
from shared.metadata.jobs import (
    GAPS_DETECT,
    GAPS_DETECT_SERIES,
    GAPS_LISTING,
    METADATA_FOLLOW,
    METADATA_MATCH,
    METADATA_MATCH_ISBN,
    METADATA_MATCH_PRINT,
    METADATA_MATCH_REGION,
    METADATA_MERGE,
    METADATA_REFRESH,
    FollowCheckArgs,
    GapsDetectArgs,
    GapsListingArgs,
    GapsSeriesArgs,
    MetadataMatchArgs,
    MetadataRefreshArgs,
)
from shared.models.jobs import Job
from shared.models.metadata import Follow, MetadataSeries, ProviderSeries, RecordingMatch, Wanted
from shared.wanted.jobs import METADATA_RESOLVE_WANTED, WantedResolveArgs
from workers.base import job_task
from workers.context import JobContext
from workers.metadata.cache import purge_expired
from workers.metadata.clients import Clients
from workers.metadata.clusters import load_work_refs, store_owned_keys
from workers.metadata.detect import cluster_library, compute_series
from workers.metadata.follows import author_books, check_follow
from workers.metadata.listings import fetch_audible, owned_identifiers, resolve_hardcover, store_listings
from workers.metadata.matcher import MatchRow, match_on_audible, match_on_audnexus, match_on_hardcover
from workers.metadata.matches import store_matches
from workers.metadata.merge import merge_and_store
from workers.metadata.print_stage import metadata_match_print, print_candidates
from workers.metadata.recordings import LibraryRecording, chunks, load_recordings, recordings_to_match
from workers.metadata.wishlist import apply, lookup, mark_unresolved


def _spawn(ctx: JobContext, job_type: str, ids: list[int], force: bool) -> int:
    batches = chunks(ids, get_settings().metadata_match_chunk)
    for batch in batches:
        ctx.spawn(job_type, {"recording_ids": batch, "force": force})
    return len(batches)


def metadata_refresh(ctx: JobContext[MetadataRefreshArgs]) -> dict[str, Any]:
    """Stage 1 (Audible) for the recordings due; at finalize, stages 2 and 3 for what stage 1 handed on.

    The later stages are this job's children, not the Audible jobs': an Audible match job succeeds on
    its own, whatever happens to Audnexus or Hardcover afterwards.
    """
    args = ctx.args
    settings = get_settings()
    if ctx.phase != "finalize":
        with session_scope() as s:
            ids = recordings_to_match(s, force=args.force, oldest=settings.metadata_refresh_batch if args.oldest else 0)
        return {"recordings": len(ids), "batches": _spawn(ctx, "metadata.match", ids, args.force),
                "cache_purged": purge_expired()}
    with session_scope() as s:
        started = s.scalar(select(Job.started_at).where(Job.id == ctx.job_id))
        handed = s.execute(text("""
            SELECT recording_id, details->'needs' FROM metadata_matches
             WHERE provider = 'audible' AND checked_at >= :started AND details->'needs' IS NOT NULL
             ORDER BY recording_id"""), {"started": started}).all()
    region = [rid for rid, needs in handed if "audnexus" in needs] if len(settings.metadata_regions) > 1 else []
    hardcover = [rid for rid, needs in handed if "hardcover" in needs] if Clients(ctx).hardcover_token() else []
    with session_scope() as s:
        printed = print_candidates(s, started) if settings.metadata_print_providers else []
    writeback = args.writeback and settings.metadata_writeback
    if writeback:  # every recording ABS could learn from, as merged when the write-back job runs
        ctx.spawn("library.writeback", {})
    return {**_own_result(ctx.job_id), "audnexus": _spawn(ctx, "metadata.match_region", region, args.force),
            "hardcover": _spawn(ctx, "metadata.match_isbn", hardcover, args.force),
            "print": _spawn(ctx, "metadata.match_print", printed, args.force), "writeback": writeback}


def _store(recs: list[LibraryRecording], rows: list[MatchRow]) -> int:
    """Store matches and merged fields together; returns how many recordings ABS could learn from."""
    with session_scope() as s:
        store_matches(s, rows)
        return len(merge_and_store(s, recs, get_settings()))


def _summary(rows: list[MatchRow]) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        out[row.state] = out.get(row.state, 0) + 1
    return out


def metadata_match(ctx: JobContext[MetadataMatchArgs]) -> dict[str, Any]:
    args = ctx.args
    settings = get_settings()
    with session_scope() as s:
        recs = load_recordings(s, list(args.recording_ids))
    outcome = match_on_audible(recs, Clients(ctx, force=args.force).audible(), settings.metadata_confidence_threshold)
    writeback = _store(recs, outcome.rows)
    return {"recordings": len(recs), **_summary(outcome.rows), "other_region": len(outcome.other_region),
            "for_hardcover": len(outcome.for_hardcover), "writeback": writeback}


def metadata_match_region(ctx: JobContext[MetadataMatchArgs]) -> dict[str, Any]:
    args = ctx.args
    settings = get_settings()
    with session_scope() as s:
        recs = load_recordings(s, list(args.recording_ids))
    clients = Clients(ctx, force=args.force)
    rows = match_on_audnexus(recs, clients.audnexus(), settings.metadata_regions[1:],
                             settings.metadata_confidence_threshold)
    return {"recordings": len(recs), **_summary(rows), "writeback": _store(recs, rows)}


def metadata_match_isbn(ctx: JobContext[MetadataMatchArgs]) -> dict[str, Any]:
    args = ctx.args
    with session_scope() as s:
        recs = load_recordings(s, list(args.recording_ids))
        matched = select(RecordingMatch.recording_id, RecordingMatch.provider_id).where(
            RecordingMatch.recording_id.in_(args.recording_ids), RecordingMatch.provider == "audible",
            RecordingMatch.state == "applied")
        asins = {rid: pid for rid, pid in s.execute(matched) if pid}
    clients = Clients(ctx, force=args.force)
    hardcover = clients.hardcover()
    if hardcover is None:
        return {"skipped": "no Hardcover token (MAMC_HARDCOVER_TOKEN or the settings API)"}
    rows = match_on_hardcover(recs, hardcover, get_settings().metadata_confidence_threshold, asins)
    return {"recordings": len(recs), **_summary(rows), "writeback": _store(recs, rows)}


def metadata_merge(ctx: JobContext[MetadataMatchArgs]) -> dict[str, Any]:
    args = ctx.args
    with session_scope() as s:
        recs = load_recordings(s, list(args.recording_ids))
    writeback = _store(recs, [])
    if writeback and get_settings().metadata_writeback:
        ctx.spawn("library.writeback", {"recording_ids": list(args.recording_ids)})
    return {"recordings": len(recs), "writeback": writeback}


# -- gap scan --------------------------------------------------------------------------------------


def _as_of(value: date | None) -> date:
    return value or utcnow().date()


def _own_result(job_id: uuid.UUID) -> dict[str, Any]:
    with session_scope() as s:
        result = s.scalar(select(Job.result).where(Job.id == job_id))
    return result if isinstance(result, dict) else {}


def gaps_detect(ctx: JobContext[GapsDetectArgs]) -> dict[str, Any]:
    """First the matching (a ``metadata.refresh`` child for what is new or changed), then the series."""
    args = ctx.args
    if ctx.phase != "finalize":
        ctx.spawn("metadata.refresh", {"force": args.force, "oldest": False, "writeback": False})
        return {"phase": "match"}
    with session_scope() as s:
        info = cluster_library(s, get_settings())
        follows = list(s.scalars(select(Follow.id).order_by(Follow.id)))
    as_of = _as_of(args.as_of).isoformat()
    for sid in info.pop("series_ids"):
        ctx.spawn("gaps.detect_series", {"metadata_series_id": sid, "force": args.force, "as_of": as_of})
    for fid in follows:
        ctx.spawn("metadata.follow", {"follow_id": fid, "force": args.force, "as_of": as_of, "rebuild_owned": False})
    return {**info, "follows": len(follows), "as_of": as_of}


def _failed_children(job_id: uuid.UUID) -> list[dict[str, Any]]:
    with session_scope() as s:
        rows = s.execute(select(Job.args, Job.state, Job.error).where(
            Job.parent_id == job_id, Job.state.in_(("failed", "dead", "cancelled")))).all()
    return [{"provider": a.get("provider"), "state": st, "error": err} for a, st, err in rows]


def gaps_detect_series(ctx: JobContext[GapsSeriesArgs]) -> dict[str, Any]:
    args = ctx.args
    if ctx.phase != "finalize":
        with session_scope() as s:
            series = s.get(MetadataSeries, args.metadata_series_id)
        if series is None:
            return {"skipped": "the series vanished in a later scan"}
        wanted = (["audible"] if series.audible_asins else []) + \
                 (["hardcover"] if Clients(ctx).hardcover_token() else [])
        providers = wanted if args.force else [p for p in wanted if p not in _fresh_listings(series.id)]
        for provider in providers:
            ctx.spawn("gaps.listing", {"metadata_series_id": series.id, "provider": provider, "force": args.force})
        if providers:
            return {"listing": providers}
    failed = _failed_children(ctx.job_id)
    with session_scope() as s:
        result = compute_series(s, args.metadata_series_id, get_settings(), _as_of(args.as_of), failed)
    if failed:
        # The gaps from the listings that did arrive are stored (no work lost); the job still says the
        # scan of this series is incomplete, and the scan's root fails with it. Not retried: the listing
        # job is what failed (replay it, or the next scan fetches it again).
        names = ", ".join(sorted({str(f["provider"]) for f in failed}))
        raise PermanentError(f"series {result.get('series')!r}: the {names} listing did not arrive "
                             f"({failed[0]['state']}: {failed[0]['error']}); gaps computed without it")
    return result


def _fresh_listings(metadata_series_id: int) -> set[str]:
    """Providers whose listings of the series are younger than the listing TTL: no job is needed, the
    answers would come from the cache anyway (a forced scan fetches them regardless)."""
    since = utcnow() - timedelta(seconds=get_settings().metadata_listing_cache_ttl)
    with session_scope() as s:
        rows = s.execute(select(ProviderSeries.provider, func.min(ProviderSeries.fetched_at))
                         .where(ProviderSeries.metadata_series_id == metadata_series_id)
                         .group_by(ProviderSeries.provider)).all()
    return {provider for provider, oldest in rows if oldest > since}


def gaps_listing(ctx: JobContext[GapsListingArgs]) -> dict[str, Any]:
    args = ctx.args
    with session_scope() as s:
        series = s.get(MetadataSeries, args.metadata_series_id)
        identifiers = owned_identifiers(s, args.metadata_series_id) if series is not None else []
    if series is None:
        return {"skipped": "the series vanished in a later scan"}
    clients = Clients(ctx, force=args.force, listing=True)
    if args.provider == "audible":
        fetched = fetch_audible(series, clients.audible())
    else:
        hardcover = clients.hardcover()
        if hardcover is None:
            return {"skipped": "no Hardcover token (MAMC_HARDCOVER_TOKEN or the settings API)"}
        fetched = resolve_hardcover(series, identifiers, hardcover)
    with session_scope() as s:
        if s.get(MetadataSeries, args.metadata_series_id, with_for_update=True) is None:
            return {"skipped": "the series vanished in a later scan"}
        store_listings(s, args.metadata_series_id, args.provider, fetched.listings)
    return {"listings": [x.series_id for x in fetched.listings],
            "entries": sum(len(x.entries) for x in fetched.listings), "notes": fetched.notes}


# -- follows and wishlist --------------------------------------------------------------------------


def metadata_follow(ctx: JobContext[FollowCheckArgs]) -> dict[str, Any]:
    args = ctx.args
    with session_scope() as s:
        follow = s.get(Follow, args.follow_id)
        if follow is not None and args.rebuild_owned:
            store_owned_keys(s, load_work_refs(s))
    if follow is None:
        return {"skipped": "no longer followed"}
    clients = Clients(ctx, force=args.force)
    books = author_books(follow, clients.audible())
    with session_scope() as s:
        follow = s.get(Follow, args.follow_id, with_for_update=True)
        if follow is None:
            return {"skipped": "no longer followed"}
        result = check_follow(s, follow, books, get_settings(), _as_of(args.as_of))
        follow.checked_at = utcnow()
    return result


def metadata_resolve_wanted(ctx: JobContext[WantedResolveArgs]) -> dict[str, Any]:
    args = ctx.args
    with session_scope() as s:
        row = s.get(Wanted, args.wanted_id)
    if row is None:
        return {"skipped": "the entry was removed"}
    clients = Clients(ctx)
    book, how = lookup(row, clients.audible(), get_settings().metadata_confidence_threshold)
    with session_scope() as s:
        current = s.get(Wanted, args.wanted_id, with_for_update=True)
        if current is None:
            return {"skipped": "the entry was removed"}
        if book is None:
            mark_unresolved(current, how)
            return {"resolved": False, "why": how}
        target = apply(s, current, book, how)
        return {"resolved": True, "wanted_id": target.id, "asin": book.asin, "by": how}


def register(app: Celery) -> None:
    job_task(app, METADATA_REFRESH)(metadata_refresh)
    job_task(app, METADATA_MATCH)(metadata_match)
    job_task(app, METADATA_MATCH_REGION)(metadata_match_region)
    job_task(app, METADATA_MATCH_ISBN)(metadata_match_isbn)
    job_task(app, METADATA_MATCH_PRINT)(metadata_match_print)
    job_task(app, METADATA_MERGE)(metadata_merge)
    job_task(app, GAPS_DETECT)(gaps_detect)
    job_task(app, GAPS_DETECT_SERIES)(gaps_detect_series)
    job_task(app, GAPS_LISTING)(gaps_listing)
    job_task(app, METADATA_FOLLOW)(metadata_follow)
    job_task(app, METADATA_RESOLVE_WANTED)(metadata_resolve_wanted)
