"""Synchronous Audiobookshelf (ABS) API client for the library workers.

Synchronous because the workers are Celery prefork tasks. Every request first calls ``throttle()``
(the global Redis rate limiter; it may raise :class:`shared.errors.RateLimited`, which propagates),
and every failure is translated once, here, into the project's error vocabulary:

=====================================  =================================================
401 / 403                              :class:`AuthError` (an operator must fix the key)
404                                    :class:`NotFound`
429, 5xx, timeouts, connection errors  :class:`UpstreamUnavailable` (``Retry-After`` kept)
200 with a body we cannot parse        :class:`MalformedResponse`
other 4xx, 3xx (auth proxies)          :class:`PermanentError`
=====================================  =================================================

The API token is sent only in the ``Authorization`` header (never in a URL, so it cannot leak
through access logs or exception messages that quote URLs) and is scrubbed from any server text we
quote. It appears in no message, ``repr`` or log line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from shared.errors import (
    AuthError,
    ConfigError,
    MalformedResponse,
    NotFound,
    PermanentError,
    UpstreamUnavailable,
)
from workers.library.abs_models import (
    AbsItem,
    AbsLibrary,
    AbsListEntry,
    AbsTask,
    MediaPatch,
    as_dict,
    as_list,
    parse_item,
    parse_library,
    parse_list_entry,
    parse_task,
    req_int,
)

log = logging.getLogger(__name__)

# ``addedAt`` is the paging key because it is the one sort ABS offers that never changes for an
# item (moves keep it; edits do not touch it) and new items get a later value, so ascending pages
# only ever grow at the end. ``updatedAt`` is not sortable; ``size``/``duration``/``mtimeMs`` change
# on rescans and ``birthtimeMs`` is 0 on many Linux filesystems (all ties).
PAGE_SORT = "addedAt"
BATCH_GET_CHUNK = 100  # ~20-40 kB per expanded item: a few MB per response, far below any limit


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def _without_nul(value: Any) -> Any:
    """``value`` with NUL characters removed from every string in it, keys included."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


