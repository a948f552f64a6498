"""What every provider simulator shares: routing, request counters, fault injection and serving.

Each simulator is a plain ASGI app (:class:`SimApp`) over a list of routes. Its :class:`SimState`
counts every request per route (tests assert "the cache hit made zero requests" on these counters)
and holds queued faults. Faults are consumed in order, each for ``remaining`` requests:

- ``status``: answer with that status (429 storms carry ``Retry-After``; 5xx; any 4xx body)
- ``slow``: wait ``delay`` seconds before answering normally (for client timeouts)
- ``malformed_json``: a 200 whose body is cut in half (invalid JSON, correct Content-Length)
- ``partial``: drop the simulator's optional fields (narrators, runtime, series...) from records
- ``broken``: drop the simulator's required fields (asin, title...) from records

Documented provider rate limits are enforced with a GCRA bucket on the sim's clock, so a client
whose throttle is wrong meets the 429s the real service would send.
"""

from __future__ import annotations

import asyncio
import math
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs

import httpx
import orjson
import uvicorn
from starlette.types import Message, Receive, Scope, Send

FaultKind = Literal["status", "slow", "malformed_json", "partial", "broken"]
ErrorBody = Callable[[int, str], Any]


@dataclass
class SimRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class SimResponse:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[SimRequest, "re.Match[str]"], SimResponse]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    label: str
    handler: Handler


def route(method: str, pattern: str, label: str, handler: Handler) -> Route:
    return Route(method, re.compile(f"^{pattern}$"), label, handler)


@dataclass
class Fault:
    kind: FaultKind
    remaining: int | None = 1  # None: until cleared
    route: str | None = None  # only requests to this route label
    status: int = 500
    retry_after: str | None = None
    body: Any = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RequestRecord:
    """One request as the sim saw it; ``status`` is filled in once the answer is decided (0 until then),
    so a test can tell the calls a client must not repeat (answered 200/404) from failed ones."""

    method: str
    path: str
    route: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int = 0

    @property
    def failed(self) -> bool:
        """Answered with something a client rightly does not cache: 429, 5xx, or no answer yet."""
        return self.status == 0 or self.status == 429 or self.status >= 500


