"""One wanted entry searched on MAM: the strategies in turn, ``my_snatched`` read either way, a decision.

The rules of the search (what to ask, in which order, when to stop) are the pure chooser's
(:mod:`shared.crawl.choice`); this module only asks MAM and keeps what it learnt along the way.

``my_snatched`` (``shared/reference/mam.md``: sources disagree on what it does). Each query is sent
with the flag. If the rows carry the field and some say "not snatched", MAM *annotated* the rows:
read them row by row. If every row says snatched or none carries the field, MAM *filtered* to the
member's snatches: remember those and ask again without the flag for the candidates. An empty
answer cannot tell the readings apart; once an annotating answer has been seen for the account
(remembered in Redis) an empty answer is simply empty, otherwise the query is asked again without
the flag. Both readings lag 5-20 minutes behind a grab, which is why the local memory of snatches
(``mam_snatched``) is joined into the target as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from shared.crawl.choice import Decision, QualityProfile, QueryStrategy, Target, choose, query_strategies
from shared.crawl.session import ACCOUNT
from shared.crawl.torrent import AccountSnapshot, MamTorrent
from workers.crawl.mam_client import MamClient
from workers.crawl.mam_query import MamQuery, MamSearchPage, SnatchedShape
from workers.crawl.mam_rows import snatched_ids, snatched_shape
from workers.crawl.search_cache import SearchCache

__all__ = ["SearchOutcome", "ShapeMemory", "run_search", "to_query"]

#: Rows asked per query: enough for one book's editions, one request.
PERPAGE = 100


def to_query(strategy: QueryStrategy, *, my_snatched: bool = True) -> MamQuery:
    """The MAM request for a strategy: audiobooks only (the main category), English, one page."""
    return MamQuery(text=strategy.text, search_in=strategy.search_in, perpage=PERPAGE, my_snatched=my_snatched)


class ShapeMemory:
    """Which reading of ``my_snatched`` this account's answers follow, once seen (kept in Redis)."""

    def __init__(self, redis: Any, account: str = ACCOUNT) -> None:
        self._redis = redis
        self._key = f"mamc:mam:{account}:snatched_shape"

    def known(self) -> SnatchedShape | None:
        raw = self._redis.get(self._key)
        if raw is None:
            return None
        value = raw.decode() if isinstance(raw, bytes) else str(raw)
        return SnatchedShape(value) if value in SnatchedShape._value2member_map_ else None

    def seen(self, shape: SnatchedShape) -> None:
        if shape is not SnatchedShape.EMPTY:
            self._redis.set(self._key, shape.value, ex=30 * 24 * 3600)


@dataclass
class SearchOutcome:
    decision: Decision
    queries: list[dict[str, Any]] = field(default_factory=list)
    snatched: set[int] = field(default_factory=set)

    @property
    def requests_cached(self) -> int:
        return sum(int(q["cached"]) + int(q.get("cached_unflagged", False)) for q in self.queries)


def _ask(client: MamClient, cache: SearchCache, query: MamQuery) -> tuple[MamSearchPage, bool]:
    return cache.fetch(query, client.search_answer)


def _run_strategy(client: MamClient, cache: SearchCache, shapes: ShapeMemory,
                  strategy: QueryStrategy) -> tuple[list[MamTorrent], set[int], dict[str, Any]]:
    """The candidate rows of one strategy, the snatches it revealed, and what was asked."""
    page, cached = _ask(client, cache, to_query(strategy))
    shape = snatched_shape(page.rows)
    shapes.seen(shape)
    snatched = set(snatched_ids(page.rows, shape))
    note: dict[str, Any] = {**strategy.as_dict(), "cached": cached, "snatched_shape": str(shape),
                            "total_found": page.total_found, "warnings": list(page.warnings)[:20]}
    rows = list(page.rows)
    known = shapes.known()
    if shape is SnatchedShape.FILTERED or (shape is SnatchedShape.EMPTY and known is not SnatchedShape.ANNOTATED):
        page, cached_again = _ask(client, cache, to_query(strategy, my_snatched=False))
        rows = list(page.rows)
        note.update(asked_unflagged=True, cached_unflagged=cached_again, total_found=page.total_found)
    note["rows"] = len(rows)
    note["more_pages"] = page.has_more
    return rows, snatched, note


def run_search(client: MamClient, cache: SearchCache, shapes: ShapeMemory, target: Target,
               account: AccountSnapshot | None, profile: QualityProfile) -> SearchOutcome:
    """Every strategy, cheapest first, until a decision is confident; the last decision stands."""
    rows: list[MamTorrent] = []
    outcome = SearchOutcome(choose(target, (), account, profile))
    for strategy in query_strategies(target):
        found, snatched, note = _run_strategy(client, cache, shapes, strategy)
        rows.extend(found)
        outcome.snatched |= snatched
        judged = replace(target, snatched_ids=target.snatched_ids | frozenset(outcome.snatched))
        outcome.decision = choose(judged, rows, account, profile)
        note["chosen_after"] = outcome.decision.chosen.torrent_id if outcome.decision.chosen else None
        outcome.queries.append(note)
        if outcome.decision.confident:
            break
    return outcome
