"""Hardcover GraphQL simulator: ``POST /v1/graphql`` with the limits and quirks of the reference.

Order of checks per request (what a client can run into):
1. ``authorization: Bearer <token>`` must name a known token, else 401 ``{"error": "Unable to verify
   token"}``.
2. 60 requests/min with a burst of 10 -> 429 with ``Retry-After`` and ``RateLimit`` headers.
3. Syntax and validation errors (unknown field, missing variable) -> HTTP 200 ``{"errors": [...]}``.
4. More than 5 top-level fields or more than one ``search`` -> 403 ``top_level_limit_exceeded``;
   ``_like``/``_ilike``/``_regex``... anywhere -> 403 "ilike and related operations are not permitted".
5. 5,000 top-level fields per UTC day (every field counts) -> 429 with ``Retry-After`` until midnight.
``search`` returns a Typesense envelope in ``results`` with string ``document.id``; with
``results_encoding="alternate"`` (default) every other search sends it JSON-encoded as a string.
``enforce_limits=False`` disables 2 and 5; ``clock`` drives both.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Collection
from typing import Any, Literal

import orjson

from tests.sims.providers.catalog import tokens
from tests.sims.providers.common import Gcra, SimApp, SimRequest, SimResponse, SimState, route
from tests.sims.providers.graphql_lite import (
    Field,
    Forbidden,
    GraphQLError,
    apply_collection_args,
    check_operators,
    parse,
    project,
    resolve,
)
from tests.sims.providers.hardcover_data import HardcoverGraph, build_graph
from tests.sims.world import World

PARTIAL_KEYS = frozenset({"subtitle", "audio_seconds", "release_date", "release_year", "contributions", "editions"})
REQUIRED_KEYS = frozenset({"title", "name"})
_SEARCH_FIELDS = {
    "book": ("title", "subtitle", "author_names", "series_names"),
    "series": ("name", "author_name", "books"),
    "author": ("name",),
}


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": message}


def build_hardcover_app(
    world: World,
    *,
    tokens_allowed: Collection[str] = ("sim-token",),
    enforce_limits: bool = True,
    per_minute: int = 60,
    burst: int = 10,
    per_day: int = 5000,
    results_encoding: Literal["object", "string", "alternate"] = "alternate",
    clock: Callable[[], float] = time.time,
    state: SimState | None = None,
) -> SimApp:
    graph = build_graph(world)
    index = _SearchIndex(graph)
    sim_state = state or SimState("hardcover", clock=clock)
    minute = Gcra(per_minute, 60.0, burst)
    usage: dict[tuple[str, int], int] = {}
    sim_state.extra = {"daily_usage": usage, "searches": 0}

    def limited(message: str, wait: float) -> SimResponse:
        seconds = str(max(1, math.ceil(wait)))
        headers = {"retry-after": seconds, "ratelimit": f"limit={per_minute}, remaining=0, reset={seconds}"}
        return SimResponse(429, {"error": message}, headers)

    def graphql(request: SimRequest, _m: re.Match[str]) -> SimResponse:
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if token not in tokens_allowed:
            return SimResponse(401, {"error": "Unable to verify token"})
        now = sim_state.clock()
        if enforce_limits:
            wait = minute.check(now)
            if wait > 0:
                return limited("Throttled: too many requests", wait)
        try:
            payload = request.json()
        except orjson.JSONDecodeError:
            return SimResponse(400, {"error": "invalid JSON payload"})
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return SimResponse(200, GraphQLError("the key 'query' was not present", "parse-failed").as_body())
        variables = payload.get("variables") or {}
        try:
            operation = parse(payload["query"])
            if operation.kind != "query":
                raise GraphQLError("mutations are not supported by this simulator")
            for name, (type_text, default) in operation.variables.items():
                if name not in variables and default is not None:
                    variables[name] = resolve(default, {})
                if name not in variables and type_text.endswith("!"):
                    raise GraphQLError(f'expecting a value for non-nullable variable: "{name}"')
            fields = operation.selection
            if len(fields) > 5 or sum(f.name == "search" for f in fields) > 1:
                return SimResponse(
                    403,
                    {"error": "top_level_limit_exceeded", "error_description": "at most 5 queries or 1 search"},
                )
            for f in fields:
                _check_field(f, variables)
        except GraphQLError as exc:
            return SimResponse(200, exc.as_body())
        except Forbidden as exc:
            return SimResponse(403, {"error": str(exc), "error_description": str(exc)})
        if enforce_limits:
            day = int(now // 86_400)
            used = usage.get((token, day), 0)
            if used + len(fields) > per_day:
                return limited("Daily request limit exceeded", (day + 1) * 86_400 - now)
            usage[(token, day)] = used + len(fields)
        try:
            data = {f.alias or f.name: _execute(f, variables) for f in fields}
        except GraphQLError as exc:
            return SimResponse(200, exc.as_body())
        return SimResponse(200, {"data": data})

    def _execute(f: Field, variables: dict[str, Any]) -> Any:
        args = resolve(f.args, variables)
        path = f"$.selectionSet.{f.name}"
        tables: dict[str, list[dict[str, Any]]] = {
            "books": list(graph.books.values()),
            "series": list(graph.series.values()),
            "editions": graph.editions,
            "authors": list(graph.authors.values()),
        }
        if f.name == "search":
            value: Any = search(args)
        elif f.name in tables:
            value = apply_collection_args(tables[f.name], args, path)
        elif f.name.endswith("_by_pk") and f.name[:-6] in ("books", "series", "authors"):
            if set(args) != {"id"}:
                raise GraphQLError(f"'{f.name}' needs exactly the argument 'id'", path=path)
            table = tables[f.name[:-6]]
            value = next((r for r in table if r["id"] == args["id"]), None)
        elif f.name == "me":
            value = [{"__typename": "users", "id": 1, "username": "simulated"}]
        else:
            raise GraphQLError(f"field '{f.name}' not found in type: 'query_root'", path=path)
        if not f.selection:
            raise GraphQLError(f"missing selection set for '{f.name}'", path=path)
        return project(value, f.selection, variables, path)

    def search(args: dict[str, Any]) -> dict[str, Any]:
        query = str(args.get("query") or "")
        kind = str(args.get("query_type") or "book").lower()
        kind = {"books": "book", "authors": "author"}.get(kind, kind)
        per_page = int(args.get("per_page") or 25)
        page = int(args.get("page") or 1)
        out: dict[str, Any] = {
            "error": None,
            "ids": [],
            "page": page,
            "per_page": per_page,
            "query": query,
            "query_type": kind,
            "results": None,
        }
        if kind not in _SEARCH_FIELDS:
            out["error"] = f"Invalid query_type: {kind}"
            return out
        hits = index.search(kind, query)
        window = hits[(page - 1) * per_page : page * per_page]
        envelope = {
            "facet_counts": [],
            "found": len(hits),
            "hits": [{"document": doc, "highlight": {}, "text_match": score} for score, doc in window],
            "out_of": len(index.docs[kind]),
            "page": page,
            "request_params": {"per_page": per_page, "q": query},
            "search_time_ms": 1,
        }
        sim_state.extra["searches"] += 1
        as_string = results_encoding == "string" or (
            results_encoding == "alternate" and sim_state.extra["searches"] % 2 == 0
        )
        out["ids"] = [int(doc["id"]) for _, doc in window]
        out["results"] = orjson.dumps(envelope).decode() if as_string else envelope
        return out

    return SimApp(
        "hardcover",
        [route("POST", "/v1/graphql", "graphql", graphql)],
        error_body=error_body,
        partial_keys=PARTIAL_KEYS,
        required_keys=REQUIRED_KEYS,
        state=sim_state,
    )


def _check_field(f: Field, variables: dict[str, Any]) -> None:
    check_operators(resolve(f.args, variables))
    for inner in f.selection:
        _check_field(inner, variables)


class _SearchIndex:
    """Typesense-like ranking: query tokens matched (prefixes count), then matches in the first field
    (title or name, weighted highest), then an exact first-field match, then popularity."""

    def __init__(self, graph: HardcoverGraph) -> None:
        self.docs = {"book": graph.book_docs, "series": graph.series_docs, "author": graph.author_docs}
        self.tokens: dict[str, list[tuple[set[str], list[str]]]] = {
            kind: [
                (
                    set(tokens(" ".join(_text(doc.get(f)) for f in _SEARCH_FIELDS[kind]))),
                    tokens(_text(doc.get(_SEARCH_FIELDS[kind][0]))),
                )
                for doc in docs
            ]
            for kind, docs in self.docs.items()
        }

    def search(self, kind: str, query: str) -> list[tuple[int, dict[str, Any]]]:
        wanted = tokens(query)
        if not wanted:
            return []
        needed = max(1, math.ceil(0.6 * len(wanted)))
        ranked: list[tuple[tuple[int, int, int, int, int], int, dict[str, Any]]] = []
        for doc, (have, first) in zip(self.docs[kind], self.tokens[kind], strict=True):
            score = sum(1 for t in wanted if _hit(t, have))
            if score < needed:
                continue
            in_first = sum(1 for t in wanted if _hit(t, set(first)))
            rank = (-score, -in_first, int(first != wanted), -int(doc.get("users_count") or 0), int(doc["id"]))
            ranked.append((rank, score * 100 + in_first, doc))
        ranked.sort(key=lambda r: r[0])
        return [(text_match, doc) for _, text_match, doc in ranked]


def _hit(token: str, have: set[str]) -> bool:
    return token in have or (len(token) >= 3 and any(h.startswith(token) for h in have))


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value or "")
