"""Just enough GraphQL + Hasura semantics to simulate Hardcover faithfully.

Parses one operation (variables, aliases, arguments with object/list literals; no fragments or
directives) and executes it over plain dicts that carry their type in ``"__typename"``. Collections
accept Hasura's ``where`` (``_eq _neq _in _nin _is_null _gt _gte _lt _lte _and _or _not``; nested
object and array relationships), ``order_by`` (nulls last on asc, first on desc, like Postgres),
``distinct_on`` (NULLs collapse, like Postgres), ``limit`` and ``offset``. Selecting a field the
type lacks is a ``validation-failed`` error, which Hasura returns in an HTTP 200 body.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DISABLED_OPERATORS = frozenset(
    {"_like", "_ilike", "_nlike", "_nilike", "_regex", "_iregex", "_nregex", "_niregex", "_similar", "_nsimilar"}
)
_DIRECTIONS = frozenset({"asc", "desc", "asc_nulls_first", "asc_nulls_last", "desc_nulls_first", "desc_nulls_last"})
_SCALAR_OPS = frozenset({"_eq", "_neq", "_in", "_nin", "_is_null", "_gt", "_gte", "_lt", "_lte"})
_TOKEN = re.compile(
    r"(?P<skip>[\s,]+|#[^\n]*)|(?P<spread>\.\.\.)|(?P<punct>[!$():=@\[\]{}|])"
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<name>[_A-Za-z][_0-9A-Za-z]*)"
    r'|(?P<string>"(?:[^"\\\n]|\\.)*")'
)


class GraphQLError(Exception):
    def __init__(self, message: str, code: str = "validation-failed", path: str = "$") -> None:
        super().__init__(message)
        self.code = code
        self.path = path

    def as_body(self) -> dict[str, Any]:
        return {"errors": [{"message": str(self), "extensions": {"path": self.path, "code": self.code}}]}


class Forbidden(Exception):
    """A request Hardcover refuses with HTTP 403 (disabled operators, top-level limits)."""


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class EnumValue:
    value: str


@dataclass
class Field:
    name: str
    alias: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    selection: list[Field] = field(default_factory=list)


@dataclass
class Operation:
    kind: str
    name: str | None
    variables: dict[str, tuple[str, Any]]  # name -> (type text, default)
    selection: list[Field]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise GraphQLError(f"unexpected character {text[pos]!r} at {pos}", "parse-failed")
            kind = m.lastgroup or ""
            if kind != "skip":
                self.tokens.append((kind, m.group()))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("eof", "")

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        tok_kind, tok = self.peek()
        if (value is not None and tok != value) or (kind is not None and tok_kind != kind):
            raise GraphQLError(f"expected {value or kind}, found {tok or 'end of document'!r}", "parse-failed")
        self.i += 1
        return tok

    def document(self) -> Operation:
        kind, name = "query", None
        variables: dict[str, tuple[str, Any]] = {}
        if self.peek() == ("name", "query") or self.peek() == ("name", "mutation"):
            kind = self.take()
            if self.peek()[0] == "name":
                name = self.take()
            if self.peek()[1] == "(":
                self.take("(")
                while self.peek()[1] != ")":
                    self.take("$")
                    var = self.take(kind="name")
                    self.take(":")
                    type_text = self.type_ref()
                    default = None
                    if self.peek()[1] == "=":
                        self.take("=")
                        default = self.value()
                    variables[var] = (type_text, default)
                self.take(")")
        selection = self.selection_set()
        if self.peek()[0] != "eof":
            raise GraphQLError("only one operation per document is supported", "parse-failed")
        return Operation(kind, name, variables, selection)

    def type_ref(self) -> str:
        if self.peek()[1] == "[":
            self.take("[")
            inner = self.type_ref()
            self.take("]")
            text = f"[{inner}]"
        else:
            text = self.take(kind="name")
        if self.peek()[1] == "!":
            self.take("!")
            text += "!"
        return text

    def selection_set(self) -> list[Field]:
        self.take("{")
        fields: list[Field] = []
        while self.peek()[1] != "}":
            if self.peek()[0] == "spread":
                raise GraphQLError("fragments are not supported by this simulator", "parse-failed")
            first = self.take(kind="name")
            alias, name = (
                (first, self.take(kind="name")) if self.peek()[1] == ":" and self._skip(":") else (None, first)
            )
            args: dict[str, Any] = {}
            if self.peek()[1] == "(":
                self.take("(")
                while self.peek()[1] != ")":
                    key = self.take(kind="name")
                    self.take(":")
                    args[key] = self.value()
                self.take(")")
            selection = self.selection_set() if self.peek()[1] == "{" else []
            fields.append(Field(name, alias, args, selection))
        self.take("}")
        return fields

    def _skip(self, value: str) -> bool:
        self.take(value)
        return True

    def value(self) -> Any:
        kind, tok = self.peek()
        if tok == "$":
            self.take("$")
            return Var(self.take(kind="name"))
        if tok == "[":
            self.take("[")
            items = []
            while self.peek()[1] != "]":
                items.append(self.value())
            self.take("]")
            return items
        if tok == "{":
            self.take("{")
            obj: dict[str, Any] = {}
            while self.peek()[1] != "}":
                key = self.take(kind="name")
                self.take(":")
                obj[key] = self.value()
            self.take("}")
            return obj
        self.i += 1
        if kind == "string":
            return bytes(tok[1:-1], "utf-8").decode("unicode_escape")
        if kind == "number":
            return float(tok) if any(c in tok for c in ".eE") else int(tok)
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(tok, EnumValue(tok))
        raise GraphQLError(f"unexpected {tok or 'end of document'!r} where a value belongs", "parse-failed")


def parse(text: str) -> Operation:
    return _Parser(text).document()


def resolve(value: Any, variables: dict[str, Any]) -> Any:
    """Arguments with variables substituted and enum literals as plain strings."""
    if isinstance(value, Var):
        if value.name not in variables:
            raise GraphQLError(f'expecting a value for non-nullable variable: "{value.name}"')
        return variables[value.name]
    if isinstance(value, EnumValue):
        return value.value
    if isinstance(value, list):
        return [resolve(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, variables) for k, v in value.items()}
    return value


def check_operators(value: Any) -> None:
    """Raise :class:`Forbidden` if any argument uses a disabled text operator."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in DISABLED_OPERATORS:
                raise Forbidden("ilike and related operations are not permitted")
            check_operators(inner)
    elif isinstance(value, list):
        for inner in value:
            check_operators(inner)


