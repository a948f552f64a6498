"""The MAM account's tables: its session state and its standing over time (alerts: models/alerts.py).

``mam_sessions`` has one row per account (today one, ``main``). ``epoch`` counts the cookies an
operator entered: a 403 marks the session invalid only if it came from the current epoch's cookie,
and a renewed cookie is kept only for the epoch that received it, so a late answer to an old cookie
can neither undo nor overwrite a value just entered.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    func,
)
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


SEARCH_OUTCOMES = ("chosen", "nothing")


class MamSearch(Base):
    """One ``crawl.search`` decision for a wanted entry: what was asked, what was chosen, and why."""

    __tablename__ = "mam_searches"
    __table_args__ = (
        CheckConstraint(f"outcome IN {SEARCH_OUTCOMES!r}", name="mam_search_outcome_known"),
        Index("ix_mam_searches_wanted", "wanted_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    wanted_id: Mapped[int] = mapped_column(ForeignKey("wanted.id", ondelete="CASCADE"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16))
    chosen_torrent_id: Mapped[int | None] = mapped_column(BigInteger)
    confident: Mapped[bool] = mapped_column(Boolean)
    dry_run: Mapped[bool] = mapped_column(Boolean)
    summary: Mapped[str] = mapped_column(Text)
    rejection_counts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    queries: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)  # each strategy run, rows, cached?
    target: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # what the entry knew when judged
    account_class: Mapped[str | None] = mapped_column(String(64))


class MamCandidate(Base):
    """One row of a search as judged: ``item`` is ``Candidate.as_dict()`` (score, cost, rejections)."""

    __tablename__ = "mam_candidates"

    search_id: Mapped[int] = mapped_column(ForeignKey("mam_searches.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    torrent_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(Text)
    chosen: Mapped[bool] = mapped_column(Boolean)
    acceptable: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[float] = mapped_column(Float)
    item: Mapped[dict[str, Any]] = mapped_column(JSONB)


class MamSnatched(Base):
    """A torrent this account snatched, remembered locally: MAM's ``my_snatched`` lags 5-20 minutes.

    ``source`` is ``mam`` (seen in a ``my_snatched`` answer) or ``grab`` (the download pool took it).
    """

    __tablename__ = "mam_snatched"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    torrent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(16))
    wanted_id: Mapped[int | None] = mapped_column(Integer)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AppSetting(Base):
    """A setting a person edits through the API (not the environment), as JSON: the quality profile."""

    __tablename__ = "app_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
