"""Library sync: list cheaply, fetch only what changed, notice what vanished.

A library's sync lists every minified item (ABS's cheap call) into an unlogged scratch table and
diffs it against ``library_items`` in SQL: new items and items whose ``updatedAt`` moved are
fetched expanded (in child jobs of ``CHUNK`` ids); items no longer listed are confirmed gone
with one ``batch/get`` before being marked, never deleted; path/inode/missing changes ABS made
without moving ``updatedAt`` are applied and reported as drift. Worker memory does not grow with
the library: the listing streams to PostgreSQL and the diff streams back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from shared.infra.db import session_scope
from shared.models.library import Library, LibraryItem, ListingRow
from workers.library.abs_client import AbsClient
from workers.library.upsert import derive_memberships

log = logging.getLogger(__name__)
CHUNK = 250
LISTING_BATCH = 2000
DRIFT_SAMPLE = 20


def sync_libraries(client: AbsClient) -> list[str]:
    """Record the book libraries ABS has (podcast libraries are ignored) and return their ids."""
    libraries = client.book_libraries()
    with session_scope() as s:
        for lib in libraries:
            stmt = pg_insert(Library).values(id=lib.id, name=lib.name, media_type=lib.media_type)
            s.execute(stmt.on_conflict_do_update(
                index_elements=["id"], set_={"name": stmt.excluded.name, "media_type": stmt.excluded.media_type},
                where=Library.name.is_distinct_from(stmt.excluded.name)))
    return [lib.id for lib in libraries]


@dataclass
class LibraryDiff:
    listed: int = 0
    to_fetch: int = 0
    gone: int = 0
    drift: int = 0
    drift_sample: list[dict[str, Any]] = field(default_factory=list)

    def as_result(self) -> dict[str, Any]:
        return {"listed": self.listed, "to_fetch": self.to_fetch, "gone": self.gone, "drift": self.drift,
                "drift_sample": self.drift_sample}


def stage_listing(client: AbsClient, library_id: str, scratch: str) -> int:
    """Stream the minified listing into the scratch table; returns how many items ABS listed."""
    with session_scope() as s:
        s.execute(delete(ListingRow).where(ListingRow.job_id == scratch))
    listed = 0
    batch: list[dict[str, Any]] = []
    for entry in client.iter_minified(library_id):
        batch.append({"job_id": scratch, "abs_id": entry.id, "updated_at": entry.updated_at,
                      "is_missing": entry.is_missing, "ino": entry.ino or None, "path": entry.path})
        if len(batch) >= LISTING_BATCH:
            listed += _flush(batch)
    if batch:
        listed += _flush(batch)
    return listed


def _flush(batch: list[dict[str, Any]]) -> int:
    with session_scope() as s:
        s.execute(pg_insert(ListingRow).on_conflict_do_nothing(), batch)
    n = len(batch)
    batch.clear()
    return n


_DRIFT = text("""
UPDATE library_items i
   SET state = CASE WHEN l.is_missing THEN 'missing' ELSE 'present' END, path = l.path, ino = l.ino
  FROM library_listing l
 WHERE l.job_id = :scratch AND i.abs_id = l.abs_id AND i.abs_updated_at = l.updated_at
   AND (i.state IS DISTINCT FROM (CASE WHEN l.is_missing THEN 'missing' ELSE 'present' END)
        OR i.path IS DISTINCT FROM l.path OR i.ino IS DISTINCT FROM l.ino)
RETURNING i.abs_id, i.state, i.path
""")

_TO_FETCH = text("""
SELECT l.abs_id FROM library_listing l
  LEFT JOIN library_items i ON i.abs_id = l.abs_id
 WHERE l.job_id = :scratch AND (:force OR i.abs_id IS NULL OR i.abs_updated_at <> l.updated_at
                                OR i.library_id <> :library_id)
 ORDER BY l.abs_id
""")

_UNLISTED = text("""
SELECT i.abs_id FROM library_items i
 WHERE i.library_id = :library_id AND i.state <> 'gone'
   AND NOT EXISTS (SELECT 1 FROM library_listing l WHERE l.job_id = :scratch AND l.abs_id = i.abs_id)
 ORDER BY i.abs_id
""")


def apply_drift(scratch: str, diff: LibraryDiff) -> None:
    with session_scope() as s:
        rows = s.execute(_DRIFT, {"scratch": scratch}).all()
        derive_memberships(s, [r[0] for r in rows])  # a gone item listed again claims its series again
    diff.drift = len(rows)
    diff.drift_sample = [{"abs_id": r[0], "state": r[1], "path": r[2]} for r in rows[:DRIFT_SAMPLE]]


def fetch_chunks(library_id: str, scratch: str, force: bool) -> Iterator[list[str]]:
    """Ids to fetch expanded, in chunks, streamed from the diff (server-side cursor)."""
    with session_scope() as s:
        result = s.execute(_TO_FETCH.execution_options(yield_per=CHUNK),
                           {"scratch": scratch, "force": force, "library_id": library_id})
        chunk: list[str] = []
        for (abs_id,) in result:
            chunk.append(abs_id)
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def confirm_gone(client: AbsClient, library_id: str, scratch: str) -> tuple[int, list[str]]:
    """Mark items ABS no longer lists as gone, after asking ABS once more (a listing can race a scan).

    Returns how many were marked gone and the ids ABS still has (they are fetched like changed ones).
    """
    with session_scope() as s:
        unlisted = list(s.scalars(_UNLISTED, {"scratch": scratch, "library_id": library_id}))
    gone, still_there = 0, []
    for start in range(0, len(unlisted), CHUNK):
        ids = unlisted[start:start + CHUNK]
        found = {item.id for item in client.get_expanded(ids)}
        missing = [i for i in ids if i not in found]
        still_there += [i for i in ids if i in found]
        if missing:
            with session_scope() as s:
                gone += mark_gone(s, missing)
    return gone, still_there


def mark_gone(session: Session, abs_ids: list[str]) -> int:
    """Mark items ABS no longer has as gone (kept, never deleted); their series claims stop counting."""
    marked = [r[0] for r in session.execute(update(LibraryItem)
                                            .where(LibraryItem.abs_id.in_(abs_ids), LibraryItem.state != "gone")
                                            .values(state="gone").returning(LibraryItem.abs_id))]
    derive_memberships(session, marked)
    return len(marked)


def drop_listing(scratch: str) -> None:
    with session_scope() as s:
        s.execute(delete(ListingRow).where(ListingRow.job_id == scratch))
