"""Open Library client: ISBN lookups and title/author search for print editions.

No narrators and no ASINs, so Open Library helps only to confirm a work from an ISBN the library
holds. Editions name authors by key only; names come from ``/authors/{OLID}.json`` (cached like any
response). ``/isbn/{isbn}.json`` answers with a redirect to ``/books/{OLID}.json``: the base client
follows it by hand so the hop passes the throttle too (Open Library asks for ~3 requests/s).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from shared.infra.errors import MalformedResponse
from workers.metadata.providers._http import ProviderHttp
from workers.metadata.providers._normalize import (
    isbn13_first,
    iso_date,
    normalize_language,
    require_dict,
    require_list,
    require_str,
    text_or_none,
    year_of,
)
from workers.metadata.providers.base import ProviderBook, SeriesRef

PROVIDER = "openlibrary"
SEARCH_FIELDS = "key,title,author_name,first_publish_year,isbn,language,edition_count"
_OLID = re.compile(r"^OL\d+[AMW]$")
_SERIES = re.compile(
    r"^(?P<name>.*?)[\s,;:]*(?:#|\(|\bbook\s+|\bvol\.?\s*)\s*(?P<pos>\d+(?:\.\d+)?)\)?\s*$", re.IGNORECASE
)


class OpenLibraryClient(ProviderHttp):
    service = PROVIDER

    def by_isbn(self, isbn: str) -> ProviderBook:
        clean = re.sub(r"[^0-9Xx]", "", isbn)
        edition = self._get(f"/isbn/{clean}.json", None, _edition_record)
        return self._edition_book(edition)

    def search(self, title: str, author: str | None = None, *, limit: int = 20) -> list[ProviderBook]:
        params = {"title": title, "author": author, "fields": SEARCH_FIELDS, "limit": limit}
        return self._get("/search.json", params, _parse_search)

    def work(self, olid: str) -> ProviderBook:
        record = self._get(
            f"/works/{_olid(olid)}.json", None, lambda d: require_dict(d, provider=PROVIDER, what="work")
        )
        keys = [
            a["author"].get("key")
            for a in record.get("authors") or []
            if isinstance(a, dict) and isinstance(a.get("author"), dict)
        ]
        return ProviderBook(
            source=PROVIDER,
            source_id=_olid(require_str(record, "key", provider=PROVIDER, what="work")),
            title=require_str(record, "title", provider=PROVIDER, what=f"work {olid}"),
            subtitle=text_or_none(record.get("subtitle")),
            authors=self._author_names(keys),
        )

    def _edition_book(self, edition: dict[str, Any]) -> ProviderBook:
        keys = [a.get("key") for a in edition.get("authors") or [] if isinstance(a, dict)]
        if not keys:  # some editions only name their work; the work names the authors
            works = [w.get("key") for w in edition.get("works") or [] if isinstance(w, dict)]
            if works and isinstance(works[0], str):
                return _with_authors(self._edition_fields(edition), self.work(works[0]).authors)
        return _with_authors(self._edition_fields(edition), self._author_names(keys))

    def _edition_fields(self, edition: dict[str, Any]) -> ProviderBook:
        isbns = list(edition.get("isbn_13") or []) + list(edition.get("isbn_10") or [])
        languages = edition.get("languages") or []
        return ProviderBook(
            source=PROVIDER,
            source_id=_olid(require_str(edition, "key", provider=PROVIDER, what="edition")),
            isbn=isbn13_first(isbns),
            title=require_str(edition, "title", provider=PROVIDER, what="edition"),
            subtitle=text_or_none(edition.get("subtitle")),
            series=tuple(ref for ref in (_series_ref(s) for s in edition.get("series") or []) if ref),
            language=normalize_language(languages[0]) if languages else None,
            release_date=iso_date(edition.get("publish_date")),
        )

    def _author_names(self, keys: list[object]) -> tuple[str, ...]:
        out: list[str] = []
        for key in keys:
            if not isinstance(key, str):
                continue
            record = self._get(
                f"/authors/{_olid(key)}.json", None, lambda d: require_dict(d, provider=PROVIDER, what="author")
            )
            name = text_or_none(record.get("name")) or text_or_none(record.get("personal_name"))
            if name and name not in out:
                out.append(name)
        return tuple(out)


def _with_authors(book: ProviderBook, authors: tuple[str, ...]) -> ProviderBook:
    return replace(book, authors=authors)


def _olid(key: str) -> str:
    """ "/works/OL45W" or "OL45W" -> "OL45W"; anything else is not an Open Library id."""
    olid = key.rstrip("/").rsplit("/", 1)[-1].removesuffix(".json")
    if not _OLID.match(olid):
        raise MalformedResponse(f"{PROVIDER}: {key!r} is not an Open Library key")
    return olid


def _edition_record(data: object) -> dict[str, Any]:
    record = require_dict(data, provider=PROVIDER, what="edition")
    require_str(record, "key", provider=PROVIDER, what="edition")
    require_str(record, "title", provider=PROVIDER, what="edition")
    return record


def _series_ref(raw: object) -> SeriesRef | None:
    """Edition ``series`` strings: "The Expanse #3", "Expanse (3)", "Expanse, book 3", "Expanse"."""
    text = text_or_none(raw)
    if text is None:
        return None
    m = _SERIES.match(text)
    if m and m.group("name").strip():
        return SeriesRef(m.group("name").strip(), m.group("pos"))
    return SeriesRef(text, None)


def _parse_search(data: object) -> list[ProviderBook]:
    body = require_dict(data, provider=PROVIDER, what="search")
    books: list[ProviderBook] = []
    for raw in require_list(body.get("docs"), provider=PROVIDER, what="search.docs"):
        doc = require_dict(raw, provider=PROVIDER, what="search doc")
        languages = doc.get("language") or []
        isbns = doc.get("isbn") or []
        books.append(
            ProviderBook(
                source=PROVIDER,
                source_id=_olid(require_str(doc, "key", provider=PROVIDER, what="search doc")),
                isbn=isbn13_first(isbns) if isinstance(isbns, list) else None,
                title=require_str(doc, "title", provider=PROVIDER, what="search doc"),
                authors=tuple(a for a in doc.get("author_name") or [] if isinstance(a, str) and a.strip()),
                language=normalize_language(languages[0]) if isinstance(languages, list) and languages else None,
                release_date=year_of(doc.get("first_publish_year")),
            )
        )
    return books
