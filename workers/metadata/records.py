"""Provider records to and from JSON, for the ``record`` column of matches.

Matches keep the provider's normalized record (not the raw body) so merges, clustering and the
review list can be recomputed from PostgreSQL without calling anyone.
"""

from __future__ import annotations

from typing import Any

from workers.metadata.providers.base import ProviderBook, SeriesRef


def book_to_json(book: ProviderBook) -> dict[str, Any]:
    return {
        "source": book.source, "source_id": book.source_id, "asin": book.asin, "isbn": book.isbn,
        "title": book.title, "subtitle": book.subtitle, "authors": list(book.authors),
        "narrators": list(book.narrators),
        "series": [{"name": r.name, "position": r.position, "source_series_id": r.source_series_id}
                   for r in book.series],
        "duration_seconds": book.duration_seconds, "language": book.language, "release_date": book.release_date,
        "abridged": book.abridged, "format_type": book.format_type, "region": book.region,
    }


def book_from_json(data: dict[str, Any]) -> ProviderBook:
    return ProviderBook(
        source=str(data["source"]), source_id=str(data["source_id"]), asin=data.get("asin"), isbn=data.get("isbn"),
        title=str(data["title"]), subtitle=data.get("subtitle"), authors=tuple(data.get("authors") or ()),
        narrators=tuple(data.get("narrators") or ()),
        series=tuple(SeriesRef(str(r["name"]), r.get("position"), r.get("source_series_id"))
                     for r in data.get("series") or ()),
        duration_seconds=data.get("duration_seconds"), language=data.get("language"),
        release_date=data.get("release_date"), abridged=data.get("abridged"), format_type=data.get("format_type"),
        region=data.get("region"),
    )
