"""AudibleClient against the Audible simulator: search paging, products, 50-ASIN rule, series."""

from __future__ import annotations

import pytest

from shared.infra.errors import MalformedResponse, NotFound
from shared.positions import canonical_position
from tests.sims.providers import build_audible_app, in_process_client
from tests.sims.providers.common import ManualClock, SimApp
from tests.sims.world import Series, World, generate_world
from workers.metadata.providers.audible import AudibleClient
from workers.metadata.providers.base import MemoryCache
from workers.upstream import UpstreamOptions


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(80, seed=3)


@pytest.fixture
def app(world: World) -> SimApp:
    return build_audible_app(world)


@pytest.fixture
def client(app: SimApp) -> AudibleClient:
    return AudibleClient(UpstreamOptions("http://sim", http=in_process_client(app)))


def _series(world: World, quirk: str) -> Series:
    return next(s for s in world.series if any(q.startswith(quirk) for q in s.quirks))


def test_product_matches_the_world(world: World, client: AudibleClient) -> None:
    work = world.series[0].works[-1]
    edition = work.edition("us")
    assert edition is not None
    book = client.product(edition.asin)
    assert (book.source, book.asin, book.title, book.narrators) == (
        "audible",
        edition.asin,
        edition.title,
        edition.narrators,
    )
    assert book.isbn == work.isbn13
    assert book.region == "us"


def test_primary_series_comes_first_whatever_the_array_order(world: World, client: AudibleClient) -> None:
    series = _series(world, "universe")
    edition = next(e for w in series.works for e in w.editions if e.region == "us" and e.in_series)
    seen_orders = set()
    for _ in range(6):  # the sim reshuffles series[] on every request
        book = client.product(edition.asin)
        assert book.series[0].name == series.audible_name
        seen_orders.add(tuple(r.name for r in book.series))
    assert {r.name for r in book.series} == {series.audible_name, series.universe}
    assert len(seen_orders) == 1  # normalized: primary first, then by name


def test_unknown_product_is_not_found(client: AudibleClient) -> None:
    with pytest.raises(NotFound):
        client.product("B000000000")


def test_products_chunks_by_50_drops_hollow_and_keeps_order(world: World, app: SimApp, client: AudibleClient) -> None:
    known = sorted(a for a, (_, e) in world.editions.items() if e.region == "us")[:110]
    unknown = [f"B0ZZZZZ{n:03d}" for n in range(10)]
    wanted = known[:50] + unknown + known[50:]
    books = client.products(wanted)
    assert [b.asin for b in books] == known
    sent = [r.query["asins"][0].split(",") for r in app.state.log if "asins" in r.query]
    assert [len(chunk) for chunk in sent] == [50, 50, 20]
    assert all(len(r.query["asins"]) == 1 for r in app.state.log if "asins" in r.query)


def test_products_drops_hollow_even_though_audible_counts_them(world: World, app: SimApp) -> None:
    asin = next(a for a, (_, e) in world.editions.items() if e.region == "us")
    raw = in_process_client(app).get("/1.0/catalog/products", params={"asins": f"{asin},B0ZZZZZZZZ"}).json()
    assert raw["total_results"] == 2 and raw["products"][1] == {"asin": "B0ZZZZZZZZ"}
    client = AudibleClient(UpstreamOptions("http://sim", http=in_process_client(app)))
    assert [b.asin for b in client.products([asin, "B0ZZZZZZZZ"])] == [asin]


def test_sim_enforces_the_50_asin_rule_and_single_asins_value(world: World, app: SimApp) -> None:
    http = in_process_client(app)
    asins = sorted(a for a, (_, e) in world.editions.items() if e.region == "us")
    assert http.get("/1.0/catalog/products", params={"asins": ",".join(asins[:51])}).status_code == 400
    repeated = http.get("/1.0/catalog/products", params=[("asins", asins[0]), ("asins", f"{asins[1]},{asins[2]}")])
    assert len(repeated.json()["products"]) == 1


def test_series_listing_uses_sequence_and_covers_the_quirks(world: World, client: AudibleClient) -> None:
    series = _series(world, "omnibus")
    listing = client.series_listing(series.audible_asin("us") or "")
    assert listing.name == series.audible_name
    expected = {
        e.asin: canonical_position(e.sequence)
        for w in series.works
        for e in w.editions
        if e.region == "us" and e.in_series
    }
    assert {e.asin: e.position for e in listing.entries} == expected
    assert any(e.position == "1-3" for e in listing.entries)
    assert all(e.book is not None and e.book.title == e.title for e in listing.entries)


def test_series_listing_lacks_the_book_audible_does_not_link(world: World, client: AudibleClient) -> None:
    series = _series(world, "audible_missing")
    missing = next(q.split(":")[1] for q in series.quirks if q.startswith("audible_missing"))
    listing = client.series_listing(series.audible_asin("us") or "")
    unlinked = next(w for w in series.works if w.position == missing)
    assert unlinked.edition("us") is not None
    assert unlinked.edition("us").asin not in {e.asin for e in listing.entries}  # type: ignore[union-attr]


