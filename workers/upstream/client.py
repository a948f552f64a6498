"""The base of every outbound client: throttle, send, read within the size cap, map the outcome.

A subclass adds its endpoints and parsers, and refines the error mapping where its service deviates
by overriding :meth:`UpstreamClient.classify` (or only :meth:`UpstreamClient.auth_is_fatal`). The
layer sends synchronously because the workers are Celery prefork tasks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self
from urllib.parse import urljoin, urlsplit

import httpx
import orjson

from shared.infra.errors import ConfigError, MalformedResponse, MamcError, UpstreamUnavailable
from workers.upstream.errors import ResponseTooLarge, classify_status, parse_retry_after
from workers.upstream.options import UpstreamOptions
from workers.upstream.redaction import Redactor, install_log_filter

log = logging.getLogger(__name__)

Params = Mapping[str, str | int]
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: Fields in which JSON error bodies of the services we call explain themselves.
_DETAIL_FIELDS = ("error", "message", "error_description")


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer read in full (within the cap): what parsers and the error mapping look at."""

    status: int
    content: bytes
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    reason: str = ""
    url: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class UpstreamClient:
    """One service at one base URL. Use as a context manager to close a pool the client made itself."""

    #: Names the service in messages and logs ("ABS", "audible"…).
    service: ClassVar[str] = "upstream"
    default_timeout: ClassVar[float] = 20.0
    #: GET redirects followed by hand (each hop passes the throttle); 0 makes any 3xx an error.
    max_redirects: ClassVar[int] = 0

    def __init__(self, options: UpstreamOptions, *, secrets: Iterable[str | None] = ()) -> None:
        if not options.base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"{self.service} base URL must start with http:// or https://, got {options.base_url!r}"
            )
        self.base_url = options.base_url.rstrip("/")
        self.redact = Redactor((*options.secrets, *secrets))
        self._timeout = options.timeout if options.timeout is not None else self.default_timeout
        self._http = options.http if options.http is not None else httpx.Client(timeout=self._timeout)
        self._owns_http = options.http is None
        self._throttle = options.throttle
        self._max_bytes = options.max_response_bytes
        self._user_agent = options.user_agent
        install_log_filter()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending ----------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """A 2xx reply, or the mapped error (see :mod:`workers.upstream.errors`)."""
        reply = self.send(method, path, params=params, body=body, headers=headers)
        if not reply.ok:
            raise self.classify(reply, method, path)
        return reply

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Any reply the service gave; only transport failures raise. Follows up to
        :attr:`max_redirects` GET redirects, each one throttled like a request of its own."""
        all_headers = httpx.Headers({"user-agent": self._user_agent, "accept": "application/json"})
        all_headers.update(headers or {})
        content = orjson.dumps(body) if body is not None else None
        if content is not None:
            all_headers["content-type"] = "application/json"
        url, query = self.base_url + path, dict(params or {})
        for _hop in range(self.max_redirects + 1):
            reply = self._transmit(method, url, path, query, content, all_headers)
            location = reply.headers.get("location")
            if not (self.max_redirects and reply.status in _REDIRECTS and location and method == "GET"):
                return reply
            url = urljoin(reply.url or url, location)
            path, query = urlsplit(url).path, {}  # the Location carries its own query
        raise UpstreamUnavailable(f"{self.service}: more than {self.max_redirects} redirects from {path}")

    def _transmit(
        self, method: str, url: str, path: str, params: dict[str, str | int], content: bytes | None,
        headers: httpx.Headers,
    ) -> Reply:
        if self._throttle is not None:
            self._throttle()
        what = f"{self.service}: {method} {path}"
        started = time.monotonic()
        try:
            request = self._http.build_request(
                method, url, params=params or None, content=content, headers=headers, timeout=self._timeout
            )
            response = self._http.send(request, stream=True, follow_redirects=False)
            try:
                data = self._read_capped(response, what)
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            raise UpstreamUnavailable(f"{what}: no answer within {self._timeout:g}s") from exc
        except httpx.DecodingError as exc:
            raise MalformedResponse(self.redact(f"{what}: undecodable body: {exc}")) from exc
        except httpx.RequestError as exc:
            raise UpstreamUnavailable(self.redact(f"{what} failed: {type(exc).__name__}: {exc}")) from exc
        log.debug("%s -> %s in %.0f ms", what, response.status_code, (time.monotonic() - started) * 1000)
        return Reply(response.status_code, data, response.headers, response.reason_phrase, str(response.url))

    def _read_capped(self, response: httpx.Response, what: str) -> bytes:
        """The decoded body, refusing to hold more than the cap (a zip bomb counts decompressed)."""
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise self._too_large(what, f"declares {int(declared)} bytes")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise self._too_large(what, f"passed {size} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, what: str, how: str) -> ResponseTooLarge:
        return ResponseTooLarge(f"{what}: the answer {how}, over the {self._max_bytes}-byte cap; stopped reading",
                                limit=self._max_bytes)

    # -- interpreting -----------------------------------------------------------------------------

    def classify(self, reply: Reply, method: str, path: str) -> MamcError:
        """The error for a non-2xx reply; subclasses refine it for their service's quirks."""
        return classify_status(
            reply.status,
            self.describe(reply, method, path),
            service=self.service,
            retry_after=parse_retry_after(reply.headers.get("retry-after")),
            auth_fatal=reply.status in (401, 403) and self.auth_is_fatal(reply),
        )

    def auth_is_fatal(self, reply: Reply) -> bool:
        """Whether this 401/403 means the whole service is unusable until an operator acts."""
        return False

    def describe(self, reply: Reply, method: str, path: str) -> str:
        """``service: HTTP status on METHOD path: the service's own words`` (redacted)."""
        where = f"{self.service}: HTTP {reply.status} on {method} {path}"
        if 300 <= reply.status < 400 and reply.headers.get("location"):
            where += f": redirect to {reply.headers['location']}"
        detail = self.detail(reply) or reply.reason
        return self.redact(f"{where}: {detail}" if detail else where)

    def detail(self, reply: Reply) -> str:
        """The service's explanation, short: JSON ``error``/``message`` fields, else the body's start."""
        try:
            data = orjson.loads(reply.content)
        except orjson.JSONDecodeError:
            return self.redact(reply.content[:200].decode("utf-8", "replace").strip())
        parts: list[str] = []
        if isinstance(data, dict):
            for name in _DETAIL_FIELDS:
                value = data.get(name)
                if isinstance(value, dict):
                    value = value.get("message")
                if isinstance(value, str) and value not in parts:
                    parts.append(value)
        text = "; ".join(parts)[:300] if parts else reply.content[:200].decode("utf-8", "replace").strip()
        return self.redact(text)

    def decode_json(self, content: bytes, method: str, path: str) -> Any:
        """Parsed JSON, or :class:`MalformedResponse` quoting a redacted start of the body."""
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            snippet = self.redact(content[:80].decode("utf-8", "replace"))
            raise MalformedResponse(
                f"{self.service}: {method} {path}: unparsable JSON ({len(content)} bytes: {exc}): {snippet!r}"
            ) from None
