"""Hardcover GraphQL client: the best source of complete series bibliographies.

What shapes this module (docs reference, Hardcover section):
- Validation errors arrive as HTTP 200 with ``{"errors": [...]}``; they are our bug, so they become
  :class:`PermanentError` and are never cached.
- ``_like``/``_ilike``/``_regex`` are disabled (403): fuzzy text goes through ``search``, exact
  lookups through ``_eq``/``_in``/``*_by_pk``. ``find_series`` therefore uses ``search``.
- ``search.results`` is a Typesense envelope that sometimes arrives as a JSON-encoded string, and
  its ``document.id`` is a string to convert before ``*_by_pk``.
- Every top-level field counts against 5,000/day; one query per request keeps the count honest
  and the cache (POST bodies are keyed canonically) keeps repeats free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from shared.infra.errors import (
    ConfigError,
    MalformedResponse,
    MamcError,
    NotFound,
    PermanentError,
    UpstreamUnavailable,
)
from shared.positions import canonical_position
from workers.metadata.providers._http import ProviderHttp
from workers.metadata.providers._normalize import (
    isbn13_first,
    iso_date,
    positive_int,
    require_dict,
    require_list,
    require_str,
    text_or_none,
    year_of,
)
from workers.metadata.providers.base import ProviderBook, SeriesEntry, SeriesListing, SeriesRef
from workers.upstream import Reply, UpstreamAuthError, UpstreamOptions
from workers.upstream.redaction import Hidden

PROVIDER = "hardcover"
PATH = "/v1/graphql"

_SEARCH = """query Search($query: String!, $type: String!, $perPage: Int!, $page: Int!) {
  search(query: $query, query_type: $type, per_page: $perPage, page: $page) {
    error ids page per_page results
  }
}"""

_BOOK_FIELDS = """id title subtitle release_date release_year audio_seconds compilation
    contributions { contribution author { name } }
    book_series { position details series { id name } }
    editions { isbn_13 isbn_10 asin }"""

_BOOK = f"""query Book($id: Int!) {{
  books_by_pk(id: $id) {{ {_BOOK_FIELDS} }}
}}"""

_BY_IDENTIFIER = f"""query ByIdentifier($x: String!) {{
  editions(where: {{_or: [{{isbn_13: {{_eq: $x}}}}, {{isbn_10: {{_eq: $x}}}}, {{asin: {{_eq: $x}}}}]}}) {{
    id isbn_13 asin book {{ {_BOOK_FIELDS} }}
  }}
}}"""

_SERIES = """query Series($id: Int!) {
  series_by_pk(id: $id) {
    id name books_count primary_books_count is_completed
    book_series(distinct_on: position, order_by: [{position: asc}, {book: {users_count: desc}}],
                where: {book: {compilation: {_eq: false}, canonical_id: {_is_null: true}}}) {
      position details featured compilation
      book { id title release_year contributions { contribution author { name } } }
    }
  }
}"""


@dataclass(frozen=True, slots=True)
class SeriesHit:
    """A series search result; feed ``id`` to :meth:`HardcoverClient.series`."""

    id: int
    name: str
    author_name: str | None
    books_count: int | None
    primary_books_count: int | None


class HardcoverClient(ProviderHttp):
    service = PROVIDER
    default_cache_ttl = 7 * 86_400.0

    def __init__(self, options: UpstreamOptions, *, token: str) -> None:
        token = token.strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()  # Hardcover's settings page shows the token with its prefix
        if not token:
            raise ConfigError("hardcover: an API token is required (Hardcover > Settings > API)")
        super().__init__(options, secrets=(token,))
        self._token = Hidden(token)

    def search_books(self, query: str, *, per_page: int = 25, page: int = 1) -> list[ProviderBook]:
        hits = self._search(query, "book", per_page, page)
        return [_book_from_document(doc) for doc in hits]

    def find_series(self, name: str, *, author: str | None = None, per_page: int = 25) -> list[SeriesHit]:
        """Series candidates for a name (fuzzy, via ``search``: ``_ilike`` is disabled).

        Ordered exact-name matches first, then those by ``author``, then Hardcover's relevance.
        """
        hits = [_series_hit(doc) for doc in self._search(name, "series", per_page, 1)]
        wanted = name.casefold().strip()
        who = (author or "").casefold().strip()
        ranked = sorted(
            enumerate(hits),
            key=lambda ih: (
                ih[1].name.casefold().strip() != wanted,
                not (who and who in (ih[1].author_name or "").casefold()),
                ih[0],
            ),
        )
        return [hit for _, hit in ranked]

    def book(self, book_id: int) -> ProviderBook:
        def parse(data: object) -> ProviderBook:
            record = self._data(data).get("books_by_pk")
            if record is None:
                raise _not_found(f"book {book_id}")
            return _book_from_record(require_dict(record, provider=PROVIDER, what="books_by_pk"))

        return self._post_json(PATH, {"query": _BOOK, "variables": {"id": int(book_id)}}, parse, headers=self._auth())

    def books_by_identifier(self, value: str) -> list[ProviderBook]:
        """Books having an edition with this ISBN-13, ISBN-10 or ASIN (maps any region's ASIN)."""

        def parse(data: object) -> list[ProviderBook]:
            editions = require_list(self._data(data).get("editions"), provider=PROVIDER, what="editions")
            books: dict[str, ProviderBook] = {}
            for edition in editions:
                raw = require_dict(edition, provider=PROVIDER, what="edition").get("book")
                if isinstance(raw, dict):
                    book = _book_from_record(raw)
                    books.setdefault(book.source_id, book)
            return list(books.values())

        return self._post_json(
            PATH, {"query": _BY_IDENTIFIER, "variables": {"x": value.strip()}}, parse, headers=self._auth()
        )

    def series(self, series_id: int) -> SeriesListing:
        def parse(data: object) -> SeriesListing:
            record = self._data(data).get("series_by_pk")
            if record is None:
                raise _not_found(f"series {series_id}")
            return _listing(require_dict(record, provider=PROVIDER, what="series_by_pk"))

        return self._post_json(
            PATH, {"query": _SERIES, "variables": {"id": int(series_id)}}, parse, headers=self._auth()
        )

    # -- envelope -------------------------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._token.reveal()}"}

    def _search(self, query: str, kind: str, per_page: int, page: int) -> list[dict[str, Any]]:
        body = {"query": _SEARCH, "variables": {"query": query, "type": kind, "perPage": per_page, "page": page}}
        return self._post_json(PATH, body, self._parse_search, headers=self._auth())

    def _parse_search(self, data: object) -> list[dict[str, Any]]:
        search = require_dict(self._data(data).get("search"), provider=PROVIDER, what="search")
        if text_or_none(search.get("error")):
            raise UpstreamUnavailable(self.redact(f"{PROVIDER}: search failed: {search['error']}"))
        results = search.get("results")
        if isinstance(results, str):  # sometimes JSON-encoded
            try:
                results = orjson.loads(results)
            except orjson.JSONDecodeError:
                raise MalformedResponse(f"{PROVIDER}: search.results is a string but not JSON") from None
        envelope = require_dict(results, provider=PROVIDER, what="search.results")
        hits = require_list(envelope.get("hits", []), provider=PROVIDER, what="search.results.hits")
        docs: list[dict[str, Any]] = []
        for hit in hits:
            doc = require_dict(hit, provider=PROVIDER, what="search hit").get("document")
            docs.append(require_dict(doc, provider=PROVIDER, what="search hit document"))
        return docs

    def _data(self, body: object) -> dict[str, Any]:
        """``data`` of a GraphQL answer; 200-with-errors bodies become errors here (never cached)."""
        envelope = require_dict(body, provider=PROVIDER, what="response")
        if "errors" in envelope:
            raise self._graphql_error(envelope["errors"])
        if "error" in envelope and "data" not in envelope:
            raise self.classify(Reply(200, orjson.dumps(envelope)), "POST", PATH)
        return require_dict(envelope.get("data"), provider=PROVIDER, what="response.data")

    def _graphql_error(self, errors: object) -> MamcError:
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        message = self.redact(str(first.get("message", "unknown GraphQL error")))
        ext = first.get("extensions")
        code = ext.get("code") if isinstance(ext, dict) else None
        text = f"{PROVIDER}: GraphQL {code or 'error'}: {message}"
        if code in ("access-denied", "invalid-jwt", "invalid-headers"):
            return UpstreamAuthError(text, service=PROVIDER, fatal=code == "invalid-jwt")
        if code == "unexpected":
            return UpstreamUnavailable(text)
        return PermanentError(text)

    def auth_is_fatal(self, reply: Reply) -> bool:
        """A token Hardcover cannot verify fails every request; a 403 on one query does not."""
        return b"unable to verify token" in reply.content.lower()

    def classify(self, reply: Reply, method: str, path: str) -> MamcError:
        error = super().classify(reply, method, path)
        status, headers, lowered = reply.status, reply.headers, reply.content.lower()
        if b"unable to verify token" in lowered:
            return UpstreamAuthError(str(error), service=PROVIDER, fatal=True)
        if status == 403 and (b"top_level_limit" in lowered or b"not permitted" in lowered):
            return PermanentError(str(error))  # our query broke a documented rule; retrying cannot help
        if status == 429 and getattr(error, "retry_after", None) is None:
            reset = _ratelimit_reset(headers.get("ratelimit"))
            return UpstreamUnavailable(str(error), retry_after=reset)
        if status == 200:  # an {"error": ...} body without data
            return UpstreamUnavailable(str(error))
        return error


def _ratelimit_reset(value: str | None) -> float | None:
    """``RateLimit: limit=60, remaining=0, reset=17`` -> 17.0 (fallback when Retry-After is absent)."""
    if not value:
        return None
    for part in value.split(","):
        key, _, number = part.strip().partition("=")
        if key.strip() == "reset":
            try:
                return max(0.0, float(number))
            except ValueError:
                return None
    return None


def _not_found(what: str) -> MamcError:
    return NotFound(f"{PROVIDER}: {what} does not exist")


def _int_id(raw: object, what: str) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw)
    raise MalformedResponse(f"{PROVIDER}: {what} id {raw!r} is not an integer")


