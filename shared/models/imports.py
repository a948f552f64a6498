"""The ``imports`` table: one row per completed download taken into the library (or refused).

Keyed by the download: a download is imported at most once, however often its job is delivered.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.infra.db import Base


class Import(Base):
    __tablename__ = "imports"
    __table_args__ = (
        Index("ix_imports_verdict", "verdict"),
        Index("ix_imports_torrent", "torrent_id"),
        Index("ix_imports_wanted", "wanted_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    download_id: Mapped[int] = mapped_column(ForeignKey("downloads.id", ondelete="RESTRICT"), unique=True)
    wanted_id: Mapped[int | None] = mapped_column(ForeignKey("wanted.id", ondelete="SET NULL"))
    torrent_id: Mapped[int | None] = mapped_column(BigInteger)
    step: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str | None] = mapped_column(String(16))  # None while in progress
    reason: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)  # the last error of an unfinished run
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)  # per file: ffprobe figures
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # totals, expectation, narrator, ABS check
    book: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # what was written: folder, metadata
    source_path: Mapped[str | None] = mapped_column(Text)  # the download, as this worker sees it
    target_dir: Mapped[str | None] = mapped_column(Text)  # the library folder, as this worker sees it
    abs_path: Mapped[str | None] = mapped_column(Text)  # the same folder, as ABS sees it
    placement: Mapped[str | None] = mapped_column(String(16))  # hardlink | copy
    abs_library_id: Mapped[str | None] = mapped_column(String(64))
    abs_item_id: Mapped[str | None] = mapped_column(String(64))
    scans: Mapped[int] = mapped_column(Integer, default=0)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    placed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scan_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    found_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    patch_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    described_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
