"""Operator alerts: something a person must act on, queryable until resolved."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.infra.db import Base


class Alert(Base):
    """Something an operator must act on (``mam_session_invalid``); open while ``resolved_at`` is NULL.

    At most one open alert per kind: raising it again while open is a no-op."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("uq_alerts_open_kind", "kind", unique=True, postgresql_where=text("resolved_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
