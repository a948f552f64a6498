"""The monitor's plain records (workers/download/cycle_rows.py) are built from query rows by position:
their fields must follow the columns read, in order, and each written column must be a table column."""

from __future__ import annotations

from dataclasses import fields

from shared.models.download import Download, Obligation
from workers.download import cycle_rows
from workers.download.cycle_rows import DownRec, ObRec


def test_records_take_the_columns_read_in_their_order() -> None:
    reads = cycle_rows._DOWNLOAD_READS
    assert tuple(f.name for f in fields(DownRec))[:len(reads)] == reads
    reads = cycle_rows._OBLIGATION_READS
    assert tuple(f.name for f in fields(ObRec))[:len(reads)] == reads


def test_every_column_written_is_a_column_of_its_table() -> None:
    assert set(cycle_rows._DOWNLOAD_READS) <= set(Download.__table__.c.keys())
    assert set(cycle_rows._OBLIGATION_READS) <= set(Obligation.__table__.c.keys())
    assert set(cycle_rows.OBLIGATION_CLOCK) <= set(cycle_rows.OBLIGATION_WRITES)