def _matches(record: dict[str, Any], where: dict[str, Any], path: str) -> bool:
    for key, cond in where.items():
        if key in ("_and", "_or"):
            parts = cond if isinstance(cond, list) else [cond]
            results = [_matches(record, part, path) for part in parts]
            if not (all(results) if key == "_and" else any(results)):
                return False
            continue
        if key == "_not":
            if _matches(record, cond, path):
                return False
            continue
        if key not in record or key.startswith("__"):
            raise GraphQLError(
                f"field '{key}' not found in type: '{record.get('__typename')}_bool_exp'", path=f"{path}.where"
            )
        value = record[key]
        if isinstance(value, dict):
            if not _matches(value, cond, path):
                return False
        elif isinstance(value, list):
            if not any(_matches(item, cond, path) for item in value):
                return False
        elif not all(_scalar(value, op, arg, path) for op, arg in cond.items()):
            return False
    return True


def _scalar(value: Any, op: str, arg: Any, path: str) -> bool:
    if op not in _SCALAR_OPS:
        raise GraphQLError(f"field '{op}' not found in type: 'comparison_exp'", path=f"{path}.where")
    if op == "_is_null":
        return (value is None) == bool(arg)
    if op in ("_in", "_nin"):
        return (value in arg) == (op == "_in")
    if value is None or arg is None:
        return False
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "_eq": lambda a, b: bool(a == b),
        "_neq": lambda a, b: bool(a != b),
        "_gt": lambda a, b: bool(a > b),
        "_gte": lambda a, b: bool(a >= b),
        "_lt": lambda a, b: bool(a < b),
        "_lte": lambda a, b: bool(a <= b),
    }
    return compare[op](value, arg)


