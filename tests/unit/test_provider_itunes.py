"""ITunesClient against the iTunes Search simulator: title clean-up, narrators, stores, lookup."""

from __future__ import annotations

import pytest

from shared.infra.errors import MalformedResponse, NotFound, PermanentError
from tests.sims.providers import build_itunes_app, in_process_client
from tests.sims.providers.common import SimApp
from tests.sims.world import World, generate_world
from workers.metadata.providers.itunes import ITunesClient
from workers.upstream import UpstreamOptions


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(40, seed=4)


@pytest.fixture
def app(world: World) -> SimApp:
    return build_itunes_app(world)


@pytest.fixture
def client(app: SimApp) -> ITunesClient:
    return ITunesClient(UpstreamOptions("http://sim", http=in_process_client(app)))


def test_unabridged_suffix_is_stripped_and_narrators_come_from_the_description(
    world: World, client: ITunesClient
) -> None:
    work = next(w for w in world.works.values() if w.itunes_id % 4 == 0 and w.edition("us"))
    edition = work.edition("us")
    assert edition is not None
    book = next(b for b in client.search(edition.title) if b.source_id == str(work.itunes_id))
    assert (book.title, book.abridged, book.authors) == (edition.title, False, work.authors)
    assert book.narrators == edition.narrators
    assert book.series == () and book.asin is None and book.release_date == edition.release_date.isoformat()


def test_series_suffixed_title_is_kept_and_missing_narrator_is_empty(world: World, client: ITunesClient) -> None:
    work = next(w for w in world.works.values() if w.itunes_id % 4 == 1 and w.kind != "omnibus" and w.edition("us"))
    series = world.series_by_id[work.series_id]
    book = client.lookup(work.itunes_id)
    assert book.title == f"{work.title}: {series.audible_name}, Book {work.position}"
    plain = next(w for w in world.works.values() if w.itunes_id % 4 == 2 and w.edition("us"))
    assert client.lookup(plain.itunes_id).narrators == ()


def test_gb_store_sells_uk_editions_only(world: World, client: ITunesClient) -> None:
    work = next(w for w in world.works.values() if w.edition("uk"))
    assert client.lookup(work.itunes_id, country="GB").region == "uk"  # Audible's marketplace name
    only_us = next(w for w in world.works.values() if w.edition("us") and not w.edition("uk"))
    with pytest.raises(NotFound):
        client.lookup(only_us.itunes_id, country="GB")


def test_empty_term_is_refused_by_itunes(client: ITunesClient) -> None:
    with pytest.raises(PermanentError, match="term"):
        client.search("")


def test_malformed_and_broken_answers(world: World, app: SimApp, client: ITunesClient) -> None:
    work = next(w for w in world.works.values() if w.edition("us"))
    app.state.malformed()
    with pytest.raises(MalformedResponse):
        client.lookup(work.itunes_id)
    app.state.broken()
    with pytest.raises(MalformedResponse, match="collectionName"):
        client.lookup(work.itunes_id)
    app.state.partial()
    partial = client.lookup(work.itunes_id)
    assert (partial.authors, partial.narrators, partial.release_date) == ((), (), None)
