"""Audible catalog client (one marketplace per client): search, products and whole-series listings.

Quirks this module exists to absorb (see docs/reference metadata-providers.md):
- ``asins=`` takes at most 50 ASINs as ONE comma-joined value; unknown ASINs come back as hollow
  products holding only ``asin`` and must be dropped, not reported as books.
- A series is listed through the series product's ``relationships`` (child/series entries); the
  volume is ``sequence``, never ``sort`` (display order that shifts around omnibus entries).
- A book may sit in several series; the primary one is the series titled like ``publication_name``,
  and the array order is not stable, so we put the primary first ourselves.
- Which ASINs share a batch depends on the caller, so batch answers are cached one ASIN per entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson

from shared.infra.errors import MalformedResponse
from shared.positions import canonical_position
from workers.metadata.providers._http import ProviderHttp
from workers.metadata.providers._normalize import (
    abridged_from_format,
    iso_date,
    minutes_to_seconds,
    names,
    normalize_language,
    require_dict,
    require_list,
    require_str,
    text_or_none,
)
from workers.metadata.providers.base import ProviderBook, SeriesEntry, SeriesListing, SeriesRef
from workers.upstream import UpstreamOptions

PROVIDER = "audible"
MAX_ASINS = 50
RESPONSE_GROUPS = (
    "contributors,media,product_attrs,product_desc,product_details,product_extended_attrs,"
    "rating,series,relationships,category_ladders"
)
_SERIES_GROUPS = "relationships,product_attrs"
_PRODUCTS = "/1.0/catalog/products"
_ASIN = re.compile(r"^[A-Z0-9]{10}$")


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of catalog search; ``page`` is 0-based like Audible's."""

    books: tuple[ProviderBook, ...]
    total_results: int
    page: int
    num_results: int

    @property
    def has_more(self) -> bool:
        return (self.page + 1) * self.num_results < self.total_results


