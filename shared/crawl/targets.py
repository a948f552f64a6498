"""From a wanted row and the library to the :class:`~shared.crawl.choice.Target` a search judges by.

Everything the pure chooser needs about the member's library is read here, once per search:
ASINs owned (any marketplace), the owned recordings of the wanted authors (title + authors +
duration, for "already in the library" without an ASIN), the narrators of the owned books of the
wanted series (the member's strong preference), the torrents this account already snatched
(MAM's ``my_snatched`` lags, so the local memory is joined in), and the torrents an import rejected
as the wrong recording (``shared.imports.memory``).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.crawl.choice import OwnedRecording, Target
from shared.crawl.session import ACCOUNT
from shared.imports.memory import rejected_torrents
from shared.models.crawl import MamSnatched
from shared.models.metadata import Wanted
from shared.names import author_key
from shared.normalize import fold_name
from shared.positions import SeriesPosition

__all__ = ["build_target", "owned_recordings", "remember_snatched", "series_narrators", "snatched_ids",
           "target_summary"]

#: Words in a wanted title that say the entry itself is a collection (then collections are allowed).
_COLLECTION_WORDS = ("omnibus", "box set", "boxed set", "collection", "books 1", "complete series")


def snatched_ids(session: Session) -> frozenset[int]:
    """Torrents this account snatched as far as we know: seen in ``my_snatched`` or grabbed here."""
    rows = session.scalars(text("SELECT torrent_id FROM mam_snatched WHERE account = :a"), {"a": ACCOUNT})
    return frozenset(int(r) for r in rows)


def remember_snatched(session: Session, torrent_ids: set[int] | frozenset[int], source: str,
                      wanted_id: int | None = None) -> None:
    """Keep torrents MAM says (or we know) this account snatched; an existing row keeps its source."""
    if not torrent_ids:
        return
    rows = [{"account": ACCOUNT, "torrent_id": t, "source": source, "wanted_id": wanted_id}
            for t in sorted(torrent_ids)]
    session.execute(insert(MamSnatched).values(rows).on_conflict_do_nothing())


def _owned_asins(session: Session) -> frozenset[str]:
    rows = session.scalars(text("""
        SELECT key FROM metadata_owned_keys WHERE kind = 'asin'
        UNION SELECT upper(r.asin) FROM recordings r JOIN library_items i ON i.recording_id = r.id
         WHERE i.state = 'present' AND r.asin IS NOT NULL"""))
    return frozenset(str(r).upper() for r in rows)


def owned_recordings(session: Session, authors: list[str]) -> tuple[OwnedRecording, ...]:
    keys = sorted({k for a in authors for k in (author_key(a), fold_name(a)) if k})
    if not keys:
        return ()
    rows = session.execute(text("""
        SELECT w.title, array_agg(a.name ORDER BY wa.ordinal), max(r.duration_seconds)
          FROM recordings r JOIN works w ON w.id = r.work_id
          JOIN library_items i ON i.recording_id = r.id AND i.state = 'present'
          JOIN work_authors wa ON wa.work_id = w.id JOIN authors a ON a.id = wa.author_id
         WHERE w.id IN (SELECT wa2.work_id FROM work_authors wa2 JOIN authors a2 ON a2.id = wa2.author_id
                         WHERE a2.key = ANY(:keys))
         GROUP BY r.id, w.title ORDER BY r.id LIMIT 2000"""), {"keys": keys})
    return tuple(OwnedRecording(title=t, authors=tuple(names), duration_seconds=d) for t, names, d in rows)


def series_narrators(session: Session, row: Wanted) -> tuple[str, ...]:
    """Narrators of the owned books of the wanted series, most frequent first."""
    if row.series_id is None and not row.series_name:
        return ()
    found = session.execute(text("""
        SELECT n.name, count(*) FROM series s
          JOIN series_memberships m ON m.series_id = s.id
          JOIN recordings r ON r.work_id = m.work_id
          JOIN library_items i ON i.recording_id = r.id AND i.state = 'present'
          JOIN recording_narrators rn ON rn.recording_id = r.id JOIN narrators n ON n.id = rn.narrator_id
         WHERE s.id = :sid OR s.key = :skey
         GROUP BY n.name ORDER BY count(*) DESC, n.name LIMIT 10"""),
        {"sid": row.series_id or -1, "skey": fold_name(row.series_name or "") or "\x00"})
    return tuple(name for name, _ in found)


def _is_collection(title: str | None, position: str | None) -> bool:
    parsed = SeriesPosition.parse(position) if position else None
    if parsed is not None and parsed.is_range:
        return True
    lowered = (title or "").lower()
    return any(word in lowered for word in _COLLECTION_WORDS)


def build_target(session: Session, row: Wanted) -> Target:
    """The wanted book as the chooser sees it, with what the library and the snatch memory know."""
    return Target(
        title=row.title or row.asin or "",
        authors=tuple(row.authors or ()),
        series_name=row.series_name,
        position=SeriesPosition.parse(row.position) if row.position else None,
        runtime_seconds=row.runtime_seconds,
        narrators=tuple(row.narrators or ()),
        series_narrators=series_narrators(session, row),
        asin=row.asin.upper() if row.asin else None,
        language=row.language,
        is_collection=_is_collection(row.title, row.position),
        owned_asins=_owned_asins(session),
        owned_recordings=owned_recordings(session, list(row.authors or ())),
        snatched_ids=snatched_ids(session),
        rejected_ids=rejected_torrents(session),
    )


def target_summary(target: Target) -> dict[str, object]:
    """What the entry knew when it was judged, stored beside the decision (small: no owned lists)."""
    return {"title": target.title, "authors": list(target.authors), "series": target.series_name,
            "position": target.position.canonical if target.position else None,
            "runtime_seconds": target.runtime_seconds, "narrators": list(target.narrators),
            "series_narrators": list(target.series_narrators), "asin": target.asin, "language": target.language,
            "is_collection": target.is_collection, "owned_recordings": len(target.owned_recordings),
            "snatched_known": len(target.snatched_ids), "rejected_known": len(target.rejected_ids)}
