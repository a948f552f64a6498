"""AudnexusClient against the Audnexus simulator: records, regions, chapters, authors, partial data."""

from __future__ import annotations

import pytest

from shared.infra.errors import MalformedResponse, NotFound
from shared.positions import canonical_position
from tests.sims.providers import build_audnexus_app, in_process_client
from tests.sims.providers.audnexus import error_body
from tests.sims.providers.common import SimApp
from tests.sims.world import AudioEdition, Work, World, generate_world
from workers.metadata.providers.audnexus import AudnexusClient
from workers.metadata.providers.base import MemoryCache, RegionUnavailable
from workers.upstream import UpstreamOptions


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(60, seed=5)


@pytest.fixture
def app(world: World) -> SimApp:
    return build_audnexus_app(world, enforce_limits=False)


@pytest.fixture
def client(app: SimApp) -> AudnexusClient:
    return AudnexusClient(UpstreamOptions("http://sim", http=in_process_client(app)))


def _with_uk(world: World) -> tuple[Work, AudioEdition, AudioEdition]:
    for work in world.works.values():
        us, uk = work.edition("us"), work.edition("uk")
        if us and uk and us.in_series and us.sequence:
            return work, us, uk
    raise AssertionError("world has no work sold in both regions")


def test_book_matches_the_world(world: World, client: AudnexusClient) -> None:
    work, us, _ = _with_uk(world)
    book = client.book(us.asin)
    series = world.series_by_id[work.series_id]
    assert (book.source, book.asin, book.title) == ("audnexus", us.asin, us.title)
    assert book.narrators == us.narrators
    assert book.authors == work.authors
    assert book.duration_seconds is not None and abs(book.duration_seconds - us.duration_seconds) <= 30
    assert book.series[0].name == series.audible_name
    assert book.series[0].position == canonical_position(us.sequence)
    assert book.series[0].source_series_id == series.audible_asin("us")
    assert (book.region, book.language, book.abridged) == ("us", "en", False)
    assert book.release_date == us.release_date.isoformat()


def test_universe_is_the_secondary_series(world: World, client: AudnexusClient) -> None:
    series = next(s for s in world.series if s.universe)
    edition = next(e for w in series.works for e in w.editions if e.region == "us" and e.in_series)
    book = client.book(edition.asin)
    assert [ref.name for ref in book.series] == [series.audible_name, series.universe]
    assert book.series[1].position is None


def test_asin_of_another_region_is_region_unavailable(world: World, client: AudnexusClient) -> None:
    _, us, uk = _with_uk(world)
    with pytest.raises(RegionUnavailable) as caught:
        client.book(uk.asin, region="us")
    assert (caught.value.asin, caught.value.region) == (uk.asin, "us")
    assert "REGION_UNAVAILABLE" in str(caught.value)
    in_uk = client.book(uk.asin, region="uk")
    assert (in_uk.title, in_uk.region) == (us.title, "uk")


def test_unknown_asin_is_plain_not_found(client: AudnexusClient) -> None:
    with pytest.raises(NotFound) as caught:
        client.book("B000000000")
    assert not isinstance(caught.value, RegionUnavailable)


def test_injected_region_unavailable_is_distinguishable(world: World, app: SimApp, client: AudnexusClient) -> None:
    _, us, _ = _with_uk(world)
    app.state.fail(404, body=error_body(404, "Item not available in region: us", "REGION_UNAVAILABLE"))
    with pytest.raises(RegionUnavailable):
        client.book(us.asin)


def test_region_unavailable_is_cached_negatively_per_region(world: World, app: SimApp) -> None:
    _, _, uk = _with_uk(world)
    client = AudnexusClient(UpstreamOptions("http://sim", http=in_process_client(app), cache=MemoryCache()))
    for _ in range(2):
        with pytest.raises(RegionUnavailable):
            client.book(uk.asin, region="us")
    assert client.book(uk.asin, region="uk").asin == uk.asin
    assert app.state.requests["book"] == 2


def test_chapters_in_another_region_name_the_region(world: World, client: AudnexusClient) -> None:
    _, _, uk = _with_uk(world)
    with pytest.raises(RegionUnavailable) as caught:
        client.chapters(uk.asin, region="US")
    assert (caught.value.asin, caught.value.region) == (uk.asin, "us")


def test_chapters_cover_the_runtime(world: World, client: AudnexusClient) -> None:
    _, us, _ = _with_uk(world)
    chapters = client.chapters(us.asin)
    assert chapters.runtime_ms == us.duration_seconds * 1000
    assert sum(c.length_ms for c in chapters.chapters) == chapters.runtime_ms
    starts = [c.start_ms for c in chapters.chapters]
    assert starts == sorted(starts) and starts[0] == 0


def test_authors_search_and_detail(world: World, client: AudnexusClient) -> None:
    author = world.authors[0]
    hits = client.search_authors(author.name)
    assert (author.asin, author.name) in [(h.asin, h.name) for h in hits]
    detail = client.author(author.asin)
    assert (detail.asin, detail.name) == (author.asin, author.name)
    with pytest.raises(NotFound):
        client.author("B0NOTANAUT")


def test_partial_record_parses_with_what_is_there(world: World, app: SimApp, client: AudnexusClient) -> None:
    _, us, _ = _with_uk(world)
    app.state.partial()
    book = client.book(us.asin)
    assert book.title == us.title
    assert (book.narrators, book.series, book.duration_seconds, book.release_date) == ((), (), None, None)


def test_record_without_required_fields_is_malformed(world: World, app: SimApp, client: AudnexusClient) -> None:
    _, us, _ = _with_uk(world)
    app.state.broken()
    with pytest.raises(MalformedResponse, match="required field"):
        client.book(us.asin)


def test_abridged_distractor_is_flagged(world: World, client: AudnexusClient) -> None:
    edition = next(e for _, e in world.editions.values() if e.kind == "abridged")
    assert client.book(edition.asin).abridged is True
