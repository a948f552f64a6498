"""The qBittorrent WebUI API subset the product's client uses, as an ASGI app over :class:`QbitSimState`.

Answers are the real daemon's (4.5.2, seen in ``tests/integration/test_qbit_real.py`` and the
recipe): ``Ok.``/``Fails.`` as text, 403 ``Forbidden`` without a session, 404 ``Not Found`` for an
unknown method, 415 for a file that is not a torrent, 409 for an existing or invalid category,
400 ``Bad Request`` for ``setShareLimits`` without both limits. Parameters come as a query string,
an urlencoded form or a multipart form (``torrents/add``), parsed here without python-multipart.
"""

from __future__ import annotations

import email.parser
import email.policy
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tests.sims.qbit.metainfo import NotATorrent, read
from tests.sims.qbit.state import APP_VERSION, WEB_API_VERSION, Call, QbitSimState

PREFIX = "/api/v2/"
PUBLIC = frozenset({"auth/login"})  # even app/version needs a session when authentication is on


def _text(body: str, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="text/plain; charset=UTF-8")


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def _number(value: str | None, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default


def _form(content_type: str, body: bytes) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """(fields, files) of an urlencoded or multipart body."""
    if content_type.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        fields: dict[str, str] = {}
        files: list[tuple[str, bytes]] = []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition") or ""
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                files.append((str(part.get_filename()), payload))
            else:
                fields[str(name)] = payload.decode()
        return fields, files
    if body:
        return {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}, []
    return {}, []


class QbitSim:
    """One simulated qBittorrent WebUI; ``name`` lets the shared ``serve`` helper run it."""

    name = "qbit"

    def __init__(self, state: QbitSimState) -> None:
        self.state = state
        self._app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "HEAD"])])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    async def _handle(self, request: Request) -> Response:
        path = request.url.path
        route = path[len(PREFIX):] if path.startswith(PREFIX) else path
        body = await request.body()
        fields, files = _form(request.headers.get("content-type", ""), body)
        params = {**dict(request.query_params), **fields}
        shown = {k: ("***" if k == "password" else v) for k, v in params.items()}
        call = Call(request.method, route, shown, files=len(files))
        self.state.log.append(call)
        response = self._respond(request, route, params, files)
        call.status = response.status_code
        return response

    def _respond(self, request: Request, route: str, params: dict[str, str],
                 files: list[tuple[str, bytes]]) -> Response:
        state = self.state
        fault = state.take_fault(route)
        if fault is not None:
            return _text(fault.text, fault.status)
        if route == "auth/login":
            status, text, sid = state.login(params.get("username", ""), params.get("password", ""))
            response = _text(text, status)
            if sid is not None:
                response.headers.append("set-cookie", f"SID={sid}; HttpOnly; path=/; SameSite=Strict")
            return response
        if state.banned:
            return _text("Forbidden", 403)
        sid = request.cookies.get("SID")
        if route not in PUBLIC and not state.valid(sid):
            return _text("Forbidden", 403)
        handler = getattr(self, "_" + route.replace("/", "_"), None)
        if handler is None:
            return _text("Not Found", 404)
        result: Response = handler(params, files, sid)
        return result

    # -- endpoints ----------------------------------------------------------------------------------

    def _app_version(self, params: dict[str, str], files: object, sid: str | None) -> Response:
        return _text(APP_VERSION)

    def _app_webapiVersion(self, params: dict[str, str], files: object, sid: str | None) -> Response:
        return _text(WEB_API_VERSION)

    def _app_preferences(self, params: dict[str, str], files: object, sid: str | None) -> Response:
        return _json(self.state.preferences)

    def _sync_maindata(self, params: dict[str, str], files: object, sid: str | None) -> Response:
        assert sid is not None
        rid = int(_number(params.get("rid"), 0))
        return _json(self.state.maindata(sid, rid))

    def _torrents_info(self, params: dict[str, str], files: object, sid: str | None) -> Response:
        hashes = set(params["hashes"].lower().split("|")) if params.get("hashes") else None
        return _json(self.state.info(hashes, params.get("category")))

    def _torrents_add(self, params: dict[str, str], files: list[tuple[str, bytes]], sid: str | None) -> Response:
        if not files and not params.get("urls"):
            return _text("Bad Request", 400)
        metas = []
        for filename, data in files:
            try:
                metas.append(read(data))
            except NotATorrent:
                return _text(f"Error: '{filename}' is not a valid torrent file.", 415)
        tags = [t.strip() for t in params.get("tags", "").split(",") if t.strip()]
        added = [self.state.add(meta, category=params.get("category", ""), tags=tags,
                                save_path=params.get("savepath", ""), auto_tmm=_bool(params.get("autoTMM")),
                                ratio_limit=_number(params.get("ratioLimit"), -2),
                                seeding_time_limit=int(_number(params.get("seedingTimeLimit"), -2)),
                                paused=_bool(params.get("paused")) or _bool(params.get("stopped")))
                 for meta in metas]
        return _text("Ok." if any(added) else "Fails.")

    def _torrents_setShareLimits(self, params: dict[str, str], files: object, sid: str | None) -> Response:
        if not all(params.get(k) not in (None, "") for k in ("hashes", "ratioLimit", "seedingTimeLimit")):
            return _text("Bad Request", 400)
        self.state.set_share_limits(params["hashes"].lower().split("|"), _number(params["ratioLimit"], -2),
                                    int(_number(params["seedingTimeLimit"], -2)))
        return _text("")

    def _torrents_reannounce(self, params: dict[str, str], files: object, sid: str | None) -> Response:
        if not params.get("hashes"):
            return _text("Bad Request", 400)
        self.state.reannounced.extend(params["hashes"].lower().split("|"))
        return _text("")

    def _torrents_createCategory(self, params: dict[str, str], files: object, sid: str | None) -> Response:
        name = params.get("category", "")
        if not name:
            return _text("Bad Request", 400)
        if "\\" in name or name.startswith("/") or name.endswith("/") or "//" in name:
            return _text("Incorrect category name", 409)
        if not self.state.create_category(name, params.get("savePath", "")):
            return _text("Unable to create category", 409)
        return _text("")

    def _torrents_categories(self, params: dict[str, str], files: object, sid: str | None) -> Response:
        return _json({n: {"name": n, "savePath": p} for n, p in self.state.categories.items()})

    def _torrents_trackers(self, params: dict[str, str], files: object, sid: str | None) -> Response:
        rows = self.state.trackers(params.get("hash", "").lower())
        if rows is None:
            return _text("Not Found", 404)
        return _json(rows)
