"""Stage 4: print catalogues fill a recording's missing ISBN / release date, and an outage of one of
them is noted without failing anything else."""

from __future__ import annotations

import pytest

from shared.infra.errors import RateLimited
from shared.infra.settings import load_settings
from shared.models.metadata import RecordingMatch
from tests.sims.providers import build_googlebooks_app, build_openlibrary_app, in_process_client
from tests.sims.world import Work, World, generate_world
from workers.metadata.merge import merge_recording
from workers.metadata.print_stage import PrintClient, match_in_print
from workers.metadata.providers.base import MemoryCache
from workers.metadata.providers.googlebooks import GoogleBooksClient
from workers.metadata.providers.openlibrary import OpenLibraryClient
from workers.metadata.recordings import LibraryRecording
from workers.upstream import UpstreamOptions

THRESHOLD = 0.8


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(30, seed=21)


def _work(world: World) -> Work:
    return next(w for w in world.works.values() if w.isbn13 and w.kind == "primary" and w.editions)


def _recording(work: Work, *, isbn: str | None) -> LibraryRecording:
    return LibraryRecording(recording_id=7, work_id=7, title=work.title, authors=work.authors, narrators=(),
                            series=(), asin=None, isbn=isbn, language="en", duration_seconds=36_000.0,
                            abridged=False, item_ids=("li_7",))


def _as_match(row_values: dict[str, object]) -> RecordingMatch:
    return RecordingMatch(**{k: v for k, v in row_values.items()})


def test_release_date_is_filled_from_google_books_by_isbn(world: World) -> None:
    work = _work(world)
    rec = _recording(work, isbn=work.isbn13)
    google = GoogleBooksClient(UpstreamOptions("http://sim", http=in_process_client(build_googlebooks_app(world))))
    clients: dict[str, PrintClient] = {"googlebooks": google}
    outcome = match_in_print([rec], {7: {"release_date"}}, clients, THRESHOLD)
    assert [(r.provider, r.method, r.state) for r in outcome.rows] == [("googlebooks", "isbn", "applied")]
    merged = merge_recording(rec, [_as_match(r.values()) for r in outcome.rows], {}, load_settings())
    assert merged["release_date"].source == "googlebooks"
    assert merged["release_date"].value[:4] == str(work.release_date.year)
    assert merged["isbn"].source == "abs"  # a print catalogue never overwrites what a stronger source holds


def test_a_provider_that_is_down_is_noted_and_the_next_one_answers(world: World) -> None:
    work = _work(world)
    rec = _recording(work, isbn=work.isbn13)
    google_app = build_googlebooks_app(world)
    google_app.state.fail(503, times=None)
    cache = MemoryCache()
    clients: dict[str, PrintClient] = {
        "googlebooks": GoogleBooksClient(UpstreamOptions("http://sim", http=in_process_client(google_app))),
        "openlibrary": OpenLibraryClient(
            UpstreamOptions("http://sim", http=in_process_client(build_openlibrary_app(world)), cache=cache)),
    }
    outcome = match_in_print([rec], {7: {"release_date"}}, clients, THRESHOLD)
    assert set(outcome.down) == {"googlebooks"} and "503" in outcome.down["googlebooks"]
    assert [(r.provider, r.state) for r in outcome.rows] == [("openlibrary", "applied")]
    assert outcome.rows[0].record is not None and outcome.rows[0].record["release_date"]


def test_nothing_missing_asks_nobody_and_a_rate_limit_is_not_swallowed(world: World) -> None:
    work = _work(world)
    rec = _recording(work, isbn=work.isbn13)

    def refuse() -> None:
        raise RateLimited("googlebooks", 30.0)

    app = build_googlebooks_app(world)
    google = GoogleBooksClient(UpstreamOptions("http://sim", http=in_process_client(app), throttle=refuse))
    assert match_in_print([rec], {}, {"googlebooks": google}, THRESHOLD).rows == []
    assert app.state.total == 0
    with pytest.raises(RateLimited):
        match_in_print([rec], {7: {"isbn"}}, {"googlebooks": google}, THRESHOLD)
