"""``GET /api/libraries/:id/items`` query semantics: paging, sorting, filtering — quirks included.

The quirks are the point of this module (reference §3):

* ``limit``/``page`` go through JavaScript ``Number()``: non-numeric → 0, negative or fractional →
  400, ``limit=0`` or absent → every row, ``page`` is 0-based and ``offset = page * limit``;
* without a recognised ``sort`` there is no ORDER BY, so each request returns rows in its own
  order. We model that with a per-request affine permutation ``i → (a·i + b) mod n`` (cheap: a page
  costs O(limit), not O(n)), seeded by the request sequence number so runs are reproducible;
* with a sort, ties keep insertion (rowid) order unless ``state.tie_order == "shuffled"``.
"""

from __future__ import annotations

import base64
import binascii
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from tests.sims.abs_records import SimItem, SimLibrary, SimUser
from tests.sims.abs_state import AbsState


class SimHTTPError(Exception):
    """An error response: ABS sends errors as plain text, never JSON."""

    def __init__(self, status: int, text: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {text}")
        self.status = status
        self.text = text
        self.headers = dict(headers or {})


_JS_DECIMAL = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_JS_RADIX = re.compile(r"^0([xXoObB])([0-9a-fA-F]+)$")


def js_number(values: Sequence[str]) -> float:
    """JavaScript ``Number(req.query.x)``. Absent → NaN; a repeated parameter is an array → NaN."""
    if len(values) != 1:
        return math.nan
    text = values[0].strip()
    if text == "":
        return 0.0
    if _JS_DECIMAL.match(text):
        return float(text)
    radix = _JS_RADIX.match(text)
    if radix:
        base = {"x": 16, "o": 8, "b": 2}[radix.group(1).lower()]
        try:
            return float(int(radix.group(2), base))
        except ValueError:
            return math.nan
    if text in ("Infinity", "+Infinity", "-Infinity"):
        return -math.inf if text.startswith("-") else math.inf
    return math.nan


def _paging_value(values: Sequence[str], name: str) -> int:
    number = js_number(values) if values else math.nan
    if math.isnan(number):
        return 0  # non-numeric or absent: silently 0
    if number < 0 or not number.is_integer():
        raise SimHTTPError(400, f"Invalid request. {name} must be a positive integer")
    return int(number)


@dataclass(slots=True)
class ListQuery:
    limit: int
    page: int
    sort: str | None
    desc: bool
    filter: str | None
    include: str
    minified: bool
    collapse: bool


def parse_list_query(params: Callable[[str], list[str]]) -> ListQuery:
    """``params(name)`` returns every value sent for ``name`` (Starlette ``getlist``)."""

    def first(name: str) -> str | None:
        values = params(name)
        return values[0] if values else None

    return ListQuery(
        limit=_paging_value(params("limit"), "limit"),
        page=_paging_value(params("page"), "page"),
        sort=first("sort"),
        desc=first("desc") == "1",
        filter=first("filter"),
        include=first("include") or "",
        minified=first("minified") == "1",
        collapse=first("collapseseries") == "1",
    )


SortKey = Callable[[AbsState, SimItem], Any]


def _year(_: AbsState, item: SimItem) -> tuple[int, int]:
    if item.published_year is None:
        return (0, 0)  # NULL sorts first ascending
    return (1, int(item.published_year) if item.published_year.isdigit() else 0)


def _author_name(state: AbsState, item: SimItem) -> str:
    return ", ".join(state.authors[a].name for a in item.author_ids).lower()


def _author_lf(state: AbsState, item: SimItem) -> str:
    names = [state.authors[a].name.split() for a in item.author_ids]
    return ", ".join(f"{p[-1]}, {' '.join(p[:-1])}" if len(p) > 1 else " ".join(p) for p in names).lower()


SORT_KEYS: dict[str, SortKey] = {
    "addedAt": lambda _s, i: i.added_at,
    "size": lambda _s, i: i.size,
    "birthtimeMs": lambda _s, i: i.birthtime_ms,
    "mtimeMs": lambda _s, i: i.mtime_ms,
    "media.duration": lambda _s, i: i.duration,
    "media.metadata.publishedYear": _year,
    "media.metadata.authorNameLF": _author_lf,
    "media.metadata.authorName": _author_name,
    "media.metadata.title": lambda _s, i: (i.title or "").lower(),
    # the simulator keeps no listening progress, so every item ties (and keeps rowid order)
    "progress": lambda _s, _i: 0,
    "progress.createdAt": lambda _s, _i: 0,
    "progress.finishedAt": lambda _s, _i: 0,
}


def _sequence_float(sequence: str | None) -> float:
    """SQLite ``CAST(sequence AS FLOAT)``: leading number or 0."""
    match = re.match(r"\s*[+-]?(\d+\.?\d*|\.\d+)", sequence or "")
    return float(match.group(0)) if match else 0.0


def _decode_filter(raw: str) -> tuple[str, str | None]:
    """``decodeURIComponent`` then base64, as ABS does; a raw ``+`` arrives here as a space."""
    value = unquote(raw)
    group, dot, encoded = value.partition(".")
    if not dot:
        return group, None
    cleaned = re.sub(r"[^A-Za-z0-9+/=_-]", "", encoded)  # Node's decoder skips junk characters
    try:
        decoded = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), altchars=b"-_")
    except (binascii.Error, ValueError):
        decoded = b""
    return group, decoded.decode("utf-8", "replace")


