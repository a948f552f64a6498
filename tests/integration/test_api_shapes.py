"""The JSON of the library, metadata and settings routes, key by key, over a synced and scanned world.

These bodies were plain dicts before the routes had response models; the models must not drop,
add or rename a key, turn a missing key into null, or change how times are written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import reset_singletons
from tests.integration.stack import Stack, api_headers
from tests.integration.test_metadata_api import scan, world30  # noqa: F401 - world30 is a fixture
from tests.integration.test_metadata_gaps import FAST_LIMITS
from tests.integration.test_metadata_world import ServedWorld, run_job

pytestmark = pytest.mark.slow
PY_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")
BOOK = {"id", "title", "authors", "series", "recordings"}
RECORDING = {"abs_id", "asin", "abridged", "duration_seconds", "library_id", "narrators"}
SERIES = {"id", "name", "book_count", "positions"}
GAPS = {"metadata_series_id", "name", "key", "library_series_ids", "checked_at", "as_of", "audible_asins",
        "hardcover_ids", "owned", "missing", "listings", "failed"}
MISSING = {"wanted_id", "position", "title", "asin", "state", "priority", "release_date", "sources", "kind",
           "sort_key"}
MATCH = {"recording_id", "provider", "provider_id", "method", "confidence", "state", "checked_at", "details",
         "candidate"}
CANDIDATE = {"title", "subtitle", "authors", "narrators", "series", "duration_seconds", "language", "asin", "isbn",
             "region", "release_date", "abridged"}
LIBRARY = {"book_id", "title", "asin", "isbn", "duration_seconds", "language", "authors", "item_ids"}


@pytest.fixture
def api(stack: Stack, world30: ServedWorld, api_key: str,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A synced and scanned world, read through the app in this process (the bodies are what is
    checked here; the API as its own process is what test_metadata_api exercises)."""
    stack.env.update(world30.env())
    stack.env["MAMC_RATE_LIMITS"] = json.dumps(FAST_LIMITS)
    stack.worker("library_sync", concurrency=2)
    stack.worker("metadata", concurrency=4)
    assert run_job("library.sync", timeout=120).state == "succeeded"
    scan()
    for key, value in world30.env().items():
        monkeypatch.setenv(key, value)
    reset_singletons()
    from api.app import create_app

    with TestClient(create_app()) as client:
        yield client, api_headers(api_key)


def _get(client: TestClient, h: dict[str, Any], path: str, **params: Any) -> Any:
    r = client.get(path, headers=h, params=params)
    assert r.status_code == 200, (path, r.text)
    assert r.headers["content-type"] == "application/json"
    return r.json()


def test_library_metadata_and_settings_bodies_keep_their_keys(api: tuple[TestClient, dict[str, str]]) -> None:
    client, h = api
    page = _get(client, h, "/api/v1/books", limit=3)
    assert set(page) == {"items", "next_cursor"} and isinstance(page["next_cursor"], str)
    book = page["items"][0]
    assert set(book) == BOOK and set(book["recordings"][0]) == RECORDING
    assert _get(client, h, f"/api/v1/books/{book['id']}") == book
    authors = _get(client, h, "/api/v1/authors", limit=2)
    assert [set(a) for a in authors["items"]] == [{"id", "name", "book_count"}] * 2
    series = _get(client, h, "/api/v1/series", limit=500)
    assert series["next_cursor"] is None and all(set(s) == SERIES for s in series["items"])
    with_gaps = next(d for d in (_get(client, h, f"/api/v1/series/{s['id']}") for s in series["items"]) if d["gaps"])
    assert set(with_gaps) == SERIES | {"members", "gaps"}
    member = with_gaps["members"][0]
    assert set(member) == {"position", "sort_key", "book"} and set(member["book"]) == BOOK
    gaps = with_gaps["gaps"][0]
    assert set(gaps) == GAPS and PY_ISO.match(gaps["checked_at"])
    assert all(set(m) == MISSING for m in gaps["missing"])
    assert all({"position", "sources", "sort_key"} <= set(o) for o in gaps["owned"])
    assert _get(client, h, f"/api/v1/metadata/series/{gaps['metadata_series_id']}") == gaps
    stats = _get(client, h, "/api/v1/library/stats")
    assert set(stats) == {"books", "authors", "series", "narrators", "hours"} and isinstance(stats["hours"], float)

    review = _get(client, h, "/api/v1/metadata/review", limit=1)["items"][0]
    assert set(review) == MATCH | {"library"} and PY_ISO.match(review["checked_at"])
    assert set(review["library"]) == LIBRARY and set(review["candidate"]) == CANDIDATE
    book_meta = _get(client, h, f"/api/v1/metadata/books/{review['library']['book_id']}")
    assert set(book_meta) == {"book_id", "recordings"}
    recording = next(r for r in book_meta["recordings"] if r["recording_id"] == review["recording_id"])
    assert set(recording) == {"recording_id", "library", "matches", "fields"}
    assert all(set(m) == MATCH for m in recording["matches"])  # no "library" key inside a book's matches
    for field in recording["fields"].values():
        assert set(field) == {"value", "source", "confidence", "verified", "said", "updated_at"}
        assert PY_ISO.match(field["updated_at"])

    decided = client.post(f"/api/v1/metadata/review/{review['recording_id']}/{review['provider']}", headers=h,
                          json={"accept": False})
    assert decided.status_code == 200 and set(decided.json()) == MATCH | {"library"}

    assert client.get("/api/v1/settings/abs", headers=h).json()["token_set"] is True
    put = client.put("/api/v1/settings/abs", headers=h, json={"token": "sekrit-token"})
    assert put.status_code == 200 and put.json()["token_source"] == "stored"
    assert set(put.json()) == {"url", "token_set", "token_source"} and "sekrit" not in put.text
    cleared = client.delete("/api/v1/settings/abs/token", headers=h).json()
    assert cleared["token_source"] == "environment"
