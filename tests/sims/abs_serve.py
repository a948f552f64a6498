"""Ways to reach the Audiobookshelf simulator: in-process (``sim_http_client``) or real HTTP (``serve_abs``).

In-process is fast and needs no ports; real sockets show what it cannot: client timeouts,
connection refused after ``stop()``, keep-alive reuse, and the exact bytes on the wire.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable

import httpx
import uvicorn

from tests.sims.abs_app import build_abs_app
from tests.sims.abs_state import AbsState


def serve_abs(state: AbsState, port: int = 0, *, host: str = "127.0.0.1") -> tuple[str, Callable[[], None]]:
    """Serve ``state`` on ``host:port`` (0 = any free port); return ``(base_url, stop)``.

    The socket is bound here, before the thread starts, so the port is known and reserved up front
    (no race between picking a free port and uvicorn binding it). ``stop()`` is idempotent.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(
        build_abs_app(state),
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        access_log=False,
        loop="asyncio",
        http="h11",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="abs-sim", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("ABS simulator did not start within 10 s")
        time.sleep(0.01)
    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    return f"http://{host}:{sock.getsockname()[1]}", stop


class SyncASGITransport(httpx.BaseTransport):
    """Drive an ASGI app from a synchronous ``httpx.Client`` (the worker client is sync).

    httpx only ships an async ASGI transport; this runs it on a private event loop, one request at
    a time (a lock keeps threads from sharing the loop). Injected delays really sleep; client
    timeouts are not enforced in-process — use :func:`serve_abs` to test those.
    """

    def __init__(self, app: Callable[..., object]) -> None:
        self._inner = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        self._loop = asyncio.new_event_loop()
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=body)

        async def call() -> tuple[int, httpx.Headers, bytes]:
            response = await self._inner.handle_async_request(forwarded)
            content = await response.aread()
            return response.status_code, response.headers, content

        with self._lock:
            status, headers, content = self._loop.run_until_complete(call())
        headers = httpx.Headers([(k, v) for k, v in headers.multi_items() if k.lower() != "content-encoding"])
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        with self._lock:
            if not self._loop.is_closed():
                self._loop.close()


def sim_http_client(state: AbsState, base_url: str = "http://abs.test") -> httpx.Client:
    """An ``httpx.Client`` wired to the simulator in-process; pass it to ``AbsClient(http=...)``."""
    return httpx.Client(transport=SyncASGITransport(build_abs_app(state)), base_url=base_url)