_MISSING_FIELDS: dict[str, Callable[[SimItem], bool]] = {
    "asin": lambda i: not i.asin,
    "isbn": lambda i: not i.isbn,
    "subtitle": lambda i: not i.subtitle,
    "authors": lambda i: not i.author_ids,
    "series": lambda i: not i.series,
    "narrators": lambda i: not i.narrators,
    "genres": lambda i: not i.genres,
    "tags": lambda i: not i.tags,
    "publishedYear": lambda i: not i.published_year,
    "publisher": lambda i: not i.publisher,
    "language": lambda i: not i.language,
    "description": lambda i: not i.description,
}


def _filter_predicate(group: str, value: str | None) -> Callable[[SimItem], bool]:
    if group == "series":
        if value == "no-series":
            return lambda i: not i.series
        return lambda i: any(s == value for s, _ in i.series)
    if group == "authors":
        return lambda i: value in i.author_ids
    simple: dict[str, Callable[[SimItem], bool]] = {
        "narrators": lambda i: value in i.narrators,
        "genres": lambda i: value in i.genres,
        "tags": lambda i: value in i.tags,
        "languages": lambda i: i.language == value,
        "explicit": lambda i: i.explicit,
        "abridged": lambda i: i.abridged,
        "issues": lambda i: i.is_missing or i.is_invalid,
    }
    if group in simple:
        return simple[group]
    if group == "missing" and value in _MISSING_FIELDS:
        return _MISSING_FIELDS[value]
    raise SimHTTPError(501, f"simulator: filter group {group!r} is not simulated")


@dataclass(slots=True)
class ListResult:
    rows: list[SimItem]
    total: int
    series_id: str | None