class _Secret:
    """Holds the API key so ``vars()``, debuggers and error trackers capturing locals show no key."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"


class AbsClient:
    """One ABS server, one API key. Use as a context manager to close the connection pool."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        http: httpx.Client | None = None,
        throttle: Callable[[], None] | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"ABS base URL must start with http:// or https://, got {base_url!r}")
        if not token or not token.strip():
            raise ConfigError("ABS API key is empty; create one under Settings → API Keys (active)")
        self._base = base_url.rstrip("/")
        self._token = _Secret(token.strip())
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._owns_http = http is None
        self._throttle = throttle
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"AbsClient(base_url={self._base!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> AbsClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ transport
    def _scrub(self, text: str) -> str:
        token = self._token.reveal()
        return text.replace(token, "***") if token in text else text

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        auth: bool = True,
    ) -> httpx.Response:
        if self._throttle is not None:
            self._throttle()
        # httpx.Headers masks Authorization in its repr, so even captured locals stay clean
        headers = httpx.Headers({"Accept": "application/json"})
        if auth:
            headers["Authorization"] = f"Bearer {self._token.reveal()}"
        what = f"ABS {method} {path}"
        content = None
        if body is not None:
            content = orjson.dumps(body)
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        try:
            response = self._http.request(
                method, self._base + path, params=params, content=content, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            raise UpstreamUnavailable(f"{what}: no answer within {self._timeout:g}s") from exc
        except httpx.DecodingError as exc:
            raise MalformedResponse(f"{what}: undecodable body: {self._scrub(str(exc))}") from exc
        except httpx.RequestError as exc:
            raise UpstreamUnavailable(f"{what}: {type(exc).__name__}: {self._scrub(str(exc))}") from exc
        log.debug("%s -> %s in %.0f ms", what, response.status_code, (time.monotonic() - started) * 1000)
        if response.status_code < 300:
            return response
        if response.status_code < 400:  # e.g. an SSO proxy in front of ABS sending us to its login page
            location = self._scrub(response.headers.get("Location", "?"))
            raise PermanentError(
                f"{what}: HTTP {response.status_code} redirect to {location}; point the base URL "
                "at ABS itself (or exempt /api from the proxy's login)"
            )
        snippet = self._scrub(response.text[:200].strip()) or response.reason_phrase
        status = response.status_code
        message = f"{what}: HTTP {status}: {snippet}"
        if status in (401, 403):
            raise AuthError(f"{message} (check the ABS API key is active and its user may do this)")
        if status == 404:
            raise NotFound(message)
        if status == 429 or status >= 500:
            raise UpstreamUnavailable(message, retry_after=_retry_after(response.headers.get("Retry-After")))
        raise PermanentError(message)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            snippet = self._scrub(response.text[:80])
            raise MalformedResponse(
                f"ABS {method} {path}: unparsable JSON ({len(response.content)} bytes): {snippet!r}"
            ) from exc
        # PostgreSQL text cannot hold NUL, and tags read from audio files (ID3 pads with NULs) can
        # carry them: one such title would fail its whole chunk on every retry. Removed here, before
        # names are folded into keys, so "Name\x00" and "Name" stay one author. Rare: checked on bytes.
        return _without_nul(data) if b"\\u0000" in response.content else data

    # ------------------------------------------------------------------ server
    def ping(self) -> bool:
        """True when the server answers ``/ping`` (no auth: says nothing about the key)."""
        data = as_dict(self._json("GET", "/ping", auth=False), "ping")
        return data.get("success") is True

    def server_version(self) -> str:
        data = as_dict(self._json("GET", "/status", auth=False), "status")
        version = data.get("serverVersion")
        if not isinstance(version, str):
            raise MalformedResponse("ABS /status: no serverVersion")
        return version

    # ------------------------------------------------------------------ libraries
    def list_libraries(self) -> list[AbsLibrary]:
        """Every library the key can see; check ``is_book`` — podcast libraries must be skipped."""
        data = as_dict(self._json("GET", "/api/libraries"), "libraries")
        return [parse_library(raw) for raw in as_list(data.get("libraries"), "libraries")]

    def book_libraries(self) -> list[AbsLibrary]:
        return [lib for lib in self.list_libraries() if lib.is_book]

    def iter_minified(self, library_id: str, page_size: int = 500, *, max_passes: int = 3) -> Iterator[AbsListEntry]:
        """Every item of a library once, paging with a stable sort; yields minified rows.

        ABS pages by ``page`` (0-based) × ``limit`` and has no stable order without ``sort``, so we
        always send ``sort=addedAt`` (see :data:`PAGE_SORT`) and de-duplicate by id. A removal
        during paging shifts later rows left by one, which would skip a row; when the total drops
        between pages, or fewer distinct ids than ``total`` were seen, we page again with a
        different page size (so tie groups and boundaries move), yielding only unseen ids. If that
        never converges we raise :class:`UpstreamUnavailable` *after* yielding what we saw, so a
        caller never mistakes an incomplete listing for a complete one.

        Not detectable from totals alone: a removal *and* an addition between the same two pages.
        Callers that delete local rows for ids not seen should confirm with :meth:`get_expanded`.
        """
        if page_size < 1:
            raise ValueError("page_size must be >= 1 (limit=0 means 'everything' to ABS)")
        path = f"/api/libraries/{quote(library_id, safe='')}/items"
        seen: set[str] = set()
        total = 0
        for attempt in range(max_passes):
            size = page_size if attempt == 0 else max(1, (page_size * (3 - attempt % 2)) // 4)
            shrank, total, page = False, -1, 0
            while True:
                data = as_dict(
                    self._json("GET", path, params={"sort": PAGE_SORT, "limit": size, "page": page}),
                    f"items of library {library_id}",
                )
                results = as_list(data.get("results"), f"items of library {library_id}")
                page_total = req_int(data, "total", f"items of library {library_id}")
                shrank = shrank or (0 <= page_total < total)
                total = page_total
                for raw in results:
                    entry = parse_list_entry(raw)
                    if entry.id not in seen:
                        seen.add(entry.id)
                        yield entry
                page += 1
                if len(results) < size or page * size >= total or page > total // size + 2:
                    break
            if not shrank and len(seen) >= total:
                return
            log.info("ABS library %s changed while paging (saw %d of %d); paging again", library_id, len(seen), total)
        raise UpstreamUnavailable(
            f"ABS library {library_id}: listing kept changing over {max_passes} passes (saw {len(seen)} of {total})"
        )

    # ------------------------------------------------------------------ items
    def get_expanded(self, ids: Sequence[str], *, chunk_size: int = BATCH_GET_CHUNK) -> list[AbsItem]:
        """Expanded items via ``POST /api/items/batch/get``, in the order asked.

        ABS drops unknown ids silently (so the result can be shorter than ``ids``), answers 403 to
        an empty list (so we never send one), and returns rows in database order (so we re-order).
        """
        wanted = list(dict.fromkeys(ids))
        if not all(isinstance(i, str) and i for i in wanted):
            raise ValueError("item ids must be non-empty strings")
        found: dict[str, AbsItem] = {}
        for start in range(0, len(wanted), chunk_size):
            chunk = wanted[start : start + chunk_size]
            data = as_dict(self._json("POST", "/api/items/batch/get", body={"libraryItemIds": chunk}), "batch/get")
            for raw in as_list(data.get("libraryItems"), "batch/get libraryItems"):
                item = parse_item(raw)
                found[item.id] = item
        return [found[i] for i in wanted if i in found]

    def get_item(self, item_id: str) -> AbsItem:
        """One expanded item (``GET /api/items/:id?expanded=1``); 404 → NotFound, hidden → AuthError."""
        return parse_item(self._json("GET", f"/api/items/{quote(item_id, safe='')}", params={"expanded": 1}))

    def patch_media(self, item_id: str, fields: Mapping[str, Any]) -> AbsItem:
        """Write metadata in the exact shape ABS accepts, then verify it was stored; returns the item.

        ``fields`` uses our names (``title``, ``published_year``, ``authors`` as names,
        ``series`` as ``(name, sequence)`` pairs, ``narrators``/``genres``/``tags`` lists,
        ``explicit``/``abridged`` bools…); see :class:`MediaPatch`. ABS answers 200 even when it
        ignores or wipes a field, so the item is read back and any difference raises
        :class:`PermanentError` naming each field.
        """
        patch = MediaPatch.from_fields(fields)
        path = f"/api/items/{quote(item_id, safe='')}/media"
        data = as_dict(self._json("PATCH", path, body=patch.payload()), f"PATCH item {item_id}")
        if not isinstance(data.get("updated"), bool) or not isinstance(data.get("libraryItem"), dict):
            raise MalformedResponse(f"ABS PATCH item {item_id}: expected {{updated, libraryItem}}")
        stored = self.get_item(item_id)
        problems = patch.unapplied(stored)
        if problems:
            raise PermanentError(f"ABS item {item_id} accepted the update but did not store: " + "; ".join(problems))
        return stored

    # ------------------------------------------------------------------ scans
    def scan_library(self, library_id: str, *, force: bool = False) -> None:
        """Ask for a library scan (admin key). ABS answers before scanning and drops a duplicate."""
        params = {"force": 1} if force else None
        self._request("POST", f"/api/libraries/{quote(library_id, safe='')}/scan", params=params)

    def scan_item(self, item_id: str) -> str:
        """Rescan one item synchronously (admin key); returns ``UPDATED``, ``UPTODATE`` or ``NOTHING``.

        ABS answers 500 for single-file (``isFile``) items, which arrives as UpstreamUnavailable.
        """
        data = as_dict(self._json("POST", f"/api/items/{quote(item_id, safe='')}/scan"), f"scan {item_id}")
        result = data.get("result")
        if not isinstance(result, str):
            raise MalformedResponse(f"ABS scan of item {item_id}: no result")
        return result

    def tasks(self) -> list[AbsTask]:
        data = as_dict(self._json("GET", "/api/tasks"), "tasks")
        return [parse_task(raw) for raw in as_list(data.get("tasks", []), "tasks")]

    def scan_running(self, library_id: str) -> bool:
        """Whether a scan of this library is still listed (ABS drops the task when it finishes)."""
        return any(
            t.action == "library-scan" and t.library_id == library_id and not t.is_finished for t in self.tasks()
        )