class AudibleClient(ProviderHttp):
    """Catalog of one marketplace; ``region`` labels its records and scopes its cache keys."""

    service = PROVIDER

    def __init__(self, options: UpstreamOptions, *, region: str = "us") -> None:
        self.region = region.lower()
        super().__init__(options, cache_scope=self.region)

    def search(
        self,
        *,
        title: str | None = None,
        author: str | None = None,
        narrator: str | None = None,
        keywords: str | None = None,
        num_results: int = 50,
        page: int = 0,
    ) -> SearchPage:
        if not 1 <= num_results <= MAX_ASINS:
            raise ValueError(f"num_results must be 1..{MAX_ASINS} (Audible rejects more)")
        params = {
            "title": title,
            "author": author,
            "narrator": narrator,
            "keywords": keywords,
            "num_results": num_results,
            "page": page,
            "products_sort_by": "Relevance",
            "response_groups": RESPONSE_GROUPS,
        }

        def parse(data: object) -> SearchPage:
            body = require_dict(data, provider=PROVIDER, what="search")
            products = require_list(body.get("products"), provider=PROVIDER, what="search.products")
            books = tuple(b for b in (self._product_or_none(p) for p in products) if b is not None)
            total = body.get("total_results")
            return SearchPage(books, total if isinstance(total, int) else len(books), page, num_results)

        return self._get("/1.0/catalog/products", params, parse)

    def product(self, asin: str) -> ProviderBook:
        def parse(data: object) -> ProviderBook:
            body = require_dict(data, provider=PROVIDER, what="product")
            return self._book(require_dict(body.get("product"), provider=PROVIDER, what="product.product"))

        return self._get(f"/1.0/catalog/products/{asin}", {"response_groups": RESPONSE_GROUPS}, parse)

    def products(self, asins: Iterable[str]) -> list[ProviderBook]:
        """Details for many ASINs, 50 per request, in input order; unknown ASINs are simply absent.

        The cache keeps one entry per ASIN, never one per batch: which ASINs share a request depends
        on who asked (the recordings one match job got, a series' members), and a batch key would
        make the same ASIN a miss whenever its neighbours differ (issue 8: a rerun regrouped by the
        first run's commit order asked Audible again). Only the ASINs not cached are requested.
        """
        wanted = list(dict.fromkeys(a.strip().upper() for a in asins if a and a.strip()))
        found: dict[str, ProviderBook] = {}
        missing = []
        keys = {a: self._product_key(a) for a in wanted}
        cached = self._cache.get_many(PROVIDER, list(keys.values())) if self._cache is not None else {}
        for asin in wanted:
            status, _, content = cached.get(keys[asin], b"").partition(b"\n")
            if status != b"200":
                missing.append(asin)
                continue
            found.update((b.source_id, b) for b in self._parse_many(self.decode_json(content, "GET", _PRODUCTS)))
        for start in range(0, len(missing), MAX_ASINS):
            chunk = missing[start : start + MAX_ASINS]
            params = {"asins": ",".join(chunk), "response_groups": RESPONSE_GROUPS}
            raw = self._get(_PRODUCTS, params, self._parse_batch, use_cache=False)
            found.update((b.source_id, b) for _, b in raw.values() if b is not None)
            self._keep_products(chunk, raw)
        return [found[a] for a in wanted if a in found]

    def series_listing(self, series_asin: str) -> SeriesListing:
        """Every member of a series with its ``sequence``, details fetched in batches of 50.

        Members whose details come back hollow keep their entry (``book`` None): the series says
        they exist even if this marketplace cannot describe them.
        """

        def parse(data: object) -> tuple[str, list[tuple[str, str | None]]]:
            body = require_dict(data, provider=PROVIDER, what="series product")
            product = require_dict(body.get("product"), provider=PROVIDER, what="series product.product")
            name = require_str(product, "title", provider=PROVIDER, what=f"series {series_asin}")
            members: list[tuple[str, str | None]] = []
            for rel in product.get("relationships") or []:
                if not isinstance(rel, dict):
                    continue
                if rel.get("relationship_to_product") != "child" or rel.get("relationship_type") != "series":
                    continue
                asin = text_or_none(rel.get("asin"))
                if asin:
                    members.append((asin, canonical_position(rel.get("sequence"))))
            return name, members

        name, members = self._get(f"/1.0/catalog/products/{series_asin}", {"response_groups": _SERIES_GROUPS}, parse)
        details = {b.source_id: b for b in self.products(a for a, _ in members)}
        entries = [
            SeriesEntry(
                position=pos,
                title=details[a].title if a in details else None,
                source_id=a,
                asin=a,
                isbn=details[a].isbn if a in details else None,
                release_date=details[a].release_date if a in details else None,
                book=details.get(a),
            )
            for a, pos in members
        ]
        entries.sort(key=_entry_order)
        return SeriesListing(
            source=PROVIDER, series_id=series_asin, name=name, entries=tuple(entries), region=self.region
        )

    # -- parsing --------------------------------------------------------------------------------

    def _parse_batch(self, data: object) -> dict[str, tuple[dict[str, Any], ProviderBook | None]]:
        """Each product of an ``asins=`` answer with its parsed book (None: hollow, an unknown ASIN).

        Every product is parsed before anything is kept, so a malformed answer is cached for no ASIN."""
        body = require_dict(data, provider=PROVIDER, what="products")
        products = require_list(body.get("products"), provider=PROVIDER, what="products.products")
        out: dict[str, tuple[dict[str, Any], ProviderBook | None]] = {}
        for raw in products:
            product = require_dict(raw, provider=PROVIDER, what="product")
            book = self._product_or_none(product)
            asin = text_or_none(product.get("asin"))
            if asin is not None:  # a hollow product without even its ASIN says nothing about any ASIN
                out[asin.upper()] = (product, book)
        return out

    def _product_key(self, asin: str) -> str:
        """The cache key of one ASIN: the key its request alone (``asins=<ASIN>``) would have."""
        query = urlencode(sorted({"asins": asin, "response_groups": RESPONSE_GROUPS}.items()))
        return f"{self.region}:GET {_PRODUCTS}?{query}"

    def _keep_products(self, asins: list[str], raw: dict[str, tuple[dict[str, Any], ProviderBook | None]]) -> None:
        """Store each asked ASIN as the answer to its own one-ASIN request.

        Known products keep the normal TTL; hollow ones (and any ASIN the answer left out) are
        Audible's "unknown here", a negative answer kept for the negative TTL like a 404.
        """
        if self._cache is None:
            return
        known: dict[str, bytes] = {}
        unknown: dict[str, bytes] = {}
        for asin in asins:
            product, book = raw.get(asin, ({"asin": asin}, None))
            body = b"200\n" + orjson.dumps({"products": [product], "total_results": 1})
            (known if book is not None else unknown)[self._product_key(asin)] = body
        self._cache.put_many(PROVIDER, known, self._cache_ttl)
        self._cache.put_many(PROVIDER, unknown, self._negative_ttl)

    def _parse_many(self, data: object) -> list[ProviderBook]:
        body = require_dict(data, provider=PROVIDER, what="products")
        products = require_list(body.get("products"), provider=PROVIDER, what="products.products")
        return [b for b in (self._product_or_none(p) for p in products) if b is not None]

    def _product_or_none(self, raw: object) -> ProviderBook | None:
        """None for a hollow product (only ``asin``): Audible's way of saying "unknown ASIN"."""
        product = require_dict(raw, provider=PROVIDER, what="product")
        if set(product) <= {"asin"}:
            return None
        return self._book(product)

    def _book(self, product: dict[str, Any]) -> ProviderBook:
        asin = require_str(product, "asin", provider=PROVIDER, what="product")
        if not _ASIN.match(asin):
            raise MalformedResponse(f"{PROVIDER}: product ASIN {asin!r} is not an ASIN")
        title = require_str(product, "title", provider=PROVIDER, what=f"product {asin}")
        fmt = text_or_none(product.get("format_type"))
        return ProviderBook(
            source=PROVIDER,
            source_id=asin,
            asin=asin,
            isbn=text_or_none(product.get("isbn")),
            title=title,
            subtitle=text_or_none(product.get("subtitle")),
            authors=names(product.get("authors")),
            narrators=names(product.get("narrators")),
            series=_series_refs(product),
            duration_seconds=minutes_to_seconds(product.get("runtime_length_min")),
            language=normalize_language(product.get("language")),
            release_date=iso_date(product.get("release_date") or product.get("issue_date")),
            abridged=abridged_from_format(fmt),
            format_type=fmt,
            region=self.region,
        )


