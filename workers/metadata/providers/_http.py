"""The response cache every provider client shares, on top of the outbound HTTP layer.

Transport, the throttle, the size cap, redaction and the error mapping are :mod:`workers.upstream`'s.
What this module decides, for all six providers, is the cache: the throttle is consulted before
each request that leaves the process, never on a cache hit; what is cached is parsed-and-accepted
200s, and 404s as negative answers. Provider modules refine the error mapping where their provider
deviates (Audnexus REGION_UNAVAILABLE, Hardcover's GraphQL errors, Google's invalid-key 400).

Secrets (tokens, API keys) never enter cache keys, messages or reprs: they are passed separately
(``secret_params``, the client's ``secrets``) and every message is redacted by the layer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlencode

import orjson

from shared.infra.errors import NotFound
from workers.upstream import Reply, UpstreamClient, UpstreamOptions

T = TypeVar("T")
Params = Mapping[str, str | int | None]


class ProviderHttp(UpstreamClient):
    """Base of the provider clients: the layer's client plus the answer cache."""

    default_timeout: ClassVar[float] = 20.0
    default_cache_ttl: ClassVar[float] = 86_400.0
    default_negative_ttl: ClassVar[float] = 3_600.0
    max_redirects: ClassVar[int] = 3

    def __init__(
        self, options: UpstreamOptions, *, secrets: Iterable[str | None] = (), cache_scope: str = ""
    ) -> None:
        super().__init__(options, secrets=secrets)
        self._cache = options.cache
        self._cache_ttl = options.cache_ttl if options.cache_ttl is not None else self.default_cache_ttl
        self._negative_ttl = options.negative_ttl if options.negative_ttl is not None else self.default_negative_ttl
        self._cache_scope = cache_scope

    @property
    def provider(self) -> str:
        """The provider's name: the cache's partition and the first word of every message."""
        return self.service

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
                    return parse(self.decode_json(cached, method, path))
                raise self.classify(Reply(int(status), cached), method, path)

        reply = self.send(method, path, params={**params, **secret_params}, body=body, headers=headers)
        if reply.ok:
            result = parse(self.decode_json(reply.content, method, path))
            if cache is not None:
                cache.put(self.provider, cache_key, b"200\n" + reply.content, self._cache_ttl)
            return result
        error = self.classify(reply, method, path)
        if cache is not None and reply.status == 404 and isinstance(error, NotFound):
            cache.put(self.provider, cache_key, b"404\n" + reply.content, self._negative_ttl)
        raise error
