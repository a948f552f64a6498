"""The library's search and filters through the API, over 2,000 books whose counts are known.

What the Library page relies on: ``/books`` filtered by narrator, author and series (by name or id),
a text search over titles, authors, series and narrators that takes ``%`` and ``_`` literally, an
A-to-Z order paged with a keyset cursor that neither repeats nor skips a book, and the name lists
(``/authors``, ``/narrators``, ``/series``) searchable by ``q`` with each name's book count.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.normalize import fold_name
from tests.fixtures.library_seed import SeededLibrary, seed_library
from tests.integration.conftest import reset_singletons
from tests.integration.stack import api_headers

pytestmark = pytest.mark.slow
N = 2000


@pytest.fixture
def library(settings_env: dict[str, str], api_key: str) -> Iterator[tuple[TestClient, dict[str, Any], SeededLibrary]]:
    truth = seed_library(N)
    reset_singletons()
    from api.app import create_app

    with TestClient(create_app()) as client:
        yield client, api_headers(api_key), truth


def _all(client: TestClient, h: dict[str, Any], path: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = client.get(path, headers=h, params={"limit": 150, **params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        out += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return out


def test_filters_search_and_order(library: tuple[TestClient, dict[str, Any], SeededLibrary]) -> None:
    client, h, truth = library
    assert client.get("/api/v1/library/stats", headers=h).json()["books"] == N

    # A to Z, paged: every book once, in folded-title order
    by_title = _all(client, h, "/api/v1/books", sort="title")
    assert len(by_title) == N and len({b["id"] for b in by_title}) == N
    keys = [fold_name(b["title"]) for b in by_title]
    assert keys == sorted(keys)
    assert sorted(b["title"] for b in by_title) == sorted(truth.titles)
    # a cursor of one order is refused by the other, as problem+json
    title_cursor = client.get("/api/v1/books", headers=h, params={"sort": "title", "limit": 5}).json()["next_cursor"]
    refused = client.get("/api/v1/books", headers=h, params={"cursor": title_cursor})
    assert refused.status_code == 400 and refused.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/books", headers=h, params={"sort": "author"}).status_code == 422

    # filters by name (any spelling that folds the same) and by id
    narrator_key, count = truth.by_narrator.most_common(1)[0]
    narrator = truth.names[narrator_key]
    read = _all(client, h, "/api/v1/books", narrator=narrator.upper())
    assert len(read) == count
    assert all(narrator in {n for r in b["recordings"] for n in r["narrators"]} for b in read)
    listed = _all(client, h, "/api/v1/narrators", q=narrator.split()[-1].lower())
    found = next(n for n in listed if n["name"] == narrator)
    assert found["book_count"] == count
    assert all(narrator.split()[-1].lower() in fold_name(n["name"]) for n in listed)
    assert len(_all(client, h, "/api/v1/books", narrator=str(found["id"]))) == count

    author_key, count = truth.by_author.most_common(1)[0]
    author = truth.names[author_key]
    assert len(_all(client, h, "/api/v1/books", author=author)) == count
    assert next(a for a in _all(client, h, "/api/v1/authors", q=author) if a["name"] == author)["book_count"] == count

    series_key, count = truth.by_series.most_common(1)[0]
    series = truth.names[series_key]
    in_series = _all(client, h, "/api/v1/books", series=series, sort="title")
    assert len(in_series) == count
    listed_series = next(x for x in _all(client, h, "/api/v1/series", q=series.lower()) if x["name"] == series)
    assert listed_series["book_count"] == count
    detail = client.get(f"/api/v1/series/{listed_series['id']}", headers=h).json()
    assert [m["sort_key"] for m in detail["members"]] == sorted(float(m["position"]) for m in detail["members"])

    # filters combine: the narrator's books by one of their authors
    one = read[0]
    both = _all(client, h, "/api/v1/books", narrator=narrator, author=one["authors"][0])
    assert one["id"] in [b["id"] for b in both] and all(b["authors"][0] == one["authors"][0] for b in both)

    # the text search: a title's words, an author, a series, a narrator; case and accents folded
    title = truth.titles[123]
    words = title.split(" ", 2)[2].upper()  # "CROWN OF AVALON"
    hits = _all(client, h, "/api/v1/books", q=words)
    assert title in [b["title"] for b in hits]
    assert all(words.lower() in fold_name(b["title"]) or _names_contain(b, words) for b in hits)
    assert {b["id"] for b in read} <= {b["id"] for b in _all(client, h, "/api/v1/books", q=narrator)}
    assert {b["id"] for b in in_series} <= {b["id"] for b in _all(client, h, "/api/v1/books", q=series)}
    # wildcards are characters: nothing has a "%" or "_" in it
    for literal in ("%", "_", "a%c", "\\"):
        assert client.get("/api/v1/books", headers=h, params={"q": literal}).json()["items"] == []
    assert len(client.get("/api/v1/books", headers=h, params={"q": "  ", "limit": 7}).json()["items"]) == 7
    long = client.get("/api/v1/books", headers=h, params={"q": "x" * 256})
    assert long.status_code == 422 and long.headers["content-type"] == "application/problem+json"


def _names_contain(book: dict[str, Any], words: str) -> bool:
    names = [*book["authors"], *(s["name"] for s in book["series"]),
             *(n for r in book["recordings"] for n in r["narrators"])]
    return any(fold_name(words) in fold_name(n) for n in names)
