"""Audible catalog simulator (one marketplace per app), faithful to the documented quirks.

- ``GET /1.0/catalog/products`` searches (``title``, ``author``, ``narrator``, ``keywords``,
  ``num_results`` <= 50, 0-based ``page``) or, with ``asins=A,B,C``, returns those products:
  more than 50 -> 400; a repeated ``asins=`` -> only one product (the last value's first ASIN);
  an unknown ASIN -> a hollow ``{"asin": ...}`` that still counts in ``total_results``.
- ``GET /1.0/catalog/products/{asin}`` returns ``{"product": ...}`` for books and series products.
  A series product's ``relationships`` lists one child/series entry per member with ``sequence``
  (raw: "Book 3", "2, Dramatized Adaptation", missing) and ``sort`` (display order, not volume).
- Fields beyond ``asin`` and ``title`` depend on ``response_groups``; arrays of ``series`` and
  ``relationships`` come in an order that changes between requests (the real one is not stable).
Errors are ``{"message": ...}``.
"""

from __future__ import annotations

import random
import re
from typing import Any

from tests.sims.providers.catalog import AudibleCatalog, SeriesProduct
from tests.sims.providers.common import SimApp, SimRequest, SimResponse, SimState, route
from tests.sims.world import AudioEdition, Work, World

MAX_RESULTS = 50
PARTIAL_KEYS = frozenset(
    {
        "narrators",
        "runtime_length_min",
        "series",
        "release_date",
        "isbn",
        "subtitle",
        "language",
        "format_type",
        "publication_name",
        "relationships",
    }
)
REQUIRED_KEYS = frozenset({"title"})
_ASIN = re.compile(r"^[A-Z0-9]{10}$")


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"message": message}


