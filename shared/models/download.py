"""The download domain's tables: downloads, their seeding obligations, the governor's decisions
and every bonus-point spend (recorded before it is made, settled after)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.infra.db import Base


class Download(Base):
    """One torrent we grabbed (or found in our category): ``torrent_id`` and ``info_hash`` are its keys."""

    __tablename__ = "downloads"
    __table_args__ = (
        Index("ix_downloads_state", "state"),
        Index("ix_downloads_wanted", "wanted_id"),
        {"postgresql_with": {"fillfactor": 80}},  # room for the monitor's updates on the same page (HOT)
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    wanted_id: Mapped[int | None] = mapped_column(ForeignKey("wanted.id", ondelete="SET NULL"))
    torrent_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)  # MAM's id; None: added by hand
    info_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # v1 hex, lower case
    state: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="grab")  # grab | manual
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    save_path: Mapped[str | None] = mapped_column(Text)
    content_path: Mapped[str | None] = mapped_column(Text)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    ratio: Mapped[float | None] = mapped_column(Float)
    uploaded_bytes: Mapped[int | None] = mapped_column(BigInteger)
    downloaded_bytes: Mapped[int | None] = mapped_column(BigInteger)
    qbit_state: Mapped[str | None] = mapped_column(String(32))
    cost_kind: Mapped[str | None] = mapped_column(String(16))  # free | wedge | ratio, as decided
    torrent_file: Mapped[bytes | None] = mapped_column(LargeBinary)  # Fernet-encrypted: the announce URL is personal
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    error: Mapped[str | None] = mapped_column(Text)
    import_state: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    added_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_progress_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stalled_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reannounced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The torrent's tracker list as the monitor last read it (a few torrents per cycle, round-robin):
    # seeding time is credited only while it says "working" and is fresh (shared/download/tracker_checks.py).
    tracker_working: Mapped[bool | None] = mapped_column(Boolean)
    tracker_message: Mapped[str | None] = mapped_column(Text)
    tracker_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Obligation(Base):
    """What MAM requires of one completed download: ``required_seconds`` seeded within the window."""

    __tablename__ = "seeding_obligations"
    # Half-empty pages: every monitor cycle rewrites each owing row, and an update that stays on its
    # page (HOT) writes no index and leaves no bloat (see the migration b8d0f2a4c6e8).
    __table_args__ = (Index("ix_obligations_state", "state"), {"postgresql_with": {"fillfactor": 50}})

    download_id: Mapped[int] = mapped_column(ForeignKey("downloads.id", ondelete="RESTRICT"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    required_seconds: Mapped[int] = mapped_column(Integer)
    window_seconds: Mapped[int] = mapped_column(Integer)
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seeded_seconds: Mapped[float] = mapped_column(Float, default=0.0)  # our clock: seeding cycles observed
    qbit_seeding_time: Mapped[int | None] = mapped_column(Integer)  # qBittorrent's counter, last seen
    last_tick_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    met_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    risk_reason: Mapped[str | None] = mapped_column(Text)
    risk_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class GovernorDecision(Base):
    """One decision that grabs, waits or spends, with its reason (also under a dry run)."""

    __tablename__ = "governor_decisions"
    __table_args__ = (Index("ix_governor_decisions_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    kind: Mapped[str] = mapped_column(String(16))  # grab | wait | spend | refuse
    reason: Mapped[str] = mapped_column(Text)
    wanted_id: Mapped[int | None] = mapped_column(Integer)
    torrent_id: Mapped[int | None] = mapped_column(BigInteger)
    download_id: Mapped[int | None] = mapped_column(BigInteger)
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class Spend(Base):
    """A bonus-point purchase, recorded before it is made (``intended``) and settled after.

    ``key`` makes it idempotent: ``wedge:<torrent_id>``, ``vip:<date>``, ``upload:<date>:<n>``; a
    grab redelivered after a kill finds its wedge already ``done`` (or ``intended``: then MAM's
    answer decides, never a second purchase)."""

    __tablename__ = "mam_spends"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    spendtype: Mapped[str] = mapped_column(String(16))  # personalFL | upload | VIP
    torrent_id: Mapped[int | None] = mapped_column(BigInteger)
    amount: Mapped[float | None] = mapped_column(Float)
    points: Mapped[float | None] = mapped_column(Float)  # what it is expected to cost
    state: Mapped[str] = mapped_column(String(16))  # intended | done | failed | unknown
    reason: Mapped[str] = mapped_column(Text)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    response: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