class ManualClock:
    """A clock tests move by hand (rate limits, daily quotas, cache TTLs) instead of sleeping."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Gcra:
    """``limit`` requests per ``period`` seconds, ``burst`` back to back (like shared.engine.ratelimit)."""

    def __init__(self, limit: int, period: float, burst: int) -> None:
        self.interval = period / limit
        self.tolerance = self.interval * (max(1, burst) - 1)
        self.tat = 0.0

    def check(self, now: float) -> float:
        """0.0 and a slot taken, or the seconds until the next slot."""
        tat = max(self.tat, now)
        allow_at = tat - self.tolerance
        if now < allow_at:
            return allow_at - now
        self.tat = tat + self.interval
        return 0.0


class SimState:
    """Counters, request log and fault queue of one simulator instance."""

    def __init__(self, name: str, *, clock: Callable[[], float] = time.time, limiter: Gcra | None = None) -> None:
        self.name = name
        self.clock = clock
        self.limiter = limiter
        self.requests: Counter[str] = Counter()
        self.log: list[RequestRecord] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self.extra: dict[str, Any] = {}  # simulator-specific counters (e.g. Hardcover's daily usage)

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def reset_counters(self) -> None:
        with self.lock:
            self.requests.clear()
            self.log.clear()

    def add(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def storm_429(self, times: int | None = 3, *, retry_after: str | None = "7", route: str | None = None) -> Fault:
        return self.add(Fault("status", times, route, 429, retry_after))

    def fail(
        self,
        status: int,
        times: int | None = 1,
        *,
        body: Any = None,
        retry_after: str | None = None,
        route: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        return self.add(Fault("status", times, route, status, retry_after, body, headers=dict(headers or {})))

    def slow(self, delay: float, times: int | None = 1, *, route: str | None = None) -> Fault:
        return self.add(Fault("slow", times, route, delay=delay))

    def malformed(self, times: int | None = 1, *, route: str | None = None) -> Fault:
        return self.add(Fault("malformed_json", times, route))

    def partial(self, times: int | None = 1, *, route: str | None = None) -> Fault:
        return self.add(Fault("partial", times, route))

    def broken(self, times: int | None = 1, *, route: str | None = None) -> Fault:
        return self.add(Fault("broken", times, route))

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _take(self, label: str) -> list[Fault]:
        """The first active slow fault and the first other fault for this route, each used once."""
        taken: list[Fault] = []
        for wanted_slow in (True, False):
            for fault in self.faults:
                if (fault.kind == "slow") != wanted_slow or fault.route not in (None, label):
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.remove(fault)
                taken.append(fault)
                break
        return taken


def strip_keys(data: Any, keys: frozenset[str]) -> Any:
    """A copy of a JSON tree without ``keys`` anywhere (how partial/broken records are made)."""
    if isinstance(data, dict):
        return {k: strip_keys(v, keys) for k, v in data.items() if k not in keys}
    if isinstance(data, list):
        return [strip_keys(v, keys) for v in data]
    return data


class SimApp:
    """An ASGI app serving ``routes`` with counting, rate limiting and fault injection."""

    def __init__(
        self,
        name: str,
        routes: list[Route],
        *,
        error_body: ErrorBody,
        partial_keys: frozenset[str],
        required_keys: frozenset[str],
        state: SimState | None = None,
        rate_limit_message: str = "rate limit exceeded",
    ) -> None:
        self.name = name
        self.routes = routes
        self.error_body = error_body
        self.partial_keys = partial_keys
        self.required_keys = required_keys
        self.state = state or SimState(name)
        self.rate_limit_message = rate_limit_message

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = SimRequest(
            method=scope["method"],
            path=scope["path"],
            query={k: v for k, v in parse_qs(scope["query_string"].decode(), keep_blank_values=True).items()},
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=body,
        )
        response = await self.handle(request)
        await _send_response(send, response)

    async def handle(self, request: SimRequest) -> SimResponse:
        found = next(
            ((r, m) for r in self.routes if r.method == request.method for m in [r.pattern.match(request.path)] if m),
            None,
        )
        label = found[0].label if found else "unmatched"
        state = self.state
        record = RequestRecord(request.method, request.path, label, request.query, request.headers)
        with state.lock:
            state.requests[label] += 1
            state.log.append(record)
            faults = state._take(label)
            wait = state.limiter.check(state.clock()) if state.limiter else 0.0
        response = await self._respond(request, found, faults, wait)
        record.status = response.status
        return response

    async def _respond(
        self, request: SimRequest, found: tuple[Route, re.Match[str]] | None, faults: list[Fault], wait: float
    ) -> SimResponse:
        for fault in faults:
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
        other = next((f for f in faults if f.kind != "slow"), None)
        if other is not None and other.kind == "status":
            headers = {"retry-after": other.retry_after} if other.retry_after is not None else {}
            headers.update(other.headers)
            body = other.body if other.body is not None else self.error_body(other.status, "injected fault")
            return SimResponse(other.status, body, headers)
        if wait > 0:
            return SimResponse(
                429, self.error_body(429, self.rate_limit_message), {"retry-after": str(math.ceil(wait))}
            )
        if found is None:
            return SimResponse(404, self.error_body(404, f"no route for {request.method} {request.path}"))
        response = found[0].handler(request, found[1])
        if other is not None and response.status == 200 and not isinstance(response.body, bytes):
            if other.kind == "partial":
                response.body = strip_keys(response.body, self.partial_keys)
            elif other.kind == "broken":
                response.body = strip_keys(response.body, self.required_keys)
            elif other.kind == "malformed_json":
                encoded = orjson.dumps(response.body)
                response.body = encoded[: max(1, len(encoded) // 2)]
        return response


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _send_response(send: Send, response: SimResponse) -> None:
    if isinstance(response.body, bytes):
        payload, content_type = response.body, "application/json"
    else:
        payload, content_type = orjson.dumps(response.body), "application/json"
    headers = {"content-type": content_type, **response.headers, "content-length": str(len(payload))}
    start: Message = {
        "type": "http.response.start",
        "status": response.status,
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    await send(start)
    await send({"type": "http.response.body", "body": payload})


class InProcessTransport(httpx.BaseTransport):
    """Runs a sim in-process for a *sync* httpx client (httpx's ASGITransport is async-only)."""

    def __init__(self, app: SimApp) -> None:
        self._asgi = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()

        async def run() -> httpx.Response:
            forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=content)
            response = await self._asgi.handle_async_request(forwarded)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return asyncio.run(run())


def in_process_client(app: SimApp) -> httpx.Client:
    return httpx.Client(transport=InProcessTransport(app), base_url="http://sim")


def serve(app: SimApp, port: int = 0) -> tuple[str, Callable[[], None]]:
    """Serve ``app`` with uvicorn on 127.0.0.1 in a background thread: ``(base_url, stop)``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        access_log=False,
        loop="asyncio",
        http="h11",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"sim-{app.name}")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"simulator {app.name} did not start")
        time.sleep(0.01)
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    return base_url, stop
