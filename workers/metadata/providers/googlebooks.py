"""Google Books client: print-edition search and ISBN lookups.

The API key is optional (anonymous calls share a small quota) and lives in the query string, so it
is passed as a secret parameter: it never reaches cache keys, and every message is redacted.
Google reports an invalid key as 400 (not 401), and quota exhaustion as 429 or as a 403 whose
reason names the quota; both are refined here.
"""

from __future__ import annotations

from typing import Any

from shared.infra.errors import MamcError, NotFound, UpstreamUnavailable
from workers.metadata.providers._http import ProviderHttp
from workers.metadata.providers._normalize import (
    isbn13_first,
    iso_date,
    normalize_language,
    require_dict,
    require_list,
    require_str,
    text_or_none,
)
from workers.metadata.providers.base import ProviderBook
from workers.upstream import Reply, UpstreamAuthError, UpstreamOptions, parse_retry_after
from workers.upstream.redaction import Hidden

PROVIDER = "googlebooks"
MAX_RESULTS = 40
_QUOTA_WORDS = (b"ratelimitexceeded", b"quotaexceeded", b"dailylimitexceeded", b"resource_exhausted")


class GoogleBooksClient(ProviderHttp):
    service = PROVIDER
    default_cache_ttl = 7 * 86_400.0

    def __init__(self, options: UpstreamOptions, *, key: str | None = None) -> None:
        super().__init__(options, secrets=(key,))
        self._key = Hidden((key or "").strip()) if key and key.strip() else None

    def search(
        self,
        title: str,
        author: str | None = None,
        *,
        lang: str | None = None,
        max_results: int = MAX_RESULTS,
    ) -> list[ProviderBook]:
        if not 1 <= max_results <= MAX_RESULTS:
            raise ValueError(f"max_results must be 1..{MAX_RESULTS} (Google rejects more)")
        q = f'intitle:"{_quote_safe(title)}"'
        if author:
            q += f' inauthor:"{_quote_safe(author)}"'
        return self._volumes(q, max_results=max_results, lang=lang)

    def by_isbn(self, isbn: str) -> ProviderBook:
        clean = "".join(ch for ch in isbn if ch.isdigit() or ch in "xX")
        books = self._volumes(f"isbn:{clean}", max_results=10, lang=None)
        for book in books:
            if book.isbn and (book.isbn == clean or clean in book.isbn):
                return book
        if books:
            return books[0]
        raise NotFound(f"{PROVIDER}: no volume with ISBN {clean}")

    def _volumes(self, q: str, *, max_results: int, lang: str | None) -> list[ProviderBook]:
        params: dict[str, str | int | None] = {
            "q": q,
            "printType": "books",
            "maxResults": max_results,
            "langRestrict": lang,
        }
        secret = {"key": self._key.reveal()} if self._key else None
        return self._get("/books/v1/volumes", params, _parse_volumes, secret_params=secret)

    def classify(self, reply: Reply, method: str, path: str) -> MamcError:
        error = super().classify(reply, method, path)
        lowered = reply.content.lower()
        if reply.status == 400 and (b"api key not valid" in lowered or b"keyinvalid" in lowered):
            return UpstreamAuthError(str(error), service=PROVIDER, fatal=True)  # every request carries the key
        if reply.status == 403 and any(word in lowered for word in _QUOTA_WORDS):
            return UpstreamUnavailable(str(error), retry_after=parse_retry_after(reply.headers.get("retry-after")))
        return error


def _quote_safe(text: str) -> str:
    return text.replace('"', " ").strip()


def _parse_volumes(data: object) -> list[ProviderBook]:
    body = require_dict(data, provider=PROVIDER, what="volumes")
    items = require_list(body.get("items", []), provider=PROVIDER, what="volumes.items")  # absent if 0
    return [_volume(require_dict(item, provider=PROVIDER, what="volume")) for item in items]


def _volume(item: dict[str, Any]) -> ProviderBook:
    volume_id = require_str(item, "id", provider=PROVIDER, what="volume")
    info = require_dict(item.get("volumeInfo"), provider=PROVIDER, what=f"volume {volume_id}.volumeInfo")
    identifiers = [i.get("identifier") for i in info.get("industryIdentifiers") or [] if isinstance(i, dict)]
    return ProviderBook(
        source=PROVIDER,
        source_id=volume_id,
        isbn=isbn13_first(identifiers),
        title=require_str(info, "title", provider=PROVIDER, what=f"volume {volume_id}"),
        subtitle=text_or_none(info.get("subtitle")),
        authors=tuple(a.strip() for a in info.get("authors") or [] if isinstance(a, str) and a.strip()),
        language=normalize_language(info.get("language")),
        release_date=iso_date(info.get("publishedDate")),
    )
