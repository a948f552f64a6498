"""Crawl pool tasks: ``account.refresh``, ``crawl.search``, ``crawl.auto_search`` and ``crawl.top_list``
(suggestions from MAM's most snatched, in workers/crawl/top_list.py).

Bodies reach MAM only through :func:`workers.crawl.session.mam_session`, which carries the account's
rules (budget, back-off, the 403 stop); results hold ids and figures, never the cookie.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery
from sqlalchemy.orm import Session

from shared.crawl import searches
from shared.crawl.jobs import (
    ACCOUNT_REFRESH,
    CRAWL_AUTO_SEARCH,
    CRAWL_SEARCH,
    CRAWL_TOP_LIST,
    CrawlSearchArgs,
    search_dedupe_key,
)
from shared.crawl.profile_store import load_profile
from shared.crawl.targets import build_target, remember_snatched, target_summary
from shared.download.jobs import DOWNLOAD_GRAB, grab_dedupe_key
from shared.download.policy_store import load_policy
from shared.engine import ledger
from shared.engine.jobtypes import NoArgs
from shared.infra.clock import utcnow
from shared.infra.db import session_scope
from shared.infra.errors import Parked, RateLimited, WaitingFor
from shared.infra.redis_client import get_redis
from shared.infra.settings import get_settings
from shared.wanted.resolution import resolution_pending
from workers.base import job_task
from workers.context import JobContext
from workers.crawl.account import current_account, refresh
from workers.crawl.search import ShapeMemory, run_search
from workers.crawl.search_cache import SearchCache
from workers.crawl.session import mam_session
from workers.crawl.top_list import top_list

#: How often a search waiting for its wishlist entry's resolution looks again.
RESOLUTION_POLL_SECONDS = 2.0
#: An entry ``searching`` this long with no live search job is handed back to ``wanted``.
STALE_SEARCHING = timedelta(hours=1)


def account_refresh(ctx: JobContext[NoArgs]) -> dict[str, Any]:
    """Read ``jsonLoad.php?snatch_summary`` and keep it as a snapshot."""
    with mam_session(ctx) as client:
        snapshot_id, snapshot = refresh(client)
    return {"snapshot_id": snapshot_id, "classname": snapshot.classname, "unsat_count": snapshot.unsat_count}


def crawl_search(ctx: JobContext[CrawlSearchArgs]) -> dict[str, Any]:
    """Search MAM for one wanted entry and store the decision; grabs nothing, spends nothing."""
    args = ctx.args
    settings = get_settings()
    dry_run = settings.dry_run if args.dry_run is None else args.dry_run
    with session_scope() as s:
        if resolution_pending(s, args.wanted_id):
            raise WaitingFor(f"wanted entry {args.wanted_id} to be resolved", RESOLUTION_POLL_SECONDS)
        try:
            row = searches.begin(s, args.wanted_id)
        except searches.NotSearchable as exc:
            return {"skipped": str(exc), "wanted_id": exc.wanted_id}
        wanted_id = row.id
        target = build_target(s, row)
        profile = load_profile(s)
    redis = get_redis()
    try:
        with mam_session(ctx) as client:
            account = current_account(client, settings.account_max_age)
            outcome = run_search(client, SearchCache(redis, settings.mam_search_cache_seconds), ShapeMemory(redis),
                                 target, account, profile)
    except (Parked, RateLimited):
        raise  # the job waits (a cookie, a slot) and runs again: the entry stays ``searching`` meanwhile
    except BaseException as exc:
        with session_scope() as s:
            searches.abandon(s, wanted_id, type(exc).__name__)
        raise
    policy = searches.RetryPolicy(settings.crawl_retry_base_seconds, settings.crawl_retry_max_seconds)
    with session_scope() as s:
        remember_snatched(s, outcome.snatched, "mam")
        stored = searches.record(s, wanted_id, outcome.decision, queries=outcome.queries,
                                 target=target_summary(target), dry_run=dry_run, job_id=ctx.job_id,
                                 account_class=account.classname, policy=policy)
        auto_grab = auto_grab_chosen(s, stored, dry_run=dry_run, correlation_id=ctx.correlation_id)
    return {"auto_grab": auto_grab, "wanted_id": wanted_id, "search_id": stored.search_id,
            "chosen_torrent_id": stored.chosen_torrent_id, "summary": outcome.decision.summary[:500],
            "queries": len(outcome.queries), "cached": outcome.requests_cached, "dry_run": dry_run,
            "next_search_at": stored.next_search_at.isoformat() if stored.next_search_at else None}


def auto_grab_chosen(session: Session, stored: searches.Stored, *, dry_run: bool, correlation_id: str) -> bool:
    """With the governor policy's ``auto_grab`` on (and no dry run), a chosen candidate is grabbed
    without a person asking: ``download.grab`` asks the governor like any grab."""
    policy = load_policy(session)
    if stored.chosen_torrent_id is None or dry_run or policy.dry_run or not policy.auto_grab:
        return False
    ledger.create_job(session, DOWNLOAD_GRAB.name, {"wanted_id": stored.wanted_id,
                                                    "torrent_id": stored.chosen_torrent_id},
                      dedupe_key=grab_dedupe_key(stored.chosen_torrent_id), correlation_id=correlation_id)
    return True


def crawl_auto_search(ctx: JobContext[NoArgs]) -> dict[str, Any]:
    """Queue ``crawl.search`` for the entries that are due, highest priority first.

    The batch is small on purpose: each search takes one to a few MAM requests from the account's
    one budget (a request every 3 s by default), which a person's own searches share."""
    settings = get_settings()
    now = utcnow()
    with session_scope() as s:
        reset = searches.stale_searching(s, now - STALE_SEARCHING)
        due = searches.due_for_search(s, now, settings.crawl_auto_search_batch)
        created = [ledger.create_job(s, CRAWL_SEARCH.name, {"wanted_id": wanted_id},
                                     dedupe_key=search_dedupe_key(wanted_id), correlation_id=ctx.correlation_id)
                   for wanted_id in due]
    return {"queued": sum(1 for c in created if c.created), "due": len(due), "wanted_ids": due,
            "stale_reset": reset}


def register(app: Celery) -> None:
    job_task(app, ACCOUNT_REFRESH)(account_refresh)
    job_task(app, CRAWL_SEARCH)(crawl_search)
    job_task(app, CRAWL_AUTO_SEARCH)(crawl_auto_search)
    job_task(app, CRAWL_TOP_LIST)(top_list)
