"""``/api/v1/metadata``: the review list of low-confidence matches, and a book's merged metadata.

A match below the confidence threshold is never applied; it waits here with the library's view of
the recording beside the provider's candidate and the score's parts. Accepting or rejecting it is
remembered (a later scan finding the same candidate keeps the verdict) and queues a re-merge.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, text, tuple_
from sqlalchemy.orm import Session

from api import cursor
from api.deps import get_session
from api.library_queries import metadata_series_gaps
from api.library_schemas import SeriesGaps
from api.metadata_schemas import (
    BookMetadata,
    Candidate,
    FieldOut,
    LibraryView,
    MatchOut,
    RecordingMetadata,
    ReviewItem,
    ReviewPage,
)
from api.problems import Problem, documented
from shared.engine import ledger
from shared.models.metadata import FieldProvenance, RecordingMatch

router = APIRouter(prefix="/metadata", tags=["metadata"])
SessionDep = Annotated[Session, Depends(get_session)]

_LIBRARY = text("""
    SELECT r.id, w.id, w.title, r.asin, r.isbn, r.duration_seconds, r.language,
           (SELECT coalesce(array_agg(a.name ORDER BY wa.ordinal), '{}') FROM work_authors wa
              JOIN authors a ON a.id = wa.author_id WHERE wa.work_id = w.id),
           (SELECT coalesce(array_agg(i.abs_id ORDER BY i.abs_id), '{}') FROM library_items i
             WHERE i.recording_id = r.id AND i.state = 'present')
      FROM recordings r JOIN works w ON w.id = r.work_id WHERE r.id = ANY(:ids)""")


def _library(session: Session, ids: list[int]) -> dict[int, LibraryView]:
    return {r[0]: LibraryView(book_id=r[1], title=r[2], asin=r[3], isbn=r[4], duration_seconds=r[5], language=r[6],
                              authors=list(r[7]), item_ids=list(r[8]))
            for r in session.execute(_LIBRARY, {"ids": ids})}


def _candidate(m: RecordingMatch) -> Candidate | None:
    if not m.record:
        return None
    return Candidate.model_validate({k: m.record.get(k) for k in Candidate.model_fields})


def match_out(m: RecordingMatch) -> MatchOut:
    return MatchOut(recording_id=m.recording_id, provider=m.provider, provider_id=m.provider_id, method=m.method,
                    confidence=m.confidence, state=m.state, checked_at=m.checked_at, details=m.details,
                    candidate=_candidate(m))


def review_item(m: RecordingMatch, library: LibraryView | None) -> ReviewItem:
    """``library`` is left out of the JSON (not null) when the recording is gone, as before the models."""
    fields = dict(match_out(m))
    return ReviewItem(**fields) if library is None else ReviewItem(**fields, library=library)


@router.get("/review", response_model=ReviewPage, response_model_exclude_unset=True, responses=documented(400))
def review_list(session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                cursor_: Annotated[str | None, Query(alias="cursor")] = None) -> ReviewPage:
    stmt = select(RecordingMatch).where(RecordingMatch.state == "review")
    if cursor_:
        rid, provider = cursor.decode(cursor_, 2)
        if not isinstance(rid, int) or not isinstance(provider, str):
            raise Problem(400, "Invalid cursor", "the cursor is not one this API returned")
        stmt = stmt.where(tuple_(RecordingMatch.recording_id, RecordingMatch.provider) > tuple_(rid, provider))
    rows = session.scalars(stmt.order_by(RecordingMatch.recording_id, RecordingMatch.provider).limit(limit + 1)).all()
    items = rows[:limit]
    library = _library(session, [m.recording_id for m in items])
    nxt = cursor.encode(items[-1].recording_id, items[-1].provider) if len(rows) > limit else None
    return ReviewPage(items=[review_item(m, library.get(m.recording_id)) for m in items], next_cursor=nxt)


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept: bool


@router.post("/review/{recording_id}/{provider}", response_model=ReviewItem, response_model_exclude_unset=True,
             responses=documented(404))
def decide(recording_id: int, provider: str, body: Verdict, session: SessionDep) -> ReviewItem:
    match = session.scalar(select(RecordingMatch).where(RecordingMatch.recording_id == recording_id,
                                                        RecordingMatch.provider == provider).with_for_update())
    if match is None or match.provider_id is None:
        raise Problem(404, "No candidate", f"no {provider} candidate for recording {recording_id}")
    match.state = "applied" if body.accept else "rejected"
    match.details = {**(match.details or {}), "decision": "accepted" if body.accept else "rejected"}
    ledger.create_job(session, "metadata.merge", {"recording_ids": [recording_id]})
    session.commit()
    return review_item(match, _library(session, [recording_id]).get(recording_id))


@router.get("/books/{book_id}", response_model=BookMetadata, responses=documented(404))
def book_metadata(book_id: int, session: SessionDep) -> BookMetadata:
    """Per recording of the book: every provider match, and each merged field with who said what."""
    ids = list(session.scalars(text("SELECT id FROM recordings WHERE work_id = :w ORDER BY id"), {"w": book_id}))
    if not ids:
        raise Problem(404, "Book not found", f"no book {book_id}")
    matches: dict[int, list[MatchOut]] = {}
    for m in session.scalars(select(RecordingMatch).where(RecordingMatch.recording_id.in_(ids))
                             .order_by(RecordingMatch.provider)):
        matches.setdefault(m.recording_id, []).append(match_out(m))
    fields: dict[int, dict[str, FieldOut]] = {}
    for f in session.scalars(select(FieldProvenance).where(FieldProvenance.recording_id.in_(ids))
                             .order_by(FieldProvenance.field)):
        fields.setdefault(f.recording_id, {})[f.field] = FieldOut(
            value=f.value, source=f.source, confidence=f.confidence, verified=f.verified, said=f.observations,
            updated_at=f.updated_at)
    library = _library(session, ids)
    return BookMetadata(book_id=book_id, recordings=[
        RecordingMetadata(recording_id=rid, library=library.get(rid), matches=matches.get(rid, []),
                          fields=fields.get(rid, {})) for rid in ids])


@router.get("/series/{metadata_series_id}", response_model=SeriesGaps, responses=documented(404))
def series_gaps(metadata_series_id: int, session: SessionDep) -> SeriesGaps:
    """A bibliographic series' gaps, also for series the library knows under no series name at all
    (their books carry no series metadata: the provider match is how the series became known)."""
    found = metadata_series_gaps(session, metadata_series_id)
    if found is None:
        raise Problem(404, "Series not found", f"no metadata series {metadata_series_id}")
    return found
