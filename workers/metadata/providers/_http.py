"""Transport, cache and error mapping shared by every provider client.

One code path decides, for all six providers, when the throttle is consulted (before each request
that leaves the process, never on a cache hit), what is cached (parsed-and-accepted 200s, and 404s
as negative answers) and how HTTP outcomes become :mod:`shared.errors` classes. Provider modules
only refine the mapping where their provider deviates (Audnexus REGION_UNAVAILABLE, Hardcover's
GraphQL errors, Google's invalid-key 400).

Secrets (tokens, API keys) never enter cache keys, messages or reprs: they are passed separately
and every message goes through :meth:`ProviderHttp._redact`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import urlencode, urljoin, urlsplit

import httpx
import orjson

from shared.errors import (
    AuthError,
    MalformedResponse,
    MamcError,
    NotFound,
    PermanentError,
    UpstreamUnavailable,
)
from workers.metadata.providers._normalize import parse_http_date_delta
from workers.metadata.providers.base import ResponseCache, Throttle

T = TypeVar("T")
Params = Mapping[str, str | int | None]

DEFAULT_USER_AGENT = "MAMcrawler/0.1 (audiobook metadata; https://github.com/mamcrawler)"
_MAX_REDIRECTS = 3


class ProviderHttp:
    """Base of the provider clients: a configurable base URL, a sync httpx client and the cache."""

    provider: ClassVar[str] = "provider"

    def __init__(
        self,
        base_url: str,
        *,
        http: httpx.Client | None = None,
        throttle: Throttle | None = None,
        cache: ResponseCache | None = None,
        cache_ttl: float = 86_400.0,
        negative_ttl: float = 3_600.0,
        timeout: float = 20.0,
        user_agent: str = DEFAULT_USER_AGENT,
        secrets: tuple[str, ...] = (),
        cache_scope: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._throttle = throttle
        self._cache = cache
        self._cache_ttl = cache_ttl
        self._negative_ttl = negative_ttl
        self._timeout = timeout
        self._user_agent = user_agent
        self._secrets = tuple(s for s in secrets if s)
        self._cache_scope = cache_scope

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests -------------------------------------------------------------------------------

    def _get(
        self,
        path: str,
        params: Params | None,
        parse: Callable[[Any], T],
        *,
        secret_params: Mapping[str, str] | None = None,
        use_cache: bool = True,
    ) -> T:
        """``use_cache=False``: the caller keeps the answer itself (per item of a batch request)."""
        clean = {k: str(v) for k, v in (params or {}).items() if v is not None}
        key = f"GET {path}?{urlencode(sorted(clean.items()))}"
        return self._exchange("GET", path, clean, None, {}, key, parse, secret_params or {}, use_cache=use_cache)

    def _post_json(
        self,
        path: str,
        body: Mapping[str, Any],
        parse: Callable[[Any], T],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> T:
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()
        key = f"POST {path} {canonical}"
        return self._exchange("POST", path, {}, body, dict(headers or {}), key, parse, {})

    def _exchange(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        body: Mapping[str, Any] | None,
        headers: dict[str, str],
        key: str,
        parse: Callable[[Any], T],
        secret_params: Mapping[str, str],
        *,
        use_cache: bool = True,
    ) -> T:
        cache_key = f"{self._cache_scope}:{key}" if self._cache_scope else key
        cache = self._cache if use_cache else None
        if cache is not None:
            hit = cache.get(self.provider, cache_key)
            if hit is not None:
                status, _, cached = hit.partition(b"\n")
                if status == b"200":
                    return parse(self._decode(cached, method, path))
                raise self._classify(int(status), cached, {}, method, path)

        response = self._send(method, path, {**params, **secret_params}, body, headers)
        if 200 <= response.status_code < 300:
            result = parse(self._decode(response.content, method, path))
            if cache is not None:
                cache.put(self.provider, cache_key, b"200\n" + response.content, self._cache_ttl)
            return result
        error = self._classify(response.status_code, response.content, response.headers, method, path)
        if cache is not None and response.status_code == 404 and isinstance(error, NotFound):
            cache.put(self.provider, cache_key, b"404\n" + response.content, self._negative_ttl)
        raise error

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        body: Mapping[str, Any] | None,
        headers: dict[str, str],
    ) -> httpx.Response:
        """Send, following redirects by hand so each hop passes the throttle like any request."""
        url = self.base_url + path
        all_headers = {"user-agent": self._user_agent, "accept": "application/json", **headers}
        content = orjson.dumps(body) if body is not None else None
        if content is not None:
            all_headers["content-type"] = "application/json"
        for _hop in range(_MAX_REDIRECTS + 1):
            if self._throttle is not None:
                self._throttle()
            try:
                response = self._http.request(
                    method,
                    url,
                    params=params or None,
                    content=content,
                    headers=all_headers,
                    timeout=self._timeout,
                    follow_redirects=False,
                )
            except httpx.TimeoutException as exc:
                raise UpstreamUnavailable(
                    f"{self.provider}: no answer within {self._timeout:g}s to {method} {path}"
                ) from exc
            except httpx.TransportError as exc:
                raise UpstreamUnavailable(
                    self._redact(f"{self.provider}: {method} {path} failed: {type(exc).__name__}: {exc}")
                ) from exc
            location = response.headers.get("location")
            if response.status_code in (301, 302, 303, 307, 308) and location and method == "GET":
                url = urljoin(str(response.url), location)
                path = urlsplit(url).path
                params = {}  # the Location carries its own query
                continue
            return response
        raise UpstreamUnavailable(f"{self.provider}: more than {_MAX_REDIRECTS} redirects from {path}")

    # -- decoding and errors --------------------------------------------------------------------

    def _decode(self, content: bytes, method: str, path: str) -> Any:
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise MalformedResponse(
                f"{self.provider}: {method} {path} answered with invalid JSON ({len(content)} bytes: {exc})"
            ) from None

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _retry_after(self, headers: Mapping[str, str]) -> float | None:
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            return parse_http_date_delta(value, time.time())

    def _detail(self, content: bytes) -> str:
        """The provider's own words about the failure, short and redacted, for humans reading logs."""
        try:
            data = orjson.loads(content)
        except orjson.JSONDecodeError:
            return self._redact(content[:200].decode("utf-8", "replace").strip())
        parts: list[str] = []
        if isinstance(data, dict):
            for field in ("error", "message", "error_description"):
                value = data.get(field)
                if isinstance(value, dict):
                    value = value.get("message")
                if isinstance(value, str) and value not in parts:
                    parts.append(value)
        return self._redact("; ".join(parts)[:300] if parts else content[:200].decode("utf-8", "replace"))

    def _classify(
        self,
        status: int,
        content: bytes,
        headers: Mapping[str, str],
        method: str,
        path: str,
    ) -> MamcError:
        """Map a non-2xx answer to the project's error vocabulary; providers refine where needed."""
        detail = self._detail(content)
        where = f"{self.provider}: HTTP {status} on {method} {path}"
        message = f"{where}: {detail}" if detail else where
        if status == 429:
            return UpstreamUnavailable(message, retry_after=self._retry_after(headers))
        if status >= 500 or status == 408:
            return UpstreamUnavailable(message, retry_after=self._retry_after(headers))
        if status == 404:
            return NotFound(message)
        if status in (401, 403):
            return AuthError(message)
        if 400 <= status < 500:
            return PermanentError(message)
        return UpstreamUnavailable(message)