def _series_hit(doc: dict[str, Any]) -> SeriesHit:
    books, primary = doc.get("books_count"), doc.get("primary_books_count")
    return SeriesHit(
        id=_int_id(doc.get("id"), "series"),
        name=require_str(doc, "name", provider=PROVIDER, what="series document"),
        author_name=text_or_none(doc.get("author_name")),
        books_count=books if isinstance(books, int) else None,
        primary_books_count=primary if isinstance(primary, int) else None,
    )


def _book_from_document(doc: dict[str, Any]) -> ProviderBook:
    book_id = _int_id(doc.get("id"), "book")
    names = tuple(n.strip() for n in doc.get("author_names") or [] if isinstance(n, str) and n.strip())
    series_names = [n.strip() for n in doc.get("series_names") or [] if isinstance(n, str) and n.strip()]
    position = canonical_position(doc.get("featured_series_position"))
    series = tuple(SeriesRef(n, position if i == 0 else None) for i, n in enumerate(series_names))
    isbns = doc.get("isbns")
    return ProviderBook(
        source=PROVIDER,
        source_id=str(book_id),
        isbn=isbn13_first(isbns) if isinstance(isbns, list) else None,
        title=require_str(doc, "title", provider=PROVIDER, what=f"book document {book_id}"),
        subtitle=text_or_none(doc.get("subtitle")),
        authors=names,
        series=series,
        duration_seconds=positive_int(doc.get("audio_seconds")),
        release_date=year_of(doc.get("release_year")),
    )


