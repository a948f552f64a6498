"""A wanted entry's searches: who may search it, how a decision is kept, when to look again.

The rules, for the API (``POST /api/v1/wanted/{id}/search``, ``GET .../candidates``) and the crawl
pool (``crawl.search``, ``crawl.auto_search``) alike:

- Only an entry that is ``wanted`` (or already ``searching``: a retried job) is searched; a
  suggestion must be approved first, an ignored one un-ignored, one the pipeline took is past it.
- A search moves the entry ``wanted -> searching``, and back to ``wanted`` when it ends, with the
  candidate chosen or with nothing found and when to look again; a search that fails moves it back
  too, so an entry never stays ``searching`` with nobody searching it.
- The decision and every candidate with its reasons are stored (``mam_searches``,
  ``mam_candidates``), also under a dry run (``dry_run`` says so); the entry points at its latest.
- "Nothing acceptable" counts a miss: automatic searching looks again after
  ``base * 2^(misses-1)`` seconds (at most ``max``), because new uploads keep appearing; a chosen
  candidate resets the count.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared.crawl.choice import Decision
from shared.infra.clock import utcnow
from shared.infra.errors import PermanentError
from shared.models.crawl import MamCandidate, MamSearch
from shared.models.metadata import Wanted
from shared.wanted.service import current_id, lock, move
from shared.wanted.states import UnknownWanted, WantedState

__all__ = [
    "SEARCHABLE", "NotSearchable", "RetryPolicy", "Stored", "abandon", "begin", "due_for_search", "latest",
    "record", "searchable", "stale_searching",
]

SEARCHABLE = frozenset({WantedState.WANTED, WantedState.SEARCHING})


class NotSearchable(PermanentError):
    """The entry is not one the crawl pool may search now (the API answers 409)."""

    def __init__(self, wanted_id: int, state: WantedState) -> None:
        hint = {WantedState.SUGGESTED: "approve it first", WantedState.IGNORED: "un-ignore it first"}.get(
            state, "the download pipeline has it")
        super().__init__(f"wanted entry {wanted_id} is {state}: not searched ({hint})")
        self.wanted_id = wanted_id
        self.state = state


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float
    max_seconds: float

    def delay(self, misses: int) -> float:
        """Seconds until "nothing found" is looked for again after ``misses`` misses in a row."""
        if misses <= 0:
            return 0.0
        return float(min(self.max_seconds, self.base_seconds * 2.0 ** min(misses - 1, 30)))


def searchable(session: Session, wanted_id: int) -> Wanted:
    """The entry (following a merge), or UnknownWanted / NotSearchable; takes no lock."""
    row = session.get(Wanted, current_id(session, wanted_id))
    if row is None:
        raise UnknownWanted(wanted_id)
    if row.state not in SEARCHABLE:
        raise NotSearchable(row.id, row.state)
    return row


def begin(session: Session, wanted_id: int) -> Wanted:
    """Lock the entry and move it to ``searching`` (NotSearchable if it is not the pool's to search)."""
    row = lock(session, wanted_id)
    if row.state not in SEARCHABLE:
        raise NotSearchable(row.id, row.state)
    move(row, WantedState.SEARCHING, reason="a search started")
    session.flush()
    return row


def abandon(session: Session, wanted_id: int, why: str) -> None:
    """A search failed: a ``searching`` entry goes back to ``wanted`` (its next run will try again)."""
    row = session.scalar(select(Wanted).where(Wanted.id == current_id(session, wanted_id)).with_for_update())
    if row is not None and row.state == WantedState.SEARCHING:
        move(row, WantedState.WANTED, reason=f"the search failed: {why[:200]}")


@dataclass(frozen=True, slots=True)
class Stored:
    search_id: int
    wanted_id: int
    chosen_torrent_id: int | None
    next_search_at: datetime | None


def record(session: Session, wanted_id: int, decision: Decision, *, queries: list[dict[str, Any]],
           target: dict[str, Any], dry_run: bool, job_id: uuid.UUID | None, account_class: str | None,
           policy: RetryPolicy) -> Stored:
    """Keep the decision with every candidate; the entry goes back to ``wanted`` with the candidate
    chosen, or with nothing found and when to look again."""
    row = lock(session, wanted_id)
    chosen = decision.chosen
    now = utcnow()
    search = MamSearch(wanted_id=row.id, job_id=job_id, started_at=now, finished_at=now,
                       outcome="chosen" if chosen is not None else "nothing",
                       chosen_torrent_id=chosen.torrent_id if chosen is not None else None,
                       confident=decision.confident, dry_run=dry_run, summary=decision.summary,
                       rejection_counts=decision.rejection_counts, queries=queries, target=target,
                       account_class=account_class)
    session.add(search)
    session.flush()
    session.add_all(MamCandidate(search_id=search.id, rank=rank, torrent_id=c.torrent_id, title=c.title,
                                 chosen=c.chosen, acceptable=c.acceptable, score=c.score, item=c.as_dict())
                    for rank, c in enumerate(decision.candidates))
    row.last_search_id = search.id
    row.last_searched_at = now
    row.chosen_torrent_id = chosen.torrent_id if chosen is not None else None
    if chosen is not None:
        row.search_misses = 0
        row.next_search_at = None
    else:
        row.search_misses += 1
        row.next_search_at = now + timedelta(seconds=policy.delay(row.search_misses))
    if row.state == WantedState.SEARCHING:
        move(row, WantedState.WANTED, reason=decision.summary[:200])
    session.flush()
    return Stored(search.id, row.id, row.chosen_torrent_id, row.next_search_at)


def latest(session: Session, wanted_id: int) -> tuple[Wanted, MamSearch | None, list[MamCandidate]]:
    """The entry, its latest search and that search's candidates in rank order (chosen first)."""
    row = session.get(Wanted, current_id(session, wanted_id))
    if row is None:
        raise UnknownWanted(wanted_id)
    search = session.scalar(select(MamSearch).where(MamSearch.wanted_id == row.id)
                            .order_by(MamSearch.id.desc()).limit(1))
    if search is None:
        return row, None, []
    candidates = list(session.scalars(select(MamCandidate).where(MamCandidate.search_id == search.id)
                                      .order_by(MamCandidate.rank)))
    return row, search, candidates


def due_for_search(session: Session, now: datetime, limit: int) -> list[int]:
    """Wanted entries automatic searching should look for now: no chosen candidate, never searched or
    their back-off passed; highest priority first (the oldest entry first among equals)."""
    if limit <= 0:
        return []
    rows = session.scalars(select(Wanted.id).where(
        Wanted.state == WantedState.WANTED, Wanted.chosen_torrent_id.is_(None),
        (Wanted.next_search_at.is_(None)) | (Wanted.next_search_at <= now),
    ).order_by(Wanted.priority.desc(), Wanted.id).limit(limit))
    return list(rows)


def stale_searching(session: Session, older_than: datetime) -> int:
    """Entries left ``searching`` by a search that can no longer end (its worker died and the job
    is finished or gone): back to ``wanted``. A search still queued or running keeps its entry."""
    ids = list(session.scalars(text("""
        SELECT w.id FROM wanted w WHERE w.state = 'searching' AND w.updated_at < :before
           AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.type = 'crawl.search'
                              AND j.state IN ('queued', 'waiting', 'running', 'retrying')
                              AND (j.args->>'wanted_id')::int = w.id)
         ORDER BY w.id FOR UPDATE OF w SKIP LOCKED"""), {"before": older_than}))
    for wanted_id in ids:
        abandon(session, wanted_id, "the search's job ended without finishing it")
    session.flush()
    return len(ids)