def test_series_listing_in_the_uk_marketplace(world: World) -> None:
    series = _series(world, "uk")
    app = build_audible_app(world, region="uk")
    client = AudibleClient(UpstreamOptions("http://sim", http=in_process_client(app)), region="uk")
    listing = client.series_listing(series.audible_asin("uk") or "")
    assert listing.region == "uk" and listing.entries
    assert all(e.book is not None and e.book.region == "uk" for e in listing.entries)


def test_search_pages_are_disjoint_and_total_is_consistent(world: World, client: AudibleClient) -> None:
    author = max(world.authors, key=lambda a: sum(a.name in s.authors for s in world.series)).name
    first = client.search(author=author, num_results=3, page=0)
    second = client.search(author=author, num_results=3, page=1)
    assert first.total_results == second.total_results > 3
    assert first.has_more
    assert not {b.asin for b in first.books} & {b.asin for b in second.books}
    assert all(author in b.authors for b in first.books + second.books)


def test_search_by_title_puts_the_exact_title_first(world: World, client: AudibleClient) -> None:
    work = world.series[5].works[0]
    page = client.search(title=work.title, num_results=10)
    assert page.books[0].title == work.title


def test_search_rejects_more_than_50_results_before_sending(client: AudibleClient, app: SimApp) -> None:
    with pytest.raises(ValueError):
        client.search(title="x", num_results=51)
    assert app.state.total == 0


def test_partial_products_parse_and_broken_ones_are_malformed(world: World, app: SimApp, client: AudibleClient) -> None:
    asin = world.series[0].works[0].editions[0].asin
    app.state.partial()
    book = client.product(asin)
    assert (book.narrators, book.series, book.duration_seconds) == ((), (), None)
    app.state.broken()
    with pytest.raises(MalformedResponse):
        client.product(asin)


def test_cache_scope_separates_marketplaces(world: World) -> None:
    cache = MemoryCache()
    us_app, uk_app = build_audible_app(world), build_audible_app(world, region="uk")
    us = AudibleClient(UpstreamOptions("http://sim", http=in_process_client(us_app), cache=cache))
    uk = AudibleClient(UpstreamOptions("http://sim", http=in_process_client(uk_app), cache=cache), region="uk")
    asin = world.series[0].works[0].editions[0].asin
    us.products([asin])
    assert uk.products([asin]) == []  # a US ASIN is unknown (hollow) in the UK, not a cached US answer
    assert uk_app.state.total == 1


def _us_asins(world: World, n: int) -> list[str]:
    return sorted(a for a, (_, e) in world.editions.items() if e.region == "us")[:n]


def test_products_cache_one_entry_per_asin_whatever_batch_asked(world: World, app: SimApp) -> None:
    """Issue 8: the same ASINs asked in other company (another job's batch) are cache hits."""
    cache = MemoryCache()
    client = AudibleClient(UpstreamOptions("http://sim", http=in_process_client(app), cache=cache))
    a, b, c, d = _us_asins(world, 4)
    first = client.products([a, b, c, "B0ZZZZZZZZ"])
    assert app.state.total == 1 and len(cache) == 4  # the unknown ASIN is kept too (a negative answer)
    again = client.products([c, "B0ZZZZZZZZ", b, a])
    assert app.state.total == 1 and [x.asin for x in again] == [c, b, a]
    assert {x.asin: x for x in again} == {x.asin: x for x in first}
    client.products([d, b])
    assert app.state.total == 2 and app.state.log[-1].query["asins"] == [d]  # only what was not cached


def test_products_keep_unknown_asins_for_the_negative_ttl_only(world: World, app: SimApp) -> None:
    clock = ManualClock()
    client = AudibleClient(UpstreamOptions("http://sim", http=in_process_client(app), cache=MemoryCache(clock),
                                          cache_ttl=1000, negative_ttl=10))
    (known,) = _us_asins(world, 1)
    client.products([known, "B0ZZZZZZZZ"])
    clock.advance(11)
    assert [b.asin for b in client.products([known, "B0ZZZZZZZZ"])] == [known]
    assert app.state.total == 2 and app.state.log[-1].query["asins"] == ["B0ZZZZZZZZ"]


def test_a_malformed_batch_is_cached_for_no_asin(world: World, app: SimApp) -> None:
    cache = MemoryCache()
    client = AudibleClient(UpstreamOptions("http://sim", http=in_process_client(app), cache=cache))
    app.state.broken()
    with pytest.raises(MalformedResponse):
        client.products(_us_asins(world, 3))
    assert len(cache) == 0
    assert len(client.products(_us_asins(world, 3))) == 3 and app.state.total == 2
