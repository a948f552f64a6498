"""RFC 9457 problem details for every error the gateway returns, never a bare 500."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import psycopg_pool
import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"

# A dependency that does not answer is the operator's problem to fix, not a bug: 503 + Retry-After.
DATABASE_DOWN: tuple[type[Exception], ...] = (sqlalchemy.exc.OperationalError, psycopg.OperationalError,
                                              psycopg_pool.PoolTimeout)
REDIS_DOWN: tuple[type[Exception], ...] = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details (``application/problem+json``): the body of every error response."""

    model_config = ConfigDict(extra="allow", title="Problem")
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str
    request_id: str | None = None
    errors: list[FieldError] | None = None


_PROBLEM_CONTENT = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses=`` for the errors it raises itself, each a problem+json body."""
    return {status: {"content": _PROBLEM_CONTENT} for status in statuses}


def _with_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Errors in the OpenAPI document are ``Problem`` bodies (FastAPI's own 422 model is not what
    the handlers below send) unless a route documents its own, and every ``/api/v1`` operation
    can answer 401 and 503."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = ProblemOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if path.startswith("/api/v1"):
                responses.setdefault("401", {"description": "Missing or invalid API key"})
                responses.setdefault("503", {"description": "PostgreSQL or Redis is unreachable; retry"})
            for status, response in responses.items():
                schema_ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
                if status[0] in "45" and ("content" not in response or schema_ref.endswith("/HTTPValidationError")):
                    response["content"] = _PROBLEM_CONTENT  # /readyz's 503 keeps its own body
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str | None = None, *,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.headers = headers
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra


def problem_response(request: Request, status: int, title: str, detail: str | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = request.url.path
    rid = getattr(request.state, "request_id", None)
    if rid:
        body["request_id"] = rid
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _with_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the document

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc.status, exc.title, exc.detail, headers=exc.headers, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not Found", 405: "Method Not Allowed", 401: "Unauthorized"}
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(request, exc.status_code, titles.get(exc.status_code, "HTTP error"), detail,
                                headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return problem_response(request, 422, "Invalid request", "the request does not match the schema",
                                errors=errors)

    async def _down(request: Request, exc: Exception) -> JSONResponse:
        what = "PostgreSQL" if isinstance(exc, DATABASE_DOWN) else "Redis"
        log.warning("%s unreachable on %s %s: %s", what, request.method, request.url.path, type(exc).__name__)
        return problem_response(request, 503, "Service unavailable", f"{what} is unreachable; retry shortly",
                                headers={"Retry-After": "5"})

    for cls in (*DATABASE_DOWN, *REDIS_DOWN):
        app.add_exception_handler(cls, _down)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, 500, "Internal error",
                                "the server failed; the request id is in the logs")