def _series_refs(product: dict[str, Any]) -> tuple[SeriesRef, ...]:
    """Series from ``series[]`` (else parent/series relationships), primary series first."""
    refs: list[SeriesRef] = []
    for item in product.get("series") or []:
        if isinstance(item, dict) and text_or_none(item.get("title")):
            refs.append(
                SeriesRef(
                    str(item["title"]).strip(), canonical_position(item.get("sequence")), text_or_none(item.get("asin"))
                )
            )
    if not refs:
        for rel in product.get("relationships") or []:
            if (
                isinstance(rel, dict)
                and rel.get("relationship_to_product") == "parent"
                and rel.get("relationship_type") == "series"
                and text_or_none(rel.get("title"))
            ):
                refs.append(
                    SeriesRef(
                        str(rel["title"]).strip(),
                        canonical_position(rel.get("sequence")),
                        text_or_none(rel.get("asin")),
                    )
                )
    primary = (text_or_none(product.get("publication_name")) or "").casefold()
    refs.sort(key=lambda r: (r.name.casefold() != primary, r.name.casefold(), r.source_series_id or ""))
    return tuple(refs)


def _entry_order(entry: SeriesEntry) -> tuple[int, float, str]:
    if entry.position is None:
        return (1, 0.0, entry.source_id)
    return (0, float(entry.position.split("-")[0]), entry.source_id)