def _people(record: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(authors, narrators): the primary author's ``contribution`` is usually null."""
    authors: list[str] = []
    narrators: list[str] = []
    for item in record.get("contributions") or []:
        if not isinstance(item, dict) or not isinstance(item.get("author"), dict):
            continue
        name = text_or_none(item["author"].get("name"))
        role = (text_or_none(item.get("contribution")) or "author").casefold()
        if name and role == "author" and name not in authors:
            authors.append(name)
        elif name and role == "narrator" and name not in narrators:
            narrators.append(name)
    return tuple(authors), tuple(narrators)


def _book_from_record(record: dict[str, Any]) -> ProviderBook:
    book_id = _int_id(record.get("id"), "book")
    authors, narrators = _people(record)
    series: list[SeriesRef] = []
    for link in record.get("book_series") or []:
        if isinstance(link, dict) and isinstance(link.get("series"), dict):
            name = text_or_none(link["series"].get("name"))
            if name:
                sid = link["series"].get("id")
                series.append(
                    SeriesRef(
                        name,
                        canonical_position(link.get("position"), link.get("details")),
                        str(sid) if sid is not None else None,
                    )
                )
    editions = [e for e in record.get("editions") or [] if isinstance(e, dict)]
    isbns = [e.get("isbn_13") for e in editions] + [e.get("isbn_10") for e in editions]
    asins = [a for a in (text_or_none(e.get("asin")) for e in editions) if a]
    return ProviderBook(
        source=PROVIDER,
        source_id=str(book_id),
        asin=asins[0] if asins else None,
        isbn=isbn13_first(isbns),
        title=require_str(record, "title", provider=PROVIDER, what=f"book {book_id}"),
        subtitle=text_or_none(record.get("subtitle")),
        authors=authors,
        narrators=narrators,
        series=tuple(series),
        duration_seconds=positive_int(record.get("audio_seconds")),
        release_date=iso_date(record.get("release_date")) or year_of(record.get("release_year")),
    )


def _listing(record: dict[str, Any]) -> SeriesListing:
    series_id = _int_id(record.get("id"), "series")
    entries: list[SeriesEntry] = []
    for link in require_list(record.get("book_series") or [], provider=PROVIDER, what="book_series"):
        if not isinstance(link, dict) or not isinstance(link.get("book"), dict):
            raise MalformedResponse(f"{PROVIDER}: series {series_id} entry without its book")
        book = link["book"]
        book_id = _int_id(book.get("id"), "book")
        title = require_str(book, "title", provider=PROVIDER, what=f"book {book_id}")
        authors, narrators = _people(book)
        position = canonical_position(link.get("position"), link.get("details"))
        year = year_of(book.get("release_year"))
        detail = ProviderBook(
            source=PROVIDER,
            source_id=str(book_id),
            title=title,
            authors=authors,
            narrators=narrators,
            release_date=year,
            series=(SeriesRef(text_or_none(record.get("name")) or "", position, str(series_id)),),
        )
        entries.append(
            SeriesEntry(position=position, title=title, source_id=str(book_id), release_date=year, book=detail)
        )
    completed = record.get("is_completed")
    primary = record.get("primary_books_count")
    return SeriesListing(
        source=PROVIDER,
        series_id=str(series_id),
        name=require_str(record, "name", provider=PROVIDER, what=f"series {series_id}"),
        entries=tuple(entries),
        is_completed=completed if isinstance(completed, bool) else None,
        primary_books_count=primary if isinstance(primary, int) else None,
    )
