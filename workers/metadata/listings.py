"""Complete series listings, one provider per job: Audible's series product and Hardcover's series.

Audible knows the series ASIN from matches (the primary marketplace's); Hardcover's series id is
found from an owned book's ASIN or ISBN (``editions`` map any marketplace's ASIN to a Hardcover book
and its series), else by a name search checked against the series' name and author. Listings are
stored as the provider states them; reconciling the two is the gap computation's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, func, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.infra.errors import NotFound
from shared.models.metadata import MetadataSeries, ProviderSeries, ProviderSeriesEntry
from shared.names import author_key, series_core, similarity
from workers.metadata.providers.audible import AudibleClient
from workers.metadata.providers.base import SeriesListing
from workers.metadata.providers.hardcover import HardcoverClient

MAX_IDENTIFIERS = 3


@dataclass
class Fetched:
    listings: list[SeriesListing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def fetch_audible(series: MetadataSeries, audible: AudibleClient) -> Fetched:
    out = Fetched()
    if not series.audible_asins:
        out.notes.append("no Audible series known (no owned book matched to one)")
    for asin in series.audible_asins:
        try:
            out.listings.append(audible.series_listing(asin))
        except NotFound:  # the series product is gone from the marketplace: an answer, not an outage
            out.notes.append(f"Audible series {asin} not found")
    return out


def owned_identifiers(session: Session, metadata_series_id: int) -> list[str]:
    """ASINs (matched first) and ISBNs of the series' owned books, to look the series up by."""
    rows = session.execute(text("""
        SELECT m.provider_id AS ident, 0 AS rank FROM metadata_series_works msw
          JOIN recordings r ON r.work_id = msw.work_id
          JOIN metadata_matches m ON m.recording_id = r.id AND m.state = 'applied'
                                  AND m.provider IN ('audible', 'audnexus')
         WHERE msw.metadata_series_id = :id AND m.provider_id IS NOT NULL
        UNION ALL SELECT r.asin, 1 FROM metadata_series_works msw JOIN recordings r ON r.work_id = msw.work_id
         WHERE msw.metadata_series_id = :id AND r.asin IS NOT NULL
        UNION ALL SELECT r.isbn, 2 FROM metadata_series_works msw JOIN recordings r ON r.work_id = msw.work_id
         WHERE msw.metadata_series_id = :id AND r.isbn IS NOT NULL
        ORDER BY 2, 1"""), {"id": metadata_series_id}).all()
    return list(dict.fromkeys(r[0] for r in rows))


def _names_match(name: str, cores: set[str]) -> bool:
    core = series_core(name)
    return core in cores or any(similarity(core, c) >= 0.8 for c in cores)


def resolve_hardcover(series: MetadataSeries, identifiers: list[str], hardcover: HardcoverClient) -> Fetched:
    """Hardcover series ids for ``series``: known ones, else via owned identifiers, else a checked search."""
    out = Fetched()
    ids = list(series.hardcover_ids)
    cores = {series_core(series.name)} | {n.split(":", 1)[1].split("|", 1)[0] for n in series.nodes
                                           if n.startswith("name:")}
    cores.discard("")
    for ident in identifiers[:MAX_IDENTIFIERS]:
        if ids:
            break
        for book in hardcover.books_by_identifier(ident):
            ids += [int(r.source_series_id) for r in book.series
                    if r.source_series_id and r.source_series_id.isdigit() and _names_match(r.name, cores)]
    if not ids and cores:
        author = series.authors[0] if series.authors else None
        for hit in hardcover.find_series(sorted(cores)[0], author=author):
            by = author_key(hit.author_name or "")
            if _names_match(hit.name, cores) and (not series.author_keys or by in series.author_keys):
                ids.append(hit.id)
                break
    if not ids:
        out.notes.append(f"no Hardcover series found for {series.name!r}")
    for series_id in dict.fromkeys(ids):
        try:
            out.listings.append(hardcover.series(series_id))
        except NotFound:
            out.notes.append(f"Hardcover series {series_id} not found")
    return out


def store_listings(session: Session, metadata_series_id: int, provider: str, listings: list[SeriesListing]) -> None:
    """Replace this provider's listings of the series with ``listings`` (entries as the provider states them)."""
    kept = [x.series_id for x in listings]
    session.execute(delete(ProviderSeries).where(ProviderSeries.metadata_series_id == metadata_series_id,
                                                 ProviderSeries.provider == provider,
                                                 ProviderSeries.provider_series_id.not_in(kept)))
    for listing in listings:
        stmt = insert(ProviderSeries).values(metadata_series_id=metadata_series_id, provider=provider,
                                             provider_series_id=listing.series_id, region=listing.region,
                                             name=listing.name)
        psid = session.execute(stmt.on_conflict_do_update(
            index_elements=["metadata_series_id", "provider", "provider_series_id"],
            set_={"name": stmt.excluded.name, "region": stmt.excluded.region, "fetched_at": func.now()},
        ).returning(ProviderSeries.id)).scalar_one()
        session.execute(delete(ProviderSeriesEntry).where(ProviderSeriesEntry.provider_series_id == psid))
        rows = {e.source_id: {"provider_series_id": psid, "source_id": e.source_id, "position": e.position,
                              "title": e.title or (e.book.title if e.book else None),
                              "authors": list(e.book.authors) if e.book else [], "asin": e.asin,
                              "release_date": e.release_date, "language": e.book.language if e.book else None,
                              "abridged": e.book.abridged if e.book else None,
                              "duration_seconds": e.book.duration_seconds if e.book else None,
                              "narrators": list(e.book.narrators) if e.book else []}
                for e in listing.entries}
        if rows:
            session.execute(insert(ProviderSeriesEntry).values(list(rows.values())))
    if provider == "hardcover" and listings:
        session.execute(text("UPDATE metadata_series SET hardcover_ids = CAST(:ids AS jsonb) WHERE id = :id"),
                        {"ids": "[" + ",".join(x.series_id for x in listings) + "]", "id": metadata_series_id})
