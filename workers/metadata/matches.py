"""Storing match rows, keeping a user's review decision while the candidate stays the same."""

from __future__ import annotations

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.models.metadata import RecordingMatch
from workers.metadata.matcher import MatchRow


def store_matches(session: Session, rows: list[MatchRow]) -> None:
    """Upsert ``rows``; an accepted or rejected candidate keeps the user's verdict when found again."""
    if not rows:
        return
    keys = [(r.recording_id, r.provider) for r in rows]
    previous = {(m.recording_id, m.provider): m for m in session.scalars(
        select(RecordingMatch).where(tuple_(RecordingMatch.recording_id, RecordingMatch.provider).in_(keys)))}
    values = []
    for row in sorted(rows, key=lambda r: (r.recording_id, r.provider)):
        v = row.values()
        prev = previous.get((row.recording_id, row.provider))
        decision = (prev.details or {}).get("decision") if prev is not None else None
        if prev is not None and decision and prev.provider_id == row.provider_id:
            v["state"] = prev.state
            v["details"] = {**row.details, "decision": decision}
        values.append(v)
    stmt = insert(RecordingMatch).values(values)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["recording_id", "provider"],
        set_={**{c: stmt.excluded[c] for c in ("provider_id", "region", "method", "confidence", "state", "record",
                                                "details")}, "checked_at": func.now()}))
