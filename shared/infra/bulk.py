"""Many rows updated in one statement: ``UPDATE ... FROM unnest(arrays)``, keyed by one column.

Why: a periodic job that reconciles thousands of rows (``download.monitor`` follows 10,000
torrents) would otherwise pay one round trip and one ORM object per row. One array per column,
sent as a single parameter each, keeps the statement's size independent of the row count and lets
PostgreSQL join the arrays to the table by key in one pass.

Each column's array is cast to the column's own type, so ``None`` values and an array of only
``None`` arrive as typed NULLs. Array columns are not supported (PostgreSQL has no arrays of arrays).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, Dialect, Table, text
from sqlalchemy.orm import Session


def _array_type(table: Table, column: str, dialect: Dialect) -> str:
    kind = table.c[column].type
    if isinstance(kind, ARRAY):
        raise ValueError(f"{table.name}.{column} is an array column: update it another way")
    return f"{kind.compile(dialect=dialect)}[]"


def update_rows(session: Session, table: Table, key: str, columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> int:
    """Set ``columns`` of the rows whose ``key`` is each row's first value; ``rows`` hold the key
    then the columns' values, in order. Returns the number of rows updated (0 without a statement
    when ``rows`` is empty)."""
    if not rows:
        return 0
    names = [key, *columns]
    dialect = session.get_bind().dialect
    arrays = ", ".join(f"CAST(:p{i} AS {_array_type(table, name, dialect)})" for i, name in enumerate(names))
    sets = ", ".join(f'"{name}" = v."{name}"' for name in columns)
    alias = ", ".join(f'"{name}"' for name in names)
    sql = (f'UPDATE "{table.name}" AS t SET {sets} FROM unnest({arrays}) AS v({alias}) '
           f'WHERE t."{key}" = v."{key}"')
    params = {f"p{i}": list(values) for i, values in enumerate(zip(*rows, strict=True))}
    result = session.execute(text(sql), params)
    return int(getattr(result, "rowcount", 0) or 0)
