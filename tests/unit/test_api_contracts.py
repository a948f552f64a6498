"""The OpenAPI document is a contract a web UI generates its typed client from: every /api/v1
operation says what its success body looks like, and every error is a problem+json ``Problem``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

# Operations whose models another issue-8 branch (the wanted domain) is adding. The lead empties
# this set after merging that branch; an entry that has gained its model fails the test below.
PENDING: set[tuple[str, str]] = set()  # operations waiting for a response model (none left)
UNTYPED_PATHS = {"/healthz", "/readyz", "/metrics"}  # plain-text metrics and probes, outside /api/v1
STREAMS = {("get", "/api/v1/events")}  # server-sent events: a text/event-stream, not a JSON body


@pytest.fixture(scope="module")
def openapi() -> Iterator[dict[str, Any]]:
    """The app's document, built without servers: nothing connects until a request is served."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MAMC_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    mp.setenv("MAMC_REDIS_URL", "redis://127.0.0.1:1/0")
    import shared.infra.redis_client
    from shared.infra.settings import get_settings

    get_settings.cache_clear()
    shared.infra.redis_client._client = None
    from api.app import create_app

    try:
        yield create_app().openapi()
    finally:
        mp.undo()
        get_settings.cache_clear()
        shared.infra.redis_client._client = None


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _typed(doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    """A schema a client generator can make a type of: an object with properties, or an array of one."""
    schema = _resolve(doc, schema)
    if schema.get("type") == "array":
        return _typed(doc, schema.get("items", {}))
    return bool(schema.get("properties"))


def test_every_v1_operation_declares_a_typed_success_body(openapi: dict[str, Any]) -> None:
    untyped, pending_done = [], []
    v1 = [(m, p, op) for m, p, op in _operations(openapi) if p.startswith("/api/v1")]
    assert len(v1) >= 20
    for method, path, operation in v1:
        successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        typed = bool(successes) and all(
            status == "204" or _typed(openapi, r.get("content", {}).get("application/json", {}).get("schema", {}))
            for status, r in successes.items())
        if (method, path) in STREAMS:
            assert "text/event-stream" in successes["200"]["content"], (method, path)
            continue
        if (method, path) in PENDING:
            if typed:
                pending_done.append((method, path))
        elif not typed:
            untyped.append((method.upper(), path, successes))
    assert untyped == []
    assert pending_done == [], "typed now: remove these from PENDING"


def test_every_documented_error_is_a_problem(openapi: dict[str, Any]) -> None:
    problem = _resolve(openapi, {"$ref": "#/components/schemas/Problem"})
    assert {"type", "title", "status", "instance"} <= set(problem["properties"])
    for method, path, operation in _operations(openapi):
        for status, response in operation["responses"].items():
            if status[0] in "45" and path != "/readyz":
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (method, path, status)
        if path.startswith("/api/v1"):
            assert {"401", "503"} <= set(operation["responses"]), (method, path)
    assert "HTTPValidationError" not in openapi["components"]["schemas"]
    ready = openapi["paths"]["/readyz"]["get"]["responses"]["503"]["content"]["application/json"]["schema"]
    assert ready == {"$ref": "#/components/schemas/Readiness"}  # says what is down, not a problem


def test_routes_that_raise_not_found_document_it(openapi: dict[str, Any]) -> None:
    paths = openapi["paths"]
    for path, method in (("/api/v1/jobs/{job_id}", "get"), ("/api/v1/books/{book_id}", "get"),
                         ("/api/v1/series/{series_id}", "get"), ("/api/v1/pools/{pool}/pause", "post"),
                         ("/api/v1/metadata/series/{metadata_series_id}", "get")):
        assert "404" in paths[path][method]["responses"], path
    assert "409" in paths["/api/v1/jobs/{job_id}/retry"]["post"]["responses"]


def test_library_and_metadata_times_keep_pythons_isoformat() -> None:
    """``+00:00``, not pydantic's ``Z``: these routes wrote ``datetime.isoformat()`` before they had models."""
    from datetime import UTC, datetime

    from api.library_schemas import SeriesGaps

    when = datetime(2026, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC)
    gaps = SeriesGaps(metadata_series_id=1, name="n", key="k", library_series_ids=[], checked_at=when, as_of=None,
                      audible_asins=[], hardcover_ids=[], owned=[], missing=[], listings=[], failed=[])
    assert gaps.model_dump(mode="json")["checked_at"] == when.isoformat() == "2026-01-02T03:04:05.600000+00:00"


def test_stored_json_keeps_keys_the_model_does_not_name() -> None:
    from api.library_schemas import OwnedPosition

    owned = OwnedPosition.model_validate({"position": "1", "sources": ["abs"], "omnibus": True})
    # sort_key is derived on reading (the position as a number), never stored
    assert owned.model_dump(mode="json") == {"position": "1", "sources": ["abs"], "omnibus": True, "sort_key": 1.0}
    assert OwnedPosition.model_validate({"position": "1-3", "sources": []}).sort_key == 1.0
    assert OwnedPosition.model_validate({"position": "garbage", "sources": []}).sort_key is None
