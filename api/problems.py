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
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"

# A dependency that does not answer is the operator's problem to fix, not a bug: 503 + Retry-After.
DATABASE_DOWN: tuple[type[Exception], ...] = (sqlalchemy.exc.OperationalError, psycopg.OperationalError,
                                              psycopg_pool.PoolTimeout)
REDIS_DOWN: tuple[type[Exception], ...] = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


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
