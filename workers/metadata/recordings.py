"""The library as the metadata pool sees it: recordings to match, with what ABS says about them.

"In the library" is the same rule as the read API: a recording with a *present* item in a *book*
library. Which recordings a run looks at:
- gaps.detect (not forced): never checked, or changed in ABS since the last check;
- metadata.refresh: the same, plus the ``metadata_refresh_batch`` checked longest ago (daily
  refresh of the oldest records);
- forced: all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

PRESENT = """EXISTS (SELECT 1 FROM library_items i JOIN libraries l ON l.id = i.library_id
                       WHERE i.recording_id = r.id AND i.state = 'present' AND l.media_type = 'book')"""


@dataclass(frozen=True, slots=True)
class LibraryRecording:
    """One recording with its work's title, authors and series as ABS has them."""

    recording_id: int
    work_id: int
    title: str
    authors: tuple[str, ...]
    narrators: tuple[str, ...]
    series: tuple[tuple[str, str | None], ...]
    asin: str | None
    isbn: str | None
    language: str | None
    duration_seconds: float | None
    abridged: bool
    item_ids: tuple[str, ...]


_LOAD = text(f"""
SELECT r.id, r.work_id, w.title, r.asin, r.isbn, r.language,
       coalesce(r.duration_seconds, (SELECT max(i.duration_seconds) FROM library_items i WHERE i.recording_id = r.id)),
       r.abridged,
       (SELECT coalesce(array_agg(a.name ORDER BY wa.ordinal, a.name), '{{}}') FROM work_authors wa
          JOIN authors a ON a.id = wa.author_id WHERE wa.work_id = w.id),
       (SELECT coalesce(array_agg(n.name ORDER BY rn.ordinal, n.name), '{{}}') FROM recording_narrators rn
          JOIN narrators n ON n.id = rn.narrator_id WHERE rn.recording_id = r.id),
       (SELECT coalesce(array_agg(s.name || chr(31) || coalesce(sm.position, '') ORDER BY s.name, s.id), '{{}}')
          FROM series_memberships sm JOIN series s ON s.id = sm.series_id WHERE sm.work_id = w.id),
       (SELECT coalesce(array_agg(i.abs_id ORDER BY i.abs_id), '{{}}') FROM library_items i
          WHERE i.recording_id = r.id AND i.state = 'present')
  FROM recordings r JOIN works w ON w.id = r.work_id
 WHERE r.id = ANY(:ids) AND {PRESENT}
 ORDER BY r.id
""")


def load_recordings(session: Session, ids: list[int]) -> list[LibraryRecording]:
    """The present recordings among ``ids`` (a recording gone since the job was queued is skipped)."""
    out = []
    for row in session.execute(_LOAD, {"ids": ids}):
        series = tuple((name, pos or None) for name, _, pos in (entry.partition("\x1f") for entry in row[10]))
        out.append(LibraryRecording(
            recording_id=row[0], work_id=row[1], title=row[2], asin=row[3], isbn=row[4], language=row[5],
            duration_seconds=row[6], abridged=bool(row[7]), authors=tuple(row[8]), narrators=tuple(row[9]),
            series=series, item_ids=tuple(row[11])))
    return out


_TO_MATCH = text(f"""
SELECT r.id FROM recordings r
  LEFT JOIN metadata_matches m ON m.recording_id = r.id AND m.provider = 'audible'
 WHERE {PRESENT}
   AND (:force OR m.recording_id IS NULL
        OR EXISTS (SELECT 1 FROM library_items i WHERE i.recording_id = r.id AND i.state = 'present'
                     AND i.abs_updated_at > extract(epoch FROM m.checked_at) * 1000))
 ORDER BY r.id
""")

_OLDEST = text(f"""
SELECT r.id FROM recordings r JOIN metadata_matches m ON m.recording_id = r.id AND m.provider = 'audible'
 WHERE {PRESENT} AND NOT (r.id = ANY(:skip))
 ORDER BY m.checked_at, r.id LIMIT :n
""")


def recordings_to_match(session: Session, *, force: bool, oldest: int = 0) -> list[int]:
    """Never checked or changed since (all when ``force``), plus the ``oldest`` checked longest ago."""
    ids = list(session.scalars(_TO_MATCH, {"force": force}))
    if oldest > 0 and not force:
        ids += list(session.scalars(_OLDEST, {"skip": ids, "n": oldest}))
    return ids


def chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]
