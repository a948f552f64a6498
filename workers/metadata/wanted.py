"""Writing the wanted list: one row per work, every reason kept, the user's choices never undone.

A scan upserts what it found and retires what it no longer finds, within its own scope (one
series' gaps, one followed author's books). It never changes ``state``: an ignored work stays
ignored however often a scan finds it again, and a work the download pipeline is working on keeps
its state. A priority the user set stays. Only rows still plainly ``wanted`` are retired, and a row
wanted for another reason too only loses this reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.models.metadata import Wanted, author_key, wanted_key
from shared.normalize import position_sort_key


@dataclass
class WantedRow:
    reason: str
    title: str
    authors: list[str]
    priority: int
    metadata_series_id: int | None = None
    series_id: int | None = None
    series_name: str | None = None
    position: str | None = None
    language: str | None = None
    asin: str | None = None
    release_date: str | None = None
    follow_id: int | None = None
    sources: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return wanted_key(self.title, self.authors)

    def values(self) -> dict[str, Any]:
        return {"key": self.key, "reason": self.reason, "reasons": [self.reason], "state": "wanted",
                "priority": self.priority, "priority_manual": False, "title": self.title, "authors": self.authors,
                "author_keys": sorted({author_key(a) for a in self.authors}),
                "metadata_series_id": self.metadata_series_id, "series_id": self.series_id,
                "series_name": self.series_name, "position": self.position,
                "sort_key": position_sort_key(self.position), "language": self.language, "asin": self.asin,
                "release_date": self.release_date, "follow_id": self.follow_id, "sources": self.sources}


_KEEP_IF_SET = ("metadata_series_id", "series_id", "series_name", "position", "sort_key", "language", "asin",
                "release_date", "follow_id")


def upsert_wanted(session: Session, rows: list[WantedRow]) -> None:
    unique = {r.key: r for r in rows}
    if not unique:
        return
    stmt = insert(Wanted).values([unique[k].values() for k in sorted(unique)])
    updates: dict[str, Any] = {c: text(f"coalesce(excluded.{c}, wanted.{c})") for c in _KEEP_IF_SET}
    updates.update({
        "title": text("coalesce(wanted.title, excluded.title)"),  # the first spelling stays (same key anyway)
        "reasons": text("ARRAY(SELECT DISTINCT r FROM unnest(wanted.reasons || excluded.reasons) r ORDER BY r)"),
        "priority": text("CASE WHEN wanted.priority_manual THEN wanted.priority "
                         "WHEN wanted.reasons <@ excluded.reasons THEN excluded.priority "
                         "ELSE greatest(wanted.priority, excluded.priority) END"),
        "authors": stmt.excluded.authors, "author_keys": stmt.excluded.author_keys,
        "sources": text("wanted.sources || excluded.sources"), "updated_at": text("now()"),
    })
    session.execute(stmt.on_conflict_do_update(index_elements=["key"], set_=updates))


def retire(session: Session, *, reason: str, scope: str, scope_id: int, keep: list[str]) -> int:
    """Drop ``reason`` from rows of this scope (``metadata_series_id``/``follow_id``) not in ``keep``."""
    if scope not in ("metadata_series_id", "follow_id"):
        raise ValueError(f"unknown wanted scope {scope!r}")
    params = {"reason": reason, "scope_id": scope_id, "keep": keep}
    gone = session.execute(text(f"""
        DELETE FROM wanted WHERE {scope} = :scope_id AND state = 'wanted' AND reasons = ARRAY[:reason]::varchar[]
           AND NOT (key = ANY(:keep))"""), params)
    session.execute(text(f"""
        UPDATE wanted SET reasons = array_remove(reasons, CAST(:reason AS varchar)), updated_at = now()
         WHERE {scope} = :scope_id AND :reason = ANY(reasons) AND cardinality(reasons) > 1
           AND NOT (key = ANY(:keep))"""), params)
    return int(getattr(gone, "rowcount", 0) or 0)


def sweep_owned(session: Session) -> int:
    """Remove still-``wanted`` rows for works the library now holds (by work key or any ASIN)."""
    gone = session.execute(text("""
        DELETE FROM wanted w WHERE w.state = 'wanted'
           AND (EXISTS (SELECT 1 FROM metadata_owned_keys k WHERE k.kind = 'work' AND k.key = w.key)
                OR (w.asin IS NOT NULL AND EXISTS (SELECT 1 FROM metadata_owned_keys k
                                                    WHERE k.kind = 'asin' AND k.key = w.asin)))"""))
    return int(getattr(gone, "rowcount", 0) or 0)
