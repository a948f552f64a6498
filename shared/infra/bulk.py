"""Many rows written in one statement: ``UPDATE ... FROM unnest(arrays)`` keyed by one column, and
``INSERT ... SELECT FROM unnest(arrays)``.

Why: a periodic job that reconciles thousands of rows (``download.monitor`` follows 10,000
torrents) would otherwise pay one round trip and one ORM object per row. One array per column,
sent as a single parameter each, keeps the statement's size independent of the row count and lets
PostgreSQL join the arrays to the table by key in one pass.

Each column's array is cast to the column's own type, so ``None`` values and an array of only
``None`` arrive as typed NULLs. PostgreSQL has no arrays of arrays, so a text-array column travels
as one string per row, its items joined by the unit separator (U+001F) and split again in SQL;
updates refuse array columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ARRAY, Dialect, Table, text
from sqlalchemy.orm import Session

#: Joins a text array's items into one string for the trip (and splits them back in SQL).
UNIT_SEPARATOR = "\x1f"


def _array_type(table: Table, column: str, dialect: Dialect) -> str:
    kind = table.c[column].type
    if isinstance(kind, ARRAY):
        raise ValueError(f"{table.name}.{column} is an array column: update it another way")
    return f"{kind.compile(dialect=dialect)}[]"


def update_rows(session: Session, table: Table, key: str, columns: Sequence[str],
                rows: Sequence[Sequence[Any]], *, same: Mapping[str, Any] | None = None) -> int:
    """Set ``columns`` of the rows whose ``key`` is each row's first value; ``rows`` hold the key
    then the columns' values, in order. ``same``: columns set to one value in every row (sent once,
    not as an array). Returns the number of rows updated (0 without a statement when ``rows`` is empty)."""
    if not rows:
        return 0
    names = [key, *columns]
    dialect = session.get_bind().dialect
    arrays = ", ".join(f"CAST(:p{i} AS {_array_type(table, name, dialect)})" for i, name in enumerate(names))
    constants = list((same or {}).items())
    sets = ", ".join([*(f'"{name}" = v."{name}"' for name in columns),
                      *(f'"{name}" = :s{i}' for i, (name, _) in enumerate(constants))])
    alias = ", ".join(f'"{name}"' for name in names)
    sql = (f'UPDATE "{table.name}" AS t SET {sets} FROM unnest({arrays}) AS v({alias}) '
           f'WHERE t."{key}" = v."{key}"')
    params = {f"p{i}": list(values) for i, values in enumerate(zip(*rows, strict=True))}
    params |= {f"s{i}": value for i, (_, value) in enumerate(constants)}
    result = session.execute(text(sql), params)
    return int(getattr(result, "rowcount", 0) or 0)


def _joined(items: Sequence[str] | None, column: str) -> str | None:
    if items is None:
        return None
    if any(UNIT_SEPARATOR in item for item in items):
        raise ValueError(f"{column}: an item holds U+001F, which cannot travel in a bulk insert")
    return UNIT_SEPARATOR.join(items)


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """Insert ``rows`` (values in ``columns``' order) in one statement; returns how many. Text-array
    columns take a list of strings per row (None: NULL, [] an empty array)."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect
    arrays: list[str] = []
    picks: list[str] = []
    params: dict[str, Any] = {}
    for i, (name, values) in enumerate(zip(columns, zip(*rows, strict=True), strict=True)):
        if isinstance(table.c[name].type, ARRAY):
            arrays.append(f"CAST(:p{i} AS text[])")
            picks.append(f"CASE WHEN v.\"{name}\" = '' THEN '{{}}'::text[] "
                         f"ELSE string_to_array(v.\"{name}\", chr(31)) END")
            params[f"p{i}"] = [_joined(v, name) for v in values]
        else:
            arrays.append(f"CAST(:p{i} AS {_array_type(table, name, dialect)})")
            picks.append(f'v."{name}"')
            params[f"p{i}"] = list(values)
    names = ", ".join(f'"{name}"' for name in columns)
    sql = (f'INSERT INTO "{table.name}" ({names}) SELECT {", ".join(picks)} '
           f'FROM unnest({", ".join(arrays)}) AS v({names})')
    result = session.execute(text(sql), params)
    return int(getattr(result, "rowcount", 0) or 0)
