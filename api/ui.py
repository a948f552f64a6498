"""The web UI's built files (``make ui`` writes ui/dist), served at ``/`` by the gateway itself.

Why here and not a separate web server: one process and one origin, so the session cookie and the
CSRF token need no cross-origin rules. Any GET outside ``/api`` and the health routes that names no
file answers ``index.html`` (the single-page app routes in the browser). Every answer carries the
security headers: a strict Content-Security-Policy (scripts and styles from this origin only, no
inline script, no framing), no MIME sniffing, no referrer.

Hashed assets (``/assets/*``) never change under their name, so they are cached for a year;
``index.html`` is revalidated on every load so a new build is picked up at once.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = ROOT / "ui" / "dist"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
RESERVED = ("/api", "/healthz", "/readyz", "/metrics")
_NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>MAMcrawler</title></head>
<body><h1>The web UI is not built</h1><p>Run <code>make ui</code> (needs Node.js 20 and npm) in the checkout,
or <code>make up</code>, which builds it. The API is at <a href="/api/docs">/api/docs</a>.</p></body></html>"""


def _reserved(path: str) -> bool:
    return any(path == r or path.startswith(r + "/") for r in RESERVED)


class UIRoute(BaseRoute):
    """Matches a GET or HEAD of any path outside the API and health routes, and only those.

    A route rather than a catch-all ``/{path}`` endpoint or a mount: those would also match
    ``POST /api/v1/unknown`` or ``DELETE /api/v1/jobs`` and turn the API's 404 and 405 problems into
    something else. Added last, so every API route matches first.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and not _reserved(scope["path"]):
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.respond(scope["path"].lstrip("/"))
        await response(scope, receive, send)

    def respond(self, path: str) -> Response:
        root = self.root
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(_NOT_BUILT, status_code=503, headers=SECURITY_HEADERS)
        target = (root / path).resolve()
        if path and target.is_relative_to(root) and target.is_file():
            cache = "public, max-age=31536000, immutable" if path.startswith("assets/") else "no-cache"
            media = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            return FileResponse(target, media_type=media, headers={**SECURITY_HEADERS, "Cache-Control": cache})
        if Path(path).suffix and not path.endswith(".html"):  # a missing file, not a page: no fallback
            return Response("not found", status_code=404, media_type="text/plain", headers=SECURITY_HEADERS)
        return FileResponse(index, media_type="text/html", headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


def install(app: FastAPI, ui_dir: Path | None) -> None:
    """Serve ``ui_dir`` (default ui/dist) at ``/``, after every API route (they match first)."""
    app.router.routes.append(UIRoute((ui_dir or DEFAULT_DIR).resolve()))
