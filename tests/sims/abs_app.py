"""The Audiobookshelf simulator as an ASGI app (Starlette: small, and no validation layer of its own
that would answer differently from Express).

Routes mirror the subset of ABS v2.36 the library sync uses; see the reference for each quirk.
A pure-ASGI middleware counts every request per route template and applies injected faults before
auth, so tests and benchmarks can assert exactly how many calls a client made.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.sims.abs_patch import apply_media_patch
from tests.sims.abs_query import OrderCache, SimHTTPError, envelope, parse_list_query, select_items
from tests.sims.abs_records import SimItem, SimLibrary, SimUser
from tests.sims.abs_render import render_expanded, render_library, render_minified, render_old
from tests.sims.abs_state import AbsState

JSON_TYPE = "application/json; charset=utf-8"
MAX_JSON_BODY = 10 * 1024 * 1024  # express.json({limit: '10mb'})


def json_response(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=JSON_TYPE)


def text_response(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(text, status_code=status, media_type="text/plain; charset=utf-8", headers=headers)


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query_params.get("token")


class _Handlers:
    def __init__(self, state: AbsState) -> None:
        self.state = state
        self.cache = OrderCache()

    # ------------------------------------------------------------- helpers
    def user(self, request: Request) -> SimUser:
        user = self.state.authenticate(_token(request))
        if user is None:
            raise SimHTTPError(401, "Unauthorized")
        return user

    def library(self, user: SimUser, library_id: str) -> SimLibrary:
        lib = self.state.libraries.get(library_id)
        if lib is None:
            raise SimHTTPError(404, "Not Found")
        if not user.may_access_library(lib.id):
            raise SimHTTPError(403, "Forbidden")
        return lib

    def item(self, user: SimUser, item_id: str) -> SimItem:
        item = self.state.items.get(item_id)
        if item is None:
            raise SimHTTPError(404, "Not Found")
        if not user.may_access_library(item.library_id) or (item.explicit and not user.may_see_explicit):
            raise SimHTTPError(403, "Forbidden")
        return item

    @staticmethod
    async def body(request: Request) -> Any:
        """express.json: only parses JSON content types; >10 MB → 413; bad JSON → 400."""
        raw = await request.body()
        if len(raw) > MAX_JSON_BODY:
            raise SimHTTPError(413, "request entity too large")
        if "json" not in request.headers.get("content-type", ""):
            return {}
        try:
            data = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError as exc:
            raise SimHTTPError(400, "Bad Request") from exc
        if not isinstance(data, dict | list):
            raise SimHTTPError(400, "Bad Request")  # strict mode: objects and arrays only
        return data

    # ------------------------------------------------------------- unauthenticated
    async def ping(self, request: Request) -> Response:
        return json_response({"success": True})

    async def healthcheck(self, request: Request) -> Response:
        return text_response(200, "OK")

    async def status(self, request: Request) -> Response:
        return json_response(
            {
                "app": "audiobookshelf",
                "serverVersion": self.state.server_version,
                "isInit": True,
                "language": "en-us",
                "authMethods": ["local"],
                "authFormData": {},
            }
        )

    # ------------------------------------------------------------- libraries
    async def libraries(self, request: Request) -> Response:
        with self.state.lock:
            user = self.user(request)
            if "stats" in (request.query_params.get("include") or "").split(","):
                raise SimHTTPError(501, "simulator: include=stats is not simulated")
            libs = sorted(self.state.libraries.values(), key=lambda lib: lib.display_order)
            data = [render_library(lib) for lib in libs if user.may_access_library(lib.id)]
        return json_response({"libraries": data})

    async def library_one(self, request: Request) -> Response:
        with self.state.lock:
            user = self.user(request)
            lib = self.library(user, request.path_params["id"])
            data: dict[str, Any] = render_library(lib)
            if "filterdata" in (request.query_params.get("include") or "").split(","):
                data = {
                    "filterdata": self._filterdata(lib),
                    "issues": self._issues(lib),
                    "numUserPlaylists": 0,
                    "library": data,
                }
        return json_response(data)

    def _filterdata(self, lib: SimLibrary) -> dict[str, Any]:
        items = self.state.items_in(lib.id)
        authors = [{"id": a.id, "name": a.name} for a in self.state.authors.values() if a.library_id == lib.id]
        series = [{"id": s.id, "name": s.name} for s in self.state.series.values() if s.library_id == lib.id]
        return {
            "authors": sorted(authors, key=lambda a: a["name"].lower()),
            "series": sorted(series, key=lambda s: s["name"].lower()),
            "genres": sorted({g for i in items for g in i.genres}),
            "tags": sorted({t for i in items for t in i.tags}),
            "narrators": sorted({n for i in items for n in i.narrators}),
            "languages": sorted({i.language for i in items if i.language}),
            "publishers": sorted({i.publisher for i in items if i.publisher}),
            "publishedDecades": sorted({i.published_year[:3] + "0" for i in items if i.published_year}),
            "bookCount": len(items) if lib.media_type == "book" else 0,
            "authorCount": len(authors),
            "seriesCount": len(series),
            "podcastCount": len(items) if lib.media_type == "podcast" else 0,
            "numIssues": self._issues(lib),
            "loadedAt": self.state.now_ms(),
        }

    def _issues(self, lib: SimLibrary) -> int:
        return sum(1 for i in self.state.items_in(lib.id) if i.is_missing or i.is_invalid)

    async def library_items(self, request: Request) -> Response:
        with self.state.lock:
            user = self.user(request)
            lib = self.library(user, request.path_params["id"])
            query = parse_list_query(request.query_params.getlist)
            result = select_items(self.state, user, lib, query, self.cache)
            rows = [render_minified(self.state, i, series_id=result.series_id) for i in result.rows]
            data = envelope(query, lib, result, rows)
        return json_response(data)

    async def library_scan(self, request: Request) -> Response:
        with self.state.lock:
            user = self.user(request)
            lib = self.library(user, request.path_params["id"])
            if not user.is_admin:
                raise SimHTTPError(403, "Forbidden")
            self.state.start_library_scan(lib.id, force=request.query_params.get("force") == "1")
        return text_response(200, "OK")  # answered before the scan runs; a duplicate is dropped

    # ------------------------------------------------------------- items
    async def batch_get(self, request: Request) -> Response:
        payload = await self.body(request)
        with self.state.lock:
            self.user(request)
            ids = payload.get("libraryItemIds") if isinstance(payload, dict) else None
            if not ids or not isinstance(ids, list | str):
                raise SimHTTPError(403, "Invalid payload")  # `req.body.libraryItemIds || []` is empty
            wanted = {ids} if isinstance(ids, str) else {i for i in ids if isinstance(i, str)}
            # DB order, not request order; unknown ids dropped; no per-user visibility check
            # (LibraryItemController.batchGet does not call checkCanAccessLibraryItem).
            items = self.state.items
            found = sorted((items[i] for i in wanted if isinstance(i, str) and i in items), key=lambda i: i.rowid)
            data = [render_expanded(self.state, i) for i in found]
        return json_response({"libraryItems": data})

    async def item_one(self, request: Request) -> Response:
        with self.state.lock:
            user = self.user(request)
            item = self.item(user, request.path_params["id"])
            expanded = request.query_params.get("expanded") == "1"
            data = render_expanded(self.state, item) if expanded else render_old(self.state, item)
        return json_response(data)

    async def item_media(self, request: Request) -> Response:
        payload = await self.body(request)
        with self.state.lock:
            user = self.user(request)
            item = self.item(user, request.path_params["id"])
            if not user.may_update:
                raise SimHTTPError(403, "Forbidden")
            updated = apply_media_patch(self.state, item, payload)
            # ``res.json({updated: hasUpdates, ...})`` with ``hasUpdates = changed || payload.url``: when
            # nothing changed that is ``undefined`` and the key is absent (real 2.36.0), never ``false``
            data = {"updated": True} if updated else {}
            data["libraryItem"] = render_old(self.state, item)
        return json_response(data)

    async def item_scan(self, request: Request) -> Response:
        with self.state.lock:
            user = self.user(request)
            item = self.item(user, request.path_params["id"])
            if not user.may_update or not user.is_admin:
                raise SimHTTPError(403, "Forbidden")
            if item.is_file:
                raise SimHTTPError(500, "Internal Server Error")  # single-file rescans unsupported
            result = self.state.rescan_item(item.id)
        return json_response({"result": result})

    async def tasks(self, request: Request) -> Response:
        with self.state.lock:
            self.user(request)
            running = self.state.poll_tasks()
            data = []
            for task in running:
                lib = self.state.libraries[task.library_id]
                data.append(
                    {
                        "id": task.id,
                        "action": "library-scan",
                        "data": {"libraryId": lib.id, "libraryName": lib.name, "libraryMediaType": lib.media_type},
                        "title": f'Scanning "{lib.name}"',
                        "titleKey": "MessageTaskScanningLibrary",
                        "description": None,
                        "error": None,
                        "showSuccess": True,
                        "isFailed": False,
                        "isFinished": False,
                        "startedAt": task.started_at,
                        "finishedAt": None,
                    }
                )
        return json_response({"tasks": data})


class _Edge:
    """Counts requests per route template and applies injected faults, before auth and routing."""

    def __init__(self, app: ASGIApp, state: AbsState, routes: list[Route]) -> None:
        self.app = app
        self.state = state
        self.routes = routes

    def _template(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return f"{scope['method']} {route.path}"
        return f"{scope['method']} <unmatched>"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        with self.state.lock:
            self.state.requests[self._template(scope)] += 1
            self.state.requests_by_path[f"{method} {path}"] += 1
        fault = self.state.faults.take(method, path)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                response = Response(
                    fault.body, status_code=fault.status, headers=fault.headers, media_type=fault.content_type
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _sim_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SimHTTPError)
    return text_response(exc.status, exc.text, exc.headers)


def build_abs_app(state: AbsState) -> ASGIApp:
    """An ASGI app serving ``state``; wrap it in ``starlette.testclient.TestClient`` for in-process use."""
    h = _Handlers(state)
    routes = [
        Route("/ping", h.ping, methods=["GET"]),
        Route("/healthcheck", h.healthcheck, methods=["GET"]),
        Route("/status", h.status, methods=["GET"]),
        Route("/api/libraries", h.libraries, methods=["GET"]),
        Route("/api/libraries/{id}", h.library_one, methods=["GET"]),
        Route("/api/libraries/{id}/items", h.library_items, methods=["GET"]),
        Route("/api/libraries/{id}/scan", h.library_scan, methods=["POST"]),
        Route("/api/items/batch/get", h.batch_get, methods=["POST"]),
        Route("/api/items/{id}", h.item_one, methods=["GET"]),
        Route("/api/items/{id}/media", h.item_media, methods=["PATCH"]),
        Route("/api/items/{id}/scan", h.item_scan, methods=["POST"]),
        Route("/api/tasks", h.tasks, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={SimHTTPError: _sim_error})
    return _Edge(app, state, routes)
