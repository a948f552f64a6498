"""The MAM account's tables: its session state and its standing over time (alerts: models/alerts.py).

``mam_sessions`` has one row per account (today one, ``main``). ``epoch`` counts the cookies an
operator entered: a 403 marks the session invalid only if it came from the current epoch's cookie,
and a renewed cookie is kept only for the epoch that received it, so a late answer to an old cookie
can neither undo nor overwrite a value just entered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Float, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.infra.db import Base

SESSION_STATES = ("valid", "invalid")


class MamSession(Base):
    __tablename__ = "mam_sessions"
    __table_args__ = (CheckConstraint(f"state IN {SESSION_STATES!r}", name="mam_session_state_known"),)

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    renewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MamAccountSnapshot(Base):
    """One ``jsonLoad.php?snatch_summary`` answer, parsed; ``raw`` is the answer without secrets."""

    __tablename__ = "mam_account_snapshots"
    __table_args__ = (Index("ix_mam_account_snapshots_fetched", "account", "fetched_at", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    uid: Mapped[int | None] = mapped_column(BigInteger)
    username: Mapped[str | None] = mapped_column(String(255))
    classname: Mapped[str | None] = mapped_column(String(64))
    ratio: Mapped[float | None] = mapped_column(Float)
    uploaded_bytes: Mapped[int | None] = mapped_column(BigInteger)
    downloaded_bytes: Mapped[int | None] = mapped_column(BigInteger)
    seedbonus: Mapped[float | None] = mapped_column(Float)
    bonus_per_hour: Mapped[float | None] = mapped_column(Float)
    wedges: Mapped[int | None] = mapped_column(Integer)
    vip_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unsat_count: Mapped[int | None] = mapped_column(Integer)
    unsat_limit: Mapped[int | None] = mapped_column(Integer)
    satisfied: Mapped[int | None] = mapped_column(Integer)
    seeding: Mapped[int | None] = mapped_column(Integer)
    leeching: Mapped[int | None] = mapped_column(Integer)
    raw: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
