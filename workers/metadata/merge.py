"""Merging what every source says about a recording into one value per field, with provenance.

Sources are ABS (what the files and tags say) and each provider whose match is *applied* (a match
in review never contributes). Per field, the strongest source in the configured precedence that has
a value wins, and every source's value is kept beside it (``observations``).

A value is *verified* when it came through an identifier (ASIN, ISBN, regional ASIN), when two
sources agree on it, or when it is a duration measured from the files. A *protected* field
(default: title, narrators, duration) that holds a verified value is only replaced by a strictly
stronger source: a weaker one, or the same value's source disappearing (a provider outage, a
rejected match), never overwrites it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.infra.settings import METADATA_FIELDS, Settings
from shared.models.metadata import FieldProvenance, RecordingMatch
from shared.names import author_keys, series_core
from shared.positions import canonical_position
from workers.metadata.providers._normalize import normalize_language
from workers.metadata.recordings import LibraryRecording
from workers.metadata.records import book_from_json

IDENTITY_METHODS = frozenset({"asin", "isbn", "asin_region"})
#: Fields the ABS write-back may set (duration is measured, language is free text in ABS: never written).
WRITABLE = ("title", "subtitle", "authors", "narrators", "series", "asin", "isbn", "abridged")


@dataclass(frozen=True)
class Observation:
    value: Any
    confidence: float
    identity: bool


@dataclass(frozen=True)
class FieldState:
    value: Any
    source: str
    confidence: float
    verified: bool
    observations: dict[str, Any]


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def comparable(field: str, value: Any) -> Any:
    """A form in which two sources' values are equal when they mean the same thing."""
    if _empty(value):
        return None
    if field in ("authors", "narrators"):
        return tuple(sorted(author_keys(list(value))))
    if field == "series":
        return tuple(sorted((series_core(s["name"]), canonical_position(s.get("position"))) for s in value))
    if field == "duration_seconds":
        return round(float(value) / 300)  # five-minute buckets: runtimes are rounded to the minute
    if field in ("title", "subtitle"):
        return " ".join(str(value).casefold().split())
    if field in ("asin", "isbn"):
        return str(value).strip().upper()
    return value


def abs_observations(rec: LibraryRecording) -> dict[str, Any]:
    return {"title": rec.title, "subtitle": None, "authors": list(rec.authors), "narrators": list(rec.narrators),
            "series": [{"name": n, "position": p} for n, p in rec.series],
            "duration_seconds": rec.duration_seconds, "language": normalize_language(rec.language),
            "release_date": None, "abridged": rec.abridged, "asin": rec.asin, "isbn": rec.isbn}


def provider_observations(record: dict[str, Any]) -> dict[str, Any]:
    book = book_from_json(record)
    return {"title": book.title, "subtitle": book.subtitle, "authors": list(book.authors),
            "narrators": list(book.narrators),
            "series": [{"name": r.name, "position": r.position} for r in book.series],
            "duration_seconds": book.duration_seconds, "language": book.language,
            "release_date": book.release_date, "abridged": book.abridged, "asin": book.asin, "isbn": book.isbn}


def merge_field(field: str, observed: dict[str, Observation], existing: FieldState | None, order: list[str],
                protected: bool) -> FieldState | None:
    said = {src: o.value for src, o in observed.items() if not _empty(o.value)}
    ranked = sorted((order.index(src), src) for src in said if src in order)
    if not ranked:
        return replace(existing, observations=said) if existing is not None else None
    rank, src = ranked[0]
    chosen = observed[src]
    agreeing = sum(1 for v in said.values() if comparable(field, v) == comparable(field, chosen.value))
    verified = chosen.identity or agreeing >= 2 or (field == "duration_seconds" and src == "abs")
    candidate = FieldState(chosen.value, src, chosen.confidence, verified, said)
    if protected and existing is not None and existing.verified and existing.source != src:
        held = order.index(existing.source) if existing.source in order else len(order)
        if rank >= held:
            return replace(existing, observations=said)
    return candidate


def merge_recording(rec: LibraryRecording, matches: list[RecordingMatch], existing: dict[str, FieldState],
                    settings: Settings) -> dict[str, FieldState]:
    sources: dict[str, tuple[dict[str, Any], float, bool]] = {"abs": (abs_observations(rec), 1.0, False)}
    for m in matches:
        if m.state == "applied" and m.record:
            sources[m.provider] = (provider_observations(m.record), m.confidence, m.method in IDENTITY_METHODS)
    out: dict[str, FieldState] = {}
    for field in METADATA_FIELDS:
        observed = {src: Observation(values[field], conf, identity)
                    for src, (values, conf, identity) in sources.items()}
        merged = merge_field(field, observed, existing.get(field), settings.precedence(field),
                             field in settings.metadata_protected_fields)
        if merged is not None:
            out[field] = merged
    return out


def merge_and_store(session: Session, recs: list[LibraryRecording], settings: Settings) -> list[int]:
    """Merge every recording of ``recs`` and store changed fields; returns recordings worth writing back."""
    ids = [r.recording_id for r in recs]
    if not ids:
        return []
    matches: dict[int, list[RecordingMatch]] = {}
    for m in session.scalars(select(RecordingMatch).where(RecordingMatch.recording_id.in_(ids))):
        matches.setdefault(m.recording_id, []).append(m)
    existing: dict[int, dict[str, FieldState]] = {}
    for f in session.scalars(select(FieldProvenance).where(FieldProvenance.recording_id.in_(ids))):
        existing.setdefault(f.recording_id, {})[f.field] = FieldState(f.value, f.source, f.confidence, f.verified,
                                                                      f.observations)
    rows, writeback = [], []
    for rec in recs:
        before = existing.get(rec.recording_id, {})
        merged = merge_recording(rec, matches.get(rec.recording_id, []), before, settings)
        for field, state in merged.items():
            if before.get(field) != state:
                rows.append({"recording_id": rec.recording_id, "field": field, "value": state.value,
                             "source": state.source, "confidence": state.confidence, "verified": state.verified,
                             "observations": state.observations})
        if needs_writeback(rec, merged):
            writeback.append(rec.recording_id)
    if rows:
        stmt = insert(FieldProvenance).values(rows)
        session.execute(stmt.on_conflict_do_update(
            index_elements=["recording_id", "field"],
            set_={**{c: stmt.excluded[c] for c in ("value", "source", "confidence", "verified", "observations")},
                  "updated_at": func.now()}))
    return writeback


def writeback_patch(rec: LibraryRecording, merged: dict[str, FieldState]) -> dict[str, Any]:
    """Fields where the merged value came from a provider and ABS says something else (or nothing)."""
    ours = abs_observations(rec)
    patch: dict[str, Any] = {}
    for field in WRITABLE:
        state = merged.get(field)
        if state is None or state.source == "abs" or _empty(state.value):
            continue
        if comparable(field, state.value) != comparable(field, ours[field]):
            patch[field] = state.value
    if "series" in patch:
        patch["series"] = [(s["name"], s.get("position")) for s in patch["series"]]
    return patch


def needs_writeback(rec: LibraryRecording, merged: dict[str, FieldState]) -> bool:
    return bool(writeback_patch(rec, merged))