def build_audible_app(world: World, *, region: str = "us", state: SimState | None = None) -> SimApp:
    catalog = AudibleCatalog(world, region)
    sim_state = state or SimState(f"audible-{region}")

    def shuffled(items: list[dict[str, Any]], asin: str) -> list[dict[str, Any]]:
        rng = random.Random(f"{asin}:{sim_state.total}")
        out = list(items)
        rng.shuffle(out)
        return out

    def book(work: Work, edition: AudioEdition, groups: set[str]) -> dict[str, Any]:
        product: dict[str, Any] = {"asin": edition.asin, "title": edition.title}  # known: never hollow
        memberships = catalog.memberships.get(edition.asin, [])
        primary = catalog.primary_series.get(edition.asin)
        if "product_attrs" in groups:
            product.update(
                {
                    "subtitle": work.subtitle,
                    "publisher_name": "Simulated Audio",
                    "release_date": edition.release_date.isoformat(),
                    "issue_date": edition.release_date.isoformat(),
                    "runtime_length_min": max(1, round(edition.duration_seconds / 60)),
                    "language": edition.language,
                    "format_type": "abridged" if edition.kind == "abridged" else "unabridged",
                    "content_delivery_type": "MultiPartBook" if work.kind == "omnibus" else "SinglePartBook",
                }
            )
            if primary is not None:
                product["publication_name"] = primary.audible_name
        if "contributors" in groups:
            product["authors"] = [{"asin": catalog.author_asin(a), "name": a} for a in work.authors]
            product["narrators"] = [{"name": n} for n in edition.narrators]
        if "product_extended_attrs" in groups and work.isbn13:
            product["isbn"] = work.isbn13
        if "media" in groups:
            product["product_images"] = {"500": f"https://m.media-amazon.sim/images/I/{edition.asin}.jpg"}
        if "product_desc" in groups:
            product["merchandising_summary"] = f"<p>{edition.title}, by {', '.join(work.authors)}.</p>"
        if "rating" in groups:
            product["rating"] = {"overall_distribution": {"display_average_rating": "4.5"}}
        if "series" in groups and memberships:
            product["series"] = shuffled(
                [
                    {"asin": m.series_asin, "title": m.name, "sequence": m.sequence, "url": f"/pd/{m.series_asin}"}
                    for m in memberships
                ],
                edition.asin,
            )
        if "relationships" in groups and memberships:
            product["relationships"] = shuffled(
                [
                    {
                        "asin": m.series_asin,
                        "relationship_to_product": "parent",
                        "relationship_type": "series",
                        "sequence": m.sequence,
                        "sort": str(m.sort),
                        "title": m.name,
                    }
                    for m in memberships
                ],
                edition.asin,
            )
        return {k: v for k, v in product.items() if v is not None}

    def series_product(sp: SeriesProduct, groups: set[str]) -> dict[str, Any]:
        product: dict[str, Any] = {"asin": sp.asin, "title": sp.name}
        if "product_attrs" in groups:
            product["content_delivery_type"] = "BookSeries"
        if "relationships" in groups:
            children = []
            for n, (edition, _) in enumerate(sp.children, start=1):
                child: dict[str, Any] = {
                    "asin": edition.asin,
                    "relationship_to_product": "child",
                    "relationship_type": "series",
                    "sort": str(n if sp.universe else edition.sort),
                }
                if edition.sequence is not None and not sp.universe:
                    child["sequence"] = edition.sequence
                children.append(child)
            product["relationships"] = children
        return product

    def groups_of(request: SimRequest) -> set[str]:
        return {g.strip() for g in (request.arg("response_groups") or "").split(",") if g.strip()}

    def products(request: SimRequest, _m: re.Match[str]) -> SimResponse:
        groups = groups_of(request)
        if "asins" in request.query:
            value = request.query["asins"][-1]  # a repeated asins= keeps one value...
            asins = [a.strip() for a in value.split(",") if a.strip()]
            if len(request.query["asins"]) > 1:
                asins = asins[:1]  # ...and only one product of it
            if len(asins) > MAX_RESULTS:
                return SimResponse(400, error_body(400, f"Too many asins: {len(asins)} (max {MAX_RESULTS})"))
            out = [book(*catalog.products[a], groups) if a in catalog.products else {"asin": a} for a in asins]
            return SimResponse(200, {"products": out, "total_results": len(out), "response_groups": sorted(groups)})
        try:
            num = int(request.arg("num_results", "10") or "10")
            page = int(request.arg("page", "0") or "0")
        except ValueError:
            return SimResponse(400, error_body(400, "num_results and page must be integers"))
        if not 1 <= num <= MAX_RESULTS or page < 0:
            return SimResponse(400, error_body(400, f"num_results must be 1..{MAX_RESULTS}, page >= 0"))
        hits = catalog.search(
            title=request.arg("title"),
            author=request.arg("author"),
            narrator=request.arg("narrator"),
            keywords=request.arg("keywords"),
        )
        window = hits[page * num : (page + 1) * num]
        return SimResponse(
            200,
            {
                "products": [book(w, e, groups) for w, e in window],
                "total_results": len(hits),
                "response_groups": sorted(groups),
            },
        )

    def product(request: SimRequest, m: re.Match[str]) -> SimResponse:
        asin = m.group(1)
        groups = groups_of(request)
        if asin in catalog.products:
            return SimResponse(
                200, {"product": book(*catalog.products[asin], groups), "response_groups": sorted(groups)}
            )
        if asin in catalog.series_products:
            return SimResponse(
                200,
                {"product": series_product(catalog.series_products[asin], groups), "response_groups": sorted(groups)},
            )
        if not _ASIN.match(asin):
            return SimResponse(400, error_body(400, f"Invalid ASIN {asin}"))
        return SimResponse(404, error_body(404, "Requested product doesn't exist"))

    routes = [
        route("GET", "/1.0/catalog/products", "products", products),
        route("GET", r"/1.0/catalog/products/([^/]+)", "product", product),
    ]
    return SimApp(
        f"audible-{region}",
        routes,
        error_body=error_body,
        partial_keys=PARTIAL_KEYS,
        required_keys=REQUIRED_KEYS,
        state=sim_state,
    )
