"""Synchronous Audiobookshelf (ABS) API client for the library workers, on :mod:`workers.upstream`.

The layer throttles every request (the global Redis rate limiter; it may raise
:class:`shared.infra.errors.RateLimited`, which propagates), caps answer sizes and maps failures into the
project's error vocabulary. ABS refines the mapping:

=====================================  =================================================
401                                    :class:`UpstreamAuthError`, fatal: the key is refused
403                                    :class:`UpstreamAuthError`, not fatal: ABS answers 403
                                       for one request it dislikes ("Invalid payload", a
                                       user without the permission), the key still works
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
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import quote

from shared.infra.errors import ConfigError, MalformedResponse, MamcError, PermanentError, UpstreamUnavailable
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
from workers.upstream import Reply, UpstreamAuthError, UpstreamClient, UpstreamOptions
from workers.upstream.redaction import Hidden

log = logging.getLogger(__name__)

# ``addedAt`` is the paging key because it is the one sort ABS offers that never changes for an
# item (moves keep it; edits do not touch it) and new items get a later value, so ascending pages
# only ever grow at the end. ``updatedAt`` is not sortable; ``size``/``duration``/``mtimeMs`` change
# on rescans and ``birthtimeMs`` is 0 on many Linux filesystems (all ties).
PAGE_SORT = "addedAt"
BATCH_GET_CHUNK = 100  # ~20-40 kB per expanded item: a few MB per response, far below any limit


def _without_nul(value: Any) -> Any:
    """``value`` with NUL characters removed from every string in it, keys included."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


class AbsClient(UpstreamClient):
    """One ABS server, one API key. Use as a context manager to close the connection pool."""

    service: ClassVar[str] = "ABS"
    default_timeout: ClassVar[float] = 30.0

    def __init__(self, options: UpstreamOptions, token: str) -> None:
        if not token or not token.strip():
            raise ConfigError("ABS API key is empty; create one under Settings → API Keys (active)")
        super().__init__(options, secrets=(token.strip(),))
        self._token = Hidden(token.strip())

    # ------------------------------------------------------------------ transport
    def classify(self, reply: Reply, method: str, path: str) -> MamcError:
        error = super().classify(reply, method, path)
        if isinstance(error, UpstreamAuthError):
            return UpstreamAuthError(f"{error} (check the ABS API key is active and its user may do this)",
                                     service=self.service, fatal=error.fatal)
        if 300 <= reply.status < 400:  # e.g. an SSO proxy in front of ABS sending us to its login page
            return PermanentError(f"{error}; point the base URL at ABS itself (or exempt /api from the proxy's login)")
        return error

    def auth_is_fatal(self, reply: Reply) -> bool:
        return reply.status == 401

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        auth: bool = True,
    ) -> Reply:
        # httpx.Headers masks Authorization in its repr, so even captured locals stay clean
        headers = {"Authorization": f"Bearer {self._token.reveal()}"} if auth else None
        return self.request(method, path, params=params, body=body, headers=headers)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        reply = self._request(method, path, **kwargs)
        data = self.decode_json(reply.content, method, path)
        # PostgreSQL text cannot hold NUL, and tags read from audio files (ID3 pads with NULs) can
        # carry them: one such title would fail its whole chunk on every retry. Removed here, before
        # names are folded into keys, so "Name\x00" and "Name" stay one author. Rare: checked on bytes.
        return _without_nul(data) if b"\\u0000" in reply.content else data

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

    def newest_items(self, library_id: str, *, limit: int = 100, page: int = 0) -> list[AbsListEntry]:
        """One page of a library's items, newest first (``sort=addedAt&desc=1``): where the items a
        scan just added are. Minified rows (path, duration); read one with :meth:`get_item`."""
        if limit < 1:
            raise ValueError("limit must be >= 1 (limit=0 means 'everything' to ABS)")
        path = f"/api/libraries/{quote(library_id, safe='')}/items"
        data = as_dict(self._json("GET", path, params={"sort": PAGE_SORT, "desc": 1, "limit": limit, "page": page}),
                       f"items of library {library_id}")
        return [parse_list_entry(raw) for raw in as_list(data.get("results"), f"items of library {library_id}")]

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
        # ``updated`` is true or absent, never false: ABS answers ``hasUpdates || payload.url``, which is
        # ``undefined`` when nothing changed, and JSON drops it (seen on the real 2.36.0 server)
        if data.get("updated") not in (True, False, None) or not isinstance(data.get("libraryItem"), dict):
            raise MalformedResponse(f"ABS PATCH item {item_id}: expected {{updated?, libraryItem}}")
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
