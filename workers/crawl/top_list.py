"""``crawl.top_list``: the most snatched audiobooks of chosen MAM categories become *suggestions*.

For each category (``MAMC_CRAWL_TOP_LIST_CATEGORIES``, or the job's ``categories``) one search,
audiobooks only, English, sorted by snatches over the last ``days`` full days; a second or third
page only when the first left fewer than ``size`` books after skipping. The rules of which rows
count are :mod:`shared.crawl.top_list`; the writing is :func:`shared.wanted.service.suggest`, which
inserts new works as ``suggested`` and never changes the state of a work already listed. Nothing
here searches for an edition or grabs: a genre alone never triggers a download, a person approves
each suggestion (``PATCH /api/v1/wanted/{id} {"approve": true}``).

With no categories configured the job sends nothing to MAM (it does not even open a MAM session,
which would park it while no cookie is set) and says so in its result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from shared.crawl.jobs import TopListArgs
from shared.crawl.top_list import MAX_PAGES, Pick, Selection, Window, perpage_for, select_top, window
from shared.crawl.torrent import MamTorrent
from shared.infra.clock import utcnow
from shared.infra.db import session_scope
from shared.infra.settings import get_settings
from shared.wanted import service
from workers.context import JobContext
from workers.crawl.mam_client import MamClient
from workers.crawl.mam_query import MamQuery
from workers.crawl.session import mam_session

log = logging.getLogger(__name__)


def _owned(session: Session, cache: dict[str, bool]) -> Callable[[Pick], bool]:
    """The wanted list's ownership rule (ASIN or title + authors), once per work key."""

    def owned(pick: Pick) -> bool:
        if pick.key not in cache:
            cache[pick.key] = any(service.owned(session, service.Wish(title=t, authors=list(pick.authors)))
                                  for t in pick.titles)
        return cache[pick.key]

    return owned


def browse(client: MamClient, category: int, win: Window, size: int, taken: frozenset[str]) -> tuple[Selection, int]:
    """One category's top ``size``: (the selection, MAM requests made)."""
    query = MamQuery(categories=(category,), sort_type="snatchedDesc", start_date=win.start, end_date=win.end,
                     perpage=perpage_for(size), media_info=False)
    rows: list[MamTorrent] = []
    cache: dict[str, bool] = {}
    requests = 0
    while True:
        page = client.search(query)
        requests += 1
        rows.extend(page.rows)
        with session_scope() as s:
            selection = select_top(rows, category=category, size=size, owned=_owned(s, cache), taken=taken)
        if len(selection.picks) >= size or not page.has_more or requests >= MAX_PAGES:
            return selection, requests
        query = query.next_page()


def store(selection: Selection, win: Window) -> list[service.Suggested]:
    """Write one category's picks (its own transaction: a later category failing keeps these)."""
    rows = [service.Suggestion(title=p.title, authors=list(p.authors), language=p.language,
                               series_name=p.series_name, position=p.position, source=p.source(win))
            for p in selection.picks]
    with session_scope() as s:
        return service.suggest(s, rows)


def top_list(ctx: JobContext[TopListArgs]) -> dict[str, Any]:
    """Browse each category and suggest its top books; the result counts what happened per category."""
    settings = get_settings()
    categories = tuple(ctx.args.categories) if ctx.args.categories is not None else settings.top_list_categories
    days = ctx.args.days or settings.crawl_top_list_days
    size = ctx.args.size or settings.crawl_top_list_size
    win = window(utcnow().date(), days)
    result: dict[str, Any] = {"window": win.as_dict(), "size": size, "categories": {}, "requests": 0,
                              "suggested": 0, "already_listed": 0}
    if not categories:
        result["skipped"] = "no categories configured (MAMC_CRAWL_TOP_LIST_CATEGORIES): top lists are off"
        return result
    taken: frozenset[str] = frozenset()
    with mam_session(ctx) as client:
        for category in dict.fromkeys(categories):
            ctx.checkpoint()
            selection, requests = browse(client, category, win, size, taken)
            done = store(selection, win)
            taken |= {p.key for p in selection.picks}
            new = sum(1 for d in done if d.inserted)
            result["requests"] += requests
            result["suggested"] += new
            result["already_listed"] += len(done) - new
            result["categories"][str(category)] = {
                "requests": requests, "picked": len(selection.picks), "suggested": new,
                "already_listed": len(done) - new, "skipped": selection.skipped_dict(),
                "wanted_ids": [d.wanted_id for d in done]}
            log.info("top list of category %s: %d picked, %d new suggestions", category, len(done), new)
    return result
