"""The demo world's books (tests/demo/books.py): short missing books, the same ground truth, and a
MAM catalogue whose every offer can be told apart and made for real."""

from __future__ import annotations

from tests.demo.books import FIRST_TORRENT_ID, build_offers, missing_works, short_world, size_of
from tests.sims.world import generate_world


def test_only_missing_books_are_shortened_to_whole_minutes_and_the_gaps_stay_the_same() -> None:
    base, short = generate_world(12, 4), short_world(12, 4)
    assert {k: t.true_gaps for k, t in short.truths.items()} == {k: t.true_gaps for k, t in base.truths.items()}
    assert short.owned_books == base.owned_books
    owned = short.owned_work_ids
    for work_id, work in short.works.items():
        if work_id in owned:
            assert work == base.works[work_id]
            continue
        main = work.edition("us", "main")
        if main is not None:
            assert main.duration_seconds in (60, 120, 180)


def test_the_catalogue_offers_most_gaps_with_consistent_sizes_and_known_durations() -> None:
    world = short_world(40, 7)
    offers = build_offers(world, 7)
    gaps = missing_works(world)
    ids = [spec["id"] for spec in offers.specs]
    assert ids == list(range(FIRST_TORRENT_ID, FIRST_TORRENT_ID + len(ids)))
    assert set(offers.seconds) == set(ids)
    titles = {spec["title"] for spec in offers.specs}
    offered = [w for w in gaps if w.title in titles]
    assert len(offered) + len(offers.unoffered) == len(gaps) and len(offered) > 0.8 * len(gaps)
    for spec in offers.specs:
        if spec["tags"].startswith("Unabridged") and spec["lang_code"] == "ENG":
            runtime = offers.seconds[spec["id"]] / (0.8 if spec["id"] in offers.wrong_recordings else 1)
            assert spec["size_bytes"] == size_of(runtime)
    # a wrong recording always has a right one beside it, so the next search has something to choose
    assert offers.wrong_recordings
    for wrong in offers.wrong_recordings:
        title = next(s["title"] for s in offers.specs if s["id"] == wrong)
        assert any(s["title"] == title and s["filetype"] == "mp3" for s in offers.specs)
