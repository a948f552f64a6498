"""Optional write-back of merged metadata to Audiobookshelf (``MAMC_METADATA_WRITEBACK``, off by default).

Runs on the library-sync pool (``library.writeback``, body in workers/library/tasks.py): ABS is that
pool's outside world, with its rate limit and retry policy. It writes only fields whose merged value
came from a provider and differs from what ABS holds (a missing ASIN, a series ABS did not know,
"Series 3 - Title" made a title), in ABS's own schema through ``AbsClient.patch_media``, which reads
the item back and fails loudly if ABS did not store a field. Durations are never written (the files
are the truth) and neither is language (ABS keeps free text there). The next library sync picks the
changes up.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models.metadata import FieldProvenance
from workers.metadata.merge import WRITABLE, FieldState, writeback_patch
from workers.metadata.recordings import LibraryRecording, load_recordings


def pending(session: Session) -> list[int]:
    """Recordings holding a writable field that a provider, not ABS, supplied."""
    return list(session.scalars(select(FieldProvenance.recording_id).distinct().where(
        FieldProvenance.source != "abs", FieldProvenance.field.in_(WRITABLE)).order_by(FieldProvenance.recording_id)))


def patches(session: Session, ids: list[int]) -> dict[LibraryRecording, dict[str, Any]]:
    recs = load_recordings(session, ids)
    merged: dict[int, dict[str, FieldState]] = {}
    for f in session.scalars(select(FieldProvenance).where(FieldProvenance.recording_id.in_(ids))):
        merged.setdefault(f.recording_id, {})[f.field] = FieldState(f.value, f.source, f.confidence, f.verified,
                                                                    f.observations)
    out = {rec: writeback_patch(rec, merged.get(rec.recording_id, {})) for rec in recs}
    return {rec: patch for rec, patch in out.items() if patch}
