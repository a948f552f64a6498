"""The MAM simulator as an ASGI app (Starlette), built from ``shared/reference/mam.md``.

Every request is logged (time, path, params without the cookie, session label, status), then passes
fault injection (before auth, as a proxy's 429/5xx would), then the session check (403 for an
unknown, superseded-past-grace or expired ``mam_id``), then its endpoint. Paths other than the four
documented JSON endpoints answer 404: a client that strays shows up in the log as route "unmatched".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tests.sims.mam.render import dl_hash, render_account, render_row
from tests.sims.mam.search import BadRequest, nest_brackets, read_params, select
from tests.sims.mam.state import Fault, LogEntry, MamSimState
from tests.sims.mam.torrents import torrent_file

JSON = "application/json; charset=utf-8"
ROUTES = {
    "/tor/js/loadSearchJSONbasic.php": "search",
    "/jsonLoad.php": "account",
    "/tor/download.php": "download",
    "/json/bonusBuy.php": "bonus",
}
GB = 1024**3
UPLOAD_BP_PER_GB = 500
VIP_BP_PER_4_WEEKS = 5000


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=JSON)


def route_of(path: str) -> str:
    if path.startswith("/tor/download.php/"):
        return "download"
    return ROUTES.get(path.rstrip("/") or "/", "unmatched")


class MamSim:
    """The ASGI app over one :class:`MamSimState`; ``name`` lets the shared ``serve`` helper run it."""

    name = "mam"

    def __init__(self, state: MamSimState) -> None:
        self.state = state
        self._app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST"])])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    async def _handle(self, request: Request) -> Response:
        state, path = self.state, request.url.path
        route = route_of(path)
        body = await request.body()
        params = _params(request, body)
        shown_path = "/tor/download.php/***" if path.startswith("/tor/download.php/") else path
        entry = LogEntry(state.clock(), request.method, shown_path, route, _loggable(params), "none")
        state.record(entry)
        if route == "download" and state.torrent_maker is not None:  # real files take a while: off the loop
            response = await run_in_threadpool(self._respond, request, route, params, entry)
        else:
            response = self._respond(request, route, params, entry)
        entry.status = response.status_code
        return response

    def _respond(self, request: Request, route: str, params: dict[str, Any], entry: LogEntry) -> Response:
        fault = self.state.take_fault(route)
        if fault is not None:
            return _fault_response(fault)
        label, renewed = self.state.authenticate(request.cookies.get("mam_id"))
        entry.session = label
        if not label.startswith("s"):
            return Response("<html><body>403 Forbidden</body></html>", status_code=403, media_type="text/html")
        if route == "unmatched":
            return Response("Not Found", status_code=404, media_type="text/html")
        try:
            response = getattr(self, f"_{route}")(request, params)
        except BadRequest as exc:
            response = _json({"error": str(exc)})
        if renewed is not None:
            expires = (datetime.now(UTC) + timedelta(days=90)).strftime("%a, %d-%b-%Y %H:%M:%S GMT")
            domain = f"; domain={self.state.cookie_domain}" if self.state.cookie_domain else ""
            response.headers.append("set-cookie", f"mam_id={renewed}; expires={expires}; path=/{domain}; HttpOnly")
        return response

    # -- endpoints --------------------------------------------------------------------------------

    def _search(self, request: Request, params: dict[str, Any]) -> Response:
        state = self.state
        query = read_params(params)
        asked_snatched = "my_snatched" in query.flags
        rows = select(state.catalogue, query, only_snatched=asked_snatched and state.snatched_mode != "annotate")
        page = rows[query.start:query.start + query.perpage]
        if not page:
            return _json({"error": f"Nothing returned, out of {len(rows)}"})
        rendered = [
            render_row(t, snatched_field=state.snatched_mode != "filter_no_field",
                       dl_secret=state.dl_secret if "dlLink" in query.flags else None,
                       description="description" in query.flags, media_info="mediaInfo" in query.flags)
            for t in page
        ]
        root: dict[str, Any] = {"perpage": query.perpage, "start": query.start, "data": rendered,
                                "total": query.start + len(page), "found": len(rows), "total_found": len(rows)}
        if state.root_numbers_as_strings:
            root.update({k: str(root[k]) for k in ("perpage", "start", "total", "found", "total_found")})
        return _json(root)

    def _account(self, request: Request, params: dict[str, Any]) -> Response:
        return _json(render_account(self.state.account, snatch_summary="snatch_summary" in request.query_params))

    def _download(self, request: Request, params: dict[str, Any]) -> Response:
        state = self.state
        torrent = None
        if request.url.path.startswith("/tor/download.php/"):
            wanted = request.url.path.rsplit("/", 1)[-1]
            torrent = next((t for t in state.catalogue if dl_hash(t.id, state.dl_secret) == wanted), None)
        elif str(params.get("tid", "")).isdigit():
            torrent = state.torrent(int(params["tid"]))
        if torrent is None:
            return Response("<html><head><title>Error</title></head><body>Torrent not found</body></html>",
                            media_type="text/html")
        if torrent.vip and state.account.classname.lower() not in ("vip", "elite vip", "staff"):
            return _json({"error": "This torrent is VIP only"})
        if state.torrent_maker is not None:
            data = state.torrent_maker(torrent, state.announce_url)
        else:
            data = torrent_file(torrent, state.announce_url, state.payload_bytes).data
        return Response(data, media_type="application/x-bittorrent", headers={
            "content-disposition": f'attachment; filename="{torrent.id}.torrent"'})

    def _bonus(self, request: Request, params: dict[str, Any]) -> Response:
        state, account = self.state, self.state.account
        spend = str(params.get("spendtype", ""))
        if spend.lower() in ("gift", "sendwedge"):
            state.forbidden_spends.append(dict(params))
            return _json({"success": False, "error": f"{spend} may not be automated (simulator refused)"})
        if spend == "personalFL":
            torrent = state.torrent(int(params.get("torrentid", 0) or 0))
            if torrent is None or account.wedges < 1:
                return _json({"success": False, "error": "No such torrent or no wedges left"})
            account.wedges -= 1
            torrent.personal_freeleech = True
        elif spend == "upload":
            amount = float(params.get("amount", 0) or 0)
            if amount <= 0 or account.seedbonus < amount * UPLOAD_BP_PER_GB:
                return _json({"success": False, "error": "Not enough bonus points"})
            account.seedbonus -= amount * UPLOAD_BP_PER_GB
            account.uploaded += int(amount * GB)
        elif spend == "VIP":
            if account.seedbonus < VIP_BP_PER_4_WEEKS:
                return _json({"success": False, "error": "Not enough bonus points"})
            account.seedbonus -= VIP_BP_PER_4_WEEKS
            account.classname = "VIP"
            account.vip_until = datetime.now(UTC) + timedelta(weeks=4)
        else:
            return _json({"success": False, "error": f"unknown spendtype {spend!r}"})
        state.purchases.append(dict(params))
        return _json({"success": True, "type": spend, "seedbonus": account.seedbonus,
                      "wedges": account.wedges})


def _params(request: Request, body: bytes) -> dict[str, Any]:
    """Query and body as MAM reads them: bracket keys nested, JSON bodies merged on top."""
    params = nest_brackets(list(request.query_params.multi_items()))
    if body and "json" in request.headers.get("content-type", ""):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            params.update(data)
    elif body:
        params.update(nest_brackets([tuple(p.split("=", 1)) for p in body.decode().split("&") if "=" in p]))
    return params


def _loggable(params: dict[str, Any]) -> dict[str, Any]:
    """Params for the log; the cookie travels in a header, so only a stray ``mam_id`` is masked."""
    return {k: ("***" if k.lower() in ("mam_id", "dl") else v) for k, v in params.items()}


def _fault_response(fault: Fault) -> Response:
    if fault.kind == "status":
        headers = {"retry-after": fault.retry_after} if fault.retry_after is not None else None
        return Response(f"<html><body>HTTP {fault.status}</body></html>", status_code=fault.status,
                        media_type="text/html", headers=headers)
    if fault.kind == "malformed":
        return Response(b'{"perpage": 100, "start": 0, "data": [{"id": 41', media_type=JSON)
    if fault.kind == "html":
        return Response("<!DOCTYPE html><html><head><title>Login</title></head></html>", media_type="text/html")
    if fault.kind == "error_json":
        return _json({"error": fault.text})
    return Response(fault.text, media_type="text/plain")
