"""The JSON of the library, metadata and settings routes, key by key, through the real API process.

These bodies were plain dicts before the routes had response models; the models must not drop,
add or rename a key, turn a missing key into null, or change how times are written.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.integration.test_metadata_api import api, world30  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow
PY_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")
BOOK = {"id", "title", "authors", "series", "recordings"}
RECORDING = {"abs_id", "asin", "abridged", "duration_seconds", "library_id", "narrators"}
SERIES = {"id", "name", "book_count", "positions"}
GAPS = {"metadata_series_id", "name", "key", "library_series_ids", "checked_at", "as_of", "audible_asins",
        "hardcover_ids", "owned", "missing", "listings", "failed"}
MISSING = {"wanted_id", "position", "title", "asin", "state", "priority", "release_date", "sources", "kind"}
MATCH = {"recording_id", "provider", "provider_id", "method", "confidence", "state", "checked_at", "details",
         "candidate"}
CANDIDATE = {"title", "subtitle", "authors", "narrators", "series", "duration_seconds", "language", "asin", "isbn",
             "region", "release_date", "abridged"}
LIBRARY = {"book_id", "title", "asin", "isbn", "duration_seconds", "language", "authors", "item_ids"}


def _get(base: str, h: dict[str, Any], path: str, **params: Any) -> Any:
    r = httpx.get(base + path, headers=h, params=params)
    assert r.status_code == 200, (path, r.text)
    assert r.headers["content-type"] == "application/json"
    return r.json()


def test_library_metadata_and_settings_bodies_keep_their_keys(api: tuple[str, dict[str, Any]]) -> None:  # noqa: F811
    base, h = api
    page = _get(base, h, "/api/v1/books", limit=3)
    assert set(page) == {"items", "next_cursor"} and isinstance(page["next_cursor"], str)
    book = page["items"][0]
    assert set(book) == BOOK and set(book["recordings"][0]) == RECORDING
    assert _get(base, h, f"/api/v1/books/{book['id']}") == book
    authors = _get(base, h, "/api/v1/authors", limit=2)
    assert [set(a) for a in authors["items"]] == [{"id", "name", "book_count"}] * 2
    series = _get(base, h, "/api/v1/series", limit=500)
    assert series["next_cursor"] is None and all(set(s) == SERIES for s in series["items"])
    with_gaps = next(d for d in (_get(base, h, f"/api/v1/series/{s['id']}") for s in series["items"]) if d["gaps"])
    assert set(with_gaps) == SERIES | {"members", "gaps"}
    assert set(with_gaps["members"][0]) == {"position", "book"} and set(with_gaps["members"][0]["book"]) == BOOK
    gaps = with_gaps["gaps"][0]
    assert set(gaps) == GAPS and PY_ISO.match(gaps["checked_at"])
    assert all(set(m) == MISSING for m in gaps["missing"])
    assert _get(base, h, f"/api/v1/metadata/series/{gaps['metadata_series_id']}") == gaps
    stats = _get(base, h, "/api/v1/library/stats")
    assert set(stats) == {"books", "authors", "series", "narrators", "hours"} and isinstance(stats["hours"], float)

    review = _get(base, h, "/api/v1/metadata/review", limit=1)["items"][0]
    assert set(review) == MATCH | {"library"} and PY_ISO.match(review["checked_at"])
    assert set(review["library"]) == LIBRARY and set(review["candidate"]) == CANDIDATE
    book_meta = _get(base, h, f"/api/v1/metadata/books/{review['library']['book_id']}")
    assert set(book_meta) == {"book_id", "recordings"}
    recording = next(r for r in book_meta["recordings"] if r["recording_id"] == review["recording_id"])
    assert set(recording) == {"recording_id", "library", "matches", "fields"}
    assert all(set(m) == MATCH for m in recording["matches"])  # no "library" key inside a book's matches
    for field in recording["fields"].values():
        assert set(field) == {"value", "source", "confidence", "verified", "said", "updated_at"}
        assert PY_ISO.match(field["updated_at"])

    assert httpx.get(f"{base}/api/v1/settings/abs", headers=h).json()["token_set"] is True
    put = httpx.put(f"{base}/api/v1/settings/abs", headers=h, json={"token": "sekrit-token"})
    assert put.status_code == 200 and put.json()["token_source"] == "stored"
    assert set(put.json()) == {"url", "token_set", "token_source"} and "sekrit" not in put.text
    cleared = httpx.delete(f"{base}/api/v1/settings/abs/token", headers=h).json()
    assert cleared["token_source"] == "environment"
