"""Gap detection against the database: cluster the library's series, then one series at a time.

``cluster_library`` runs once per scan (after matching): it rebuilds the bibliographic series, the
owned-keys index and sweeps owned works out of the wanted list. ``compute_series`` runs per series
after its listings were fetched: it reads the stored listings and ownership, calls no provider,
stores owned/missing positions with their sources and writes the series' wanted rows.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared.infra.clock import utcnow
from shared.infra.settings import Settings
from shared.models.metadata import MetadataSeries, MetadataSeriesLink, MetadataSeriesWork
from shared.names import author_keys
from shared.wanted.service import WantedRow, retire, sweep_owned, upsert_wanted
from shared.wanted.states import WantedReason
from workers.metadata.clusters import build_clusters, load_work_refs, store_clusters, store_owned_keys
from workers.metadata.gaps import Book, Entry, Owned, SeriesGaps, compute, merge_entries


def cluster_library(session: Session, settings: Settings) -> dict[str, Any]:
    works = load_work_refs(session)
    clusters = build_clusters(works, settings.metadata_regions[0])
    ids = store_clusters(session, clusters)
    keys = store_owned_keys(session, works)
    swept = sweep_owned(session)
    return {"works": len(works), "series": len(clusters), "series_ids": sorted(ids.values()), "owned_keys": keys,
            "swept_owned": swept}


def load_entries(session: Session, metadata_series_id: int) -> list[Entry]:
    rows = session.execute(text("""
        SELECT ps.provider, e.source_id, e.position, e.title, e.authors, e.asin, e.release_date, e.language,
               e.abridged, e.duration_seconds, e.narrators
          FROM provider_series ps JOIN provider_series_entries e ON e.provider_series_id = ps.id
         WHERE ps.metadata_series_id = :id ORDER BY ps.provider, e.source_id"""), {"id": metadata_series_id})
    return [Entry(r[0], r[1], r[2], r[3], tuple(r[4] or ()), r[5], r[6], r[7], r[8], r[9], tuple(r[10] or ()))
            for r in rows]


def load_owned(session: Session, books: list[Book]) -> Owned:
    """Ownership evidence for just these books (one indexed query on metadata_owned_keys)."""
    asins = sorted({b.asin for b in books if b.asin})
    hardcover = sorted({b.hardcover_id for b in books if b.hardcover_id})
    titles = sorted({k for b in books for k in b.forms.full | b.forms.short})
    owned = Owned()
    for kind, key, keys in session.execute(text("""
            SELECT kind, key, author_keys FROM metadata_owned_keys
             WHERE (kind = 'asin' AND key = ANY(:asins)) OR (kind = 'hardcover' AND key = ANY(:hc))
                OR (kind IN ('title', 'title_short') AND key = ANY(:titles))"""),
            {"asins": asins, "hc": hardcover, "titles": titles}):
        if kind == "asin":
            owned.asins.add(key)
        elif kind == "hardcover":
            owned.hardcover_ids.add(key)
        else:
            index = owned.titles if kind == "title" else owned.short_titles
            index.setdefault(key, set()).update(keys or ())
    return owned


def compute_series(session: Session, metadata_series_id: int, settings: Settings, as_of: date,
                   failed: list[dict[str, Any]]) -> dict[str, Any]:
    series = session.get(MetadataSeries, metadata_series_id)
    if series is None:
        return {"skipped": "the series vanished in a later scan"}
    books = merge_entries(load_entries(session, metadata_series_id))
    placed = {w.work_id: w.positions for w in session.scalars(
        select(MetadataSeriesWork).where(MetadataSeriesWork.metadata_series_id == metadata_series_id))}
    fallback = set(series.author_keys)
    author_keys_of = {i: author_keys(b.authors) or fallback for i, b in enumerate(books)}
    result = compute(books, placed, load_owned(session, books), author_keys_of=author_keys_of,
                     rules=set(settings.gap_rules), as_of=as_of)
    rows = wanted_rows(session, series, result, settings)
    upsert_wanted(session, rows)
    retired = retire(session, reason=WantedReason.SERIES_GAP, scope="metadata_series_id", scope_id=series.id,
                     keep=[r.key for r in rows])
    series.result = {
        "as_of": as_of.isoformat(), "rules": sorted(settings.gap_rules), "books": result.books,
        "unplaced": result.unplaced, "owned": result.owned_list(),
        "missing": [{"position": g.position, "kind": g.kind, "title": g.book.title, "asin": g.book.asin,
                     "priority": g.priority, "sources": g.book.positions} for g in result.missing],
        "listings": listings_summary(session, series.id), "failed": failed,
    }
    series.checked_at = utcnow()
    return {"series": series.name, "books": result.books, "owned": len(result.owned),
            "missing": len(result.missing), "retired": retired, "failed": [f["provider"] for f in failed]}


def wanted_rows(session: Session, series: MetadataSeries, result: SeriesGaps, settings: Settings) -> list[WantedRow]:
    linked = session.scalar(select(MetadataSeriesLink.series_id)
                            .where(MetadataSeriesLink.metadata_series_id == series.id)
                            .order_by(MetadataSeriesLink.series_id).limit(1))
    language = series.language or settings.metadata_language
    return [WantedRow(reason=WantedReason.SERIES_GAP, title=g.book.title,
                      authors=list(g.book.authors or series.authors), priority=g.priority,
                      metadata_series_id=series.id, series_id=linked, series_name=series.name, position=g.position,
                      language=language, asin=g.book.asin, release_date=g.book.release_date,
                      runtime_seconds=float(g.book.duration_seconds) if g.book.duration_seconds else None,
                      narrators=list(g.book.narrators),
                      sources={"series_gap": {"positions": g.book.positions, "kind": g.kind,
                                              "hardcover_id": g.book.hardcover_id}})
            for g in result.missing]


def listings_summary(session: Session, metadata_series_id: int) -> list[dict[str, Any]]:
    rows = session.execute(text("""
        SELECT ps.provider, ps.provider_series_id, ps.name, ps.region, ps.fetched_at,
               (SELECT count(*) FROM provider_series_entries e WHERE e.provider_series_id = ps.id)
          FROM provider_series ps WHERE ps.metadata_series_id = :id ORDER BY ps.provider, ps.provider_series_id"""),
        {"id": metadata_series_id})
    return [{"provider": r[0], "id": r[1], "name": r[2], "region": r[3], "fetched_at": r[4].isoformat(),
             "entries": r[5]} for r in rows]