class OrderCache:
    """Sorted id lists per (library, sort, filter, visibility), valid for one ``state.version``.

    ABS caches ``/api/libraries*`` responses until any DB write; caching the *order* gives paging
    through 100,000 items the same cost profile without changing any answer.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[Any, ...], tuple[list[SimItem], str | None]] = {}
        self._version = -1

    def get(
        self, state: AbsState, key: tuple[Any, ...], build: Callable[[], tuple[list[SimItem], str | None]]
    ) -> tuple[list[SimItem], str | None]:
        if state.version != self._version:
            self._entries.clear()
            self._version = state.version
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = build()
        return entry


def _candidates(state: AbsState, user: SimUser, lib: SimLibrary, query: ListQuery) -> tuple[list[SimItem], str | None]:
    rows = [state.items[i] for i in state.library_items[lib.id]]
    if not user.may_see_explicit:
        rows = [i for i in rows if not i.explicit]  # silently gone from results *and* total
    series_id = None
    if query.filter:
        group, value = _decode_filter(query.filter)
        rows = [i for i in rows if _filter_predicate(group, value)(i)]
        if group == "series" and value != "no-series":
            series_id = value
    return rows, series_id


def select_items(state: AbsState, user: SimUser, lib: SimLibrary, query: ListQuery, cache: OrderCache) -> ListResult:
    """Rows for one page, the total, and the series id when a series filter is active."""
    if query.collapse:
        raise SimHTTPError(501, "simulator: collapseseries is not simulated")
    state.request_seq += 1
    rng = random.Random(f"{state.seed}:{state.request_seq}")
    sort = query.sort
    if sort == "sequence" and not (query.filter or "").startswith("series."):
        sort = "media.metadata.title"  # "sequence only with a series filter (otherwise title)"
    ordered = sort is not None and (sort in SORT_KEYS or sort == "sequence")
    cache_key = (lib.id, sort, query.desc, query.filter, user.may_see_explicit)
    if ordered and state.tie_order == "stable":

        def build() -> tuple[list[SimItem], str | None]:
            found, sid = _candidates(state, user, lib, query)
            return _sorted(state, found, sort, query.desc, sid, None), sid

        rows, series_id = cache.get(state, cache_key, build)
    else:
        rows, series_id = _candidates(state, user, lib, query)
        if ordered:
            rows = _sorted(state, rows, sort, query.desc, series_id, rng)
        elif sort == "random":
            rows = rows[:]
            rng.shuffle(rows)
    total = len(rows)
    start = query.page * query.limit if query.limit else 0
    stop = start + query.limit if query.limit else total
    if ordered or sort == "random" or total == 0:
        return ListResult(rows[start:stop], total, series_id)
    # no ORDER BY: this request sees its own arbitrary (but reproducible) order
    step = rng.randrange(1, total) if total > 1 else 1
    while math.gcd(step, total) != 1:
        step += 1
    shift = rng.randrange(total)
    return ListResult([rows[(step * k + shift) % total] for k in range(start, min(stop, total))], total, series_id)


def _sorted(
    state: AbsState,
    rows: list[SimItem],
    sort: str | None,
    desc: bool,
    series_id: str | None,
    tie_rng: random.Random | None,
) -> list[SimItem]:
    if sort == "sequence" and series_id is not None:

        def key(item: SimItem) -> Any:
            return _sequence_float(dict(item.series).get(series_id))
    else:
        base = SORT_KEYS[sort or "addedAt"]
        if series_id is not None:  # a series filter adds a secondary sort on the sequence

            def key(item: SimItem) -> Any:
                return (base(state, item), _sequence_float(dict(item.series).get(series_id)))
        else:

            def key(item: SimItem) -> Any:
                return base(state, item)

    decorated = [(key(item), tie_rng.random() if tie_rng else 0.0, item) for item in rows]
    decorated.sort(key=lambda t: (t[0], t[1]), reverse=desc)
    return [t[2] for t in decorated]


def envelope(query: ListQuery, lib: SimLibrary, result: ListResult, results: list[dict[str, Any]]) -> dict[str, Any]:
    """The list envelope: ``sortDesc`` (not ``desc``); ``sortBy``/``filterBy`` only when sent."""
    out: dict[str, Any] = {"results": results, "total": result.total, "limit": query.limit, "page": query.page}
    if query.sort is not None:
        out["sortBy"] = query.sort
    out["sortDesc"] = query.desc
    if query.filter is not None:
        out["filterBy"] = query.filter
    out |= {
        "mediaType": lib.media_type,
        "minified": query.minified,
        "collapseseries": query.collapse,
        "include": query.include,
        "offset": query.page * query.limit,
    }
    return out