def _order_keys(spec: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    if isinstance(spec, list):
        return [k for item in spec for k in _order_keys(item, prefix)]
    if isinstance(spec, dict):
        out: list[tuple[tuple[str, ...], str]] = []
        for key, inner in spec.items():
            out += _order_keys(inner, (*prefix, key)) if isinstance(inner, dict) else [((*prefix, key), inner)]
        return out
    raise GraphQLError("order_by must be an object or a list of objects")


def _dig(record: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(record, dict):
            return None
        if key not in record:
            raise GraphQLError(f"field '{key}' not found in type: '{record.get('__typename')}_order_by'")
        record = record[key]
    return record


def apply_collection_args(items: list[dict[str, Any]], args: dict[str, Any], path: str) -> list[dict[str, Any]]:
    unknown = set(args) - {"where", "order_by", "distinct_on", "limit", "offset"}
    if unknown:
        raise GraphQLError(f"'{sorted(unknown)[0]}' is not a valid argument", path=path)
    out = [r for r in items if _matches(r, args.get("where") or {}, path)]
    for keys, direction in reversed(_order_keys(args.get("order_by") or [])):  # stable, last key first
        if direction not in _DIRECTIONS:
            raise GraphQLError(f"unexpected order_by value {direction!r}", path=path)
        descending = direction.startswith("desc")
        nulls_first = direction.endswith("nulls_first") or (descending and not direction.endswith("nulls_last"))
        nonnull = [r for r in out if _dig(r, keys) is not None]
        nulls = [r for r in out if _dig(r, keys) is None]
        nonnull.sort(key=functools.partial(_dig, path=keys), reverse=descending)
        out = nulls + nonnull if nulls_first else nonnull + nulls
    distinct = args.get("distinct_on")
    if distinct:
        columns = distinct if isinstance(distinct, list) else [distinct]
        seen: set[tuple[Any, ...]] = set()
        kept = []
        for r in out:
            marker = tuple(_dig(r, (c,)) for c in columns)
            if marker not in seen:
                seen.add(marker)
                kept.append(r)
        out = kept
    offset = int(args.get("offset") or 0)
    limit = args.get("limit")
    return out[offset : offset + int(limit)] if limit is not None else out[offset:]


def project(value: Any, fields: list[Field], variables: dict[str, Any], path: str) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [project(v, fields, variables, path) for v in value]
    if not isinstance(value, dict):
        raise GraphQLError(f"field '{path.rsplit('.', 1)[-1]}' is a scalar and has no selection set", path=path)
    typename = value.get("__typename", "jsonb")
    out: dict[str, Any] = {}
    for f in fields:
        key = f.alias or f.name
        if f.name == "__typename":
            out[key] = typename
            continue
        if f.name.startswith("__") or f.name not in value:
            raise GraphQLError(f"field '{f.name}' not found in type: '{typename}'", path=f"{path}.selectionSet")
        inner = value[f.name]
        if f.args:
            if not isinstance(inner, list):
                raise GraphQLError(f"'{f.name}' takes no arguments", path=f"{path}.{f.name}")
            inner = apply_collection_args(inner, resolve(f.args, variables), f"{path}.{f.name}")
        if f.selection:
            inner = project(inner, f.selection, variables, f"{path}.{f.name}")
        elif _is_object(inner):
            raise GraphQLError(f"missing selection set for '{f.name}'", path=f"{path}.{f.name}")
        out[key] = inner
    return out


def _is_object(value: Any) -> bool:
    if isinstance(value, dict):
        return "__typename" in value
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict) and "__typename" in value[0]
