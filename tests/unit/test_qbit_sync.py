"""Merging ``sync/maindata`` answers into views, and reading qBittorrent's fields totally."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.infra.errors import MalformedResponse
from workers.download.qbit_sync import MaindataMerger, epoch, parse_tags, parse_view

A, B, C = "a" * 40, "b" * 40, "c" * 40


def torrent(category: str = "mc", **extra: Any) -> dict[str, Any]:
    return {"name": "Book", "state": "stalledDL", "progress": 0, "size": 1000, "category": category,
            "tags": "mamcrawler", "save_path": "/d", "content_path": "/d/Book", "added_on": 1_700_000_000,
            "completion_on": 0, "tracker": "", "ratio_limit": -1, "seeding_time_limit": -1, **extra}


def test_full_then_partial_then_removed() -> None:
    merger = MaindataMerger("mc")
    first = merger.apply({"rid": 1, "full_update": True, "torrents": {A: torrent(), B: torrent(), C: torrent("x")}})
    assert first.full_update and set(first.torrents) == {A, B} and merger.rid == 1
    second = merger.apply({"rid": 2, "torrents": {A: {"progress": 0.5, "state": "downloading"}}})
    assert second.torrents[A].progress == 0.5 and second.torrents[A].name == "Book" and not second.full_update
    assert second.torrents[B] is first.torrents[B]  # untouched views are not rebuilt
    third = merger.apply({"rid": 3, "torrents_removed": [A, C]})
    assert set(third.torrents) == {B} and third.removed == frozenset({A})  # C was never ours
    assert merger.apply({"rid": 4}).removed == frozenset()


def test_category_moves_and_full_update_after_restart() -> None:
    merger = MaindataMerger("mc")
    merger.apply({"rid": 1, "full_update": True, "torrents": {A: torrent(), B: torrent(), C: torrent("x")}})
    moved = merger.apply({"rid": 2, "torrents": {C: {"category": "mc"}, A: {"category": "other"}}})
    assert set(moved.torrents) == {B, C} and moved.removed == frozenset() and moved.torrents[C].name == "Book"
    # qBittorrent restarted without B (its resume data lost) and with A deleted while it was elsewhere
    restarted = merger.apply({"rid": 1, "full_update": True, "torrents": {C: torrent()}})
    assert restarted.full_update and set(restarted.torrents) == {C} and restarted.removed == frozenset({B})
    assert merger.knows(C) and not merger.knows(A)


def test_upper_case_hashes_and_calls_are_kept() -> None:
    snap = MaindataMerger("mc").apply({"rid": 7, "full_update": True, "torrents": {A.upper(): torrent()}}, calls=3)
    assert set(snap.torrents) == {A} and snap.calls == 3


@pytest.mark.parametrize("data", [None, [], {"torrents": {}}, {"rid": "5"}, {"rid": True},
                                  {"rid": 1, "torrents": []}, {"rid": 1, "torrents": {A: "x"}},
                                  {"rid": 1, "torrents_removed": {}}])
def test_malformed_answers(data: object) -> None:
    with pytest.raises(MalformedResponse):
        MaindataMerger("mc").apply(data)


def test_parse_view_is_total() -> None:
    view = parse_view(A, {"progress": "0.25", "size": "1000", "ratio": "n/a", "seeding_time": float("nan"),
                          "uploaded": -5, "tags": ["x", " y ", "x", ""], "completion_on": -1,
                          "added_on": 4294967295, "tracker": "http://t/announce", "ratio_limit": "-2",
                          "seeding_time_limit": None, "state": None, "name": 42})
    assert view.progress == 0.25 and view.size_bytes == 1000 and view.ratio == 0.0 and view.seeding_time == 0
    assert view.uploaded_bytes == 0 and view.tags == ("x", "y") and view.completion_on is None
    assert view.added_on is None and view.tracker_ok and view.ratio_limit == -2.0
    assert view.seeding_time_limit is None and view.state == "unknown" and view.name == "42"
    empty = parse_view(B, {})
    assert (empty.progress, empty.category, empty.tracker_ok, empty.tags) == (0.0, "", False, ())
    assert parse_view(C, {"progress": 1.5}).progress == 1.0


def test_tags_and_times() -> None:
    assert parse_tags("mamcrawler, series:Dune, author:Frank Herbert") == (
        "mamcrawler", "series:Dune", "author:Frank Herbert")
    assert parse_tags("") == () and parse_tags(None) == ()
    assert epoch(1_700_000_000) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert epoch("1700000000") == epoch(1_700_000_000)
    assert epoch(0) is None and epoch(-1) is None and epoch("never") is None and epoch(float("inf")) is None
