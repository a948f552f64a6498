"""Opaque keyset cursors: stable under inserts, no OFFSET scans."""

from __future__ import annotations

import base64
import json
from typing import Any

from api.problems import Problem


def encode(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        raise Problem(400, "Invalid cursor", "the cursor is not one this API returned") from None
    if not isinstance(values, list) or len(values) != arity:
        raise Problem(400, "Invalid cursor", "the cursor is not one this API returned")
    return values
