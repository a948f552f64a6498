"""The ``import`` live event: an import advanced a step, reached its verdict, or noted an error.

Sent through the same channel as the download events (``shared/engine/events.py``), by
:func:`announce`, which ``shared.imports.records`` calls whenever it writes an import row (every
step of ``import.abs`` commits through it), keyed by the import: one event per import per
transaction, with the values of the last call (``records.touch`` announces after it writes).
``download_id`` is in it because a verdict also changes the download's ``import_state``: a page
showing the download reads it again.
"""

from __future__ import annotations

from typing import Any

from shared.engine import events
from shared.models.imports import Import

__all__ = ["announce", "import_event"]


def import_event(row: Import) -> dict[str, Any]:
    return {"kind": "import", "id": row.id, "download_id": row.download_id, "wanted_id": row.wanted_id,
            "step": row.step, "verdict": row.verdict, "failing": row.error is not None}


def announce(row: Import) -> None:
    """Publish ``row``'s event when its session commits (once per import per transaction)."""
    if row.id is not None:
        events.note_change(row, import_event(row), key=f"import:{row.id}")
