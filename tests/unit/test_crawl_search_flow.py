"""The search flow without a server: the cache's single flight, and ``my_snatched`` read both ways.

A fake client answers from a dict of rows per (text, flagged?) so each reading of the flag is a
plain input; Redis is fakeredis (unit level: delivery is proven by the integration tests).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import fakeredis
import pytest

from shared.crawl.choice import QualityProfile, Target
from shared.infra.errors import MalformedResponse
from workers.crawl.mam_query import MamQuery, MamSearchPage, SnatchedShape
from workers.crawl.mam_rows import parse_search_body
from workers.crawl.search import ShapeMemory, run_search
from workers.crawl.search_cache import SearchCache, cache_key


def row(tid: int, title: str = "The Glass Orchard", *, snatched: bool | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": tid, "title": title, "author_info": '{"1": "Mira Calloway"}',
                           "narrator_info": '{"2": "Jonah Pike"}', "main_cat": 13, "category": 41,
                           "lang_code": "ENG", "filetype": "m4b", "size": "300.0 MiB", "numfiles": 1,
                           "seeders": 10, "leechers": 0, "times_completed": 5, "vip": 0, "free": 0,
                           "fl_vip": 0, "personal_freeleech": 0, "tags": "Unabridged, 64 kbps", **extra}
    if snatched is not None:
        out["my_snatched"] = int(snatched)
    return out


class FakeClient:
    """Answers searches from ``answers[(text, flagged)]`` and counts the requests."""

    def __init__(self, answers: dict[tuple[str, bool], list[dict[str, Any]]]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, bool]] = []

    def search_answer(self, query: MamQuery) -> tuple[MamSearchPage, Any]:
        key = (query.text, query.my_snatched)
        self.asked.append(key)
        rows = self.answers.get(key, [])
        nothing = {"error": "Nothing returned, out of 0"}
        data: dict[str, Any] = {"data": rows, "total_found": len(rows)} if rows else nothing
        return parse_search_body(data, query), data


TARGET = Target(title="The Glass Orchard", authors=("Mira Calloway",), runtime_seconds=11 * 3600.0)
TEXT = "The Glass Orchard Calloway"


def _run(client: FakeClient, redis: Any, target: Target = TARGET) -> Any:
    return run_search(client, SearchCache(redis, 300), ShapeMemory(redis), target, None,  # type: ignore[arg-type]
                      QualityProfile())


def test_annotated_rows_are_read_row_by_row_in_one_request() -> None:
    redis = fakeredis.FakeRedis()
    client = FakeClient({(TEXT, True): [row(1, snatched=True), row(2, snatched=False)]})
    outcome = _run(client, redis)
    assert client.asked == [(TEXT, True)]
    assert outcome.snatched == {1}
    assert outcome.decision.chosen is not None and outcome.decision.chosen.torrent_id == 2
    assert ShapeMemory(redis).known() is SnatchedShape.ANNOTATED


def test_filtered_rows_are_the_snatches_and_the_candidates_come_unflagged() -> None:
    redis = fakeredis.FakeRedis()
    client = FakeClient({(TEXT, True): [row(1, snatched=True)],
                         (TEXT, False): [row(1), row(2)]})
    outcome = _run(client, redis)
    assert client.asked == [(TEXT, True), (TEXT, False)]
    assert outcome.snatched == {1}
    chosen = outcome.decision.chosen
    assert chosen is not None and chosen.torrent_id == 2
    assert ShapeMemory(redis).known() is SnatchedShape.FILTERED


def test_rows_without_the_field_read_as_filtered() -> None:
    client = FakeClient({(TEXT, True): [row(7)], (TEXT, False): [row(7), row(8)]})
    outcome = _run(client, fakeredis.FakeRedis())
    assert outcome.snatched == {7} and client.asked[-1] == (TEXT, False)


def test_an_empty_flagged_answer_asks_again_unless_the_account_is_known_to_annotate() -> None:
    redis = fakeredis.FakeRedis()
    client = FakeClient({(TEXT, False): [row(3)]})
    outcome = _run(client, redis)
    assert (TEXT, False) in client.asked and outcome.decision.chosen is not None
    redis = fakeredis.FakeRedis()
    ShapeMemory(redis).seen(SnatchedShape.ANNOTATED)
    client = FakeClient({(TEXT, False): [row(3)]})
    outcome = _run(client, redis)
    assert all(flagged for _, flagged in client.asked), "an annotating account's empty answer is simply empty"
    assert outcome.decision.chosen is None


def test_a_confident_first_strategy_stops_the_search() -> None:
    target = Target(title="The Glass Orchard", authors=("Mira Calloway",), series_name="Orchard Cycle",
                    narrators=("Jonah Pike",), runtime_seconds=11 * 3600.0)
    client = FakeClient({(TEXT, True): [row(1, snatched=False)]})
    outcome = _run(client, fakeredis.FakeRedis(), target)
    assert outcome.decision.confident and len(outcome.queries) == 1 and len(client.asked) == 1


def test_the_cache_answers_a_repeat_and_keeps_no_error() -> None:
    redis = fakeredis.FakeRedis()
    cache = SearchCache(redis, 300)
    query = MamQuery(text="x")
    calls = 0

    def ask(q: MamQuery) -> tuple[MamSearchPage, Any]:
        nonlocal calls
        calls += 1
        data = {"data": [row(1)], "total_found": 1}
        return parse_search_body(data, q), data

    first, cached_first = cache.fetch(query, ask)
    second, cached_second = cache.fetch(query, ask)
    assert (cached_first, cached_second, calls) == (False, True, 1)
    assert [r.torrent_id for r in second.rows] == [r.torrent_id for r in first.rows] == [1]

    def broken(q: MamQuery) -> tuple[MamSearchPage, Any]:
        raise MalformedResponse("half a body")

    other = MamQuery(text="y")
    with pytest.raises(MalformedResponse):
        cache.fetch(other, broken)
    assert redis.get(cache_key(other)) is None and redis.get(cache_key(other) + ":flight") is None


def test_concurrent_askers_of_one_query_make_one_request() -> None:
    redis = fakeredis.FakeRedis()
    query = MamQuery(text="same words")
    calls = 0
    lock = threading.Lock()

    def slow(q: MamQuery) -> tuple[MamSearchPage, Any]:
        nonlocal calls
        with lock:
            calls += 1
        time.sleep(0.3)
        data = {"data": [row(1)], "total_found": 1}
        return parse_search_body(data, q), data

    results: list[bool] = []

    def worker() -> None:
        results.append(SearchCache(redis, 0).fetch(query, slow)[1])

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == 1 and sorted(results) == [False, True, True, True, True]
