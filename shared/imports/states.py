"""Where an import is (its step) and how it ended (its verdict). Plain names stored as strings.

Why steps: an import has effects outside our database (files linked, ``metadata.json`` written, a
scan asked for, metadata PATCHed) and a worker can be killed between any two. The ``imports`` row
is written before the first effect and its step advanced after each, so a redelivered job resumes
at the step it reached: the same folder (its path is stored before any file is linked), the same
ABS item (found by that path), and the PATCH sent once (``patch_sent_at`` is stored before it is
sent; a redelivery that finds it set reads the item back instead of sending again).
"""

from __future__ import annotations

from enum import StrEnum


class Step(StrEnum):
    NEW = "new"  # recorded; nothing checked yet
    VERIFIED = "verified"  # the files passed verification and no copy is owned
    PLACED = "placed"  # every file linked (or copied) and metadata.json written
    FOUND = "found"  # ABS scanned the folder: abs_item_id is known and checked
    DESCRIBED = "described"  # metadata PATCHed and read back
    DONE = "done"  # a verdict is recorded


ORDER = tuple(Step)


def reached(current: str, step: Step) -> bool:
    """Has an import at ``current`` done ``step`` already?"""
    return ORDER.index(Step(current)) >= ORDER.index(step)


class Verdict(StrEnum):
    IMPORTED = "imported"  # in the library, described, the wanted entry imported
    REJECTED = "rejected"  # the wrong recording: not placed, the torrent remembered, the entry wanted again
    ALREADY_OWNED = "already_owned"  # the library holds the book: not placed, the entry imported
    FAILED = "failed"  # could not finish (the reason says why); retry with POST /api/v1/imports/{id}/retry


class Placement(StrEnum):
    HARDLINK = "hardlink"
    COPY = "copy"  # only when the download and the library are on different filesystems (EXDEV)
