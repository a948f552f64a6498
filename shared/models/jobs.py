"""The job ledger and the gateway's own tables.

The ledger is the record of every job (Flower is only the live view) and the outbox: a job the
ledger says is queued but Redis lost is published again by the sweeper. Columns exist for the
decisions the claim and the sweeper make; see shared/engine/ledger.py for those rules.
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
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.infra.db import Base

JOB_STATES = ("queued", "waiting", "running", "retrying", "succeeded", "failed", "dead", "cancelled")
ACTIVE_STATES = ("queued", "waiting", "running", "retrying")
TERMINAL_STATES = ("succeeded", "failed", "dead", "cancelled")
_ACTIVE_SQL = "state IN ('queued', 'waiting', 'running', 'retrying')"


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"state IN {JOB_STATES!r}", name="state_known"),
        Index("ix_jobs_state_type", "state", "type"),
        Index("ix_jobs_created", "created_at", "id"),
        Index("ix_jobs_parent", "parent_id"),
        Index("uq_jobs_dedupe_active", "dedupe_key", unique=True, postgresql_where=text(_ACTIVE_SQL)),
        Index(
            "ix_jobs_pending_due",
            "dispatched_at",
            postgresql_where=text("state IN ('queued', 'retrying')"),
        ),
        Index("ix_jobs_running_heartbeat", "heartbeat_at", postgresql_where=text("state = 'running'")),
        Index("ix_jobs_parked_on", "parked_on", postgresql_where=text("parked_on IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    type: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(32))
    args: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    generation: Mapped[int] = mapped_column(Integer, default=1)
    dispatch_seq: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lifetime_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rate_limit_waits: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    running_attempt_id: Mapped[int | None] = mapped_column(BigInteger)
    result: Mapped[Any | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    correlation_id: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("jobs.id", ondelete="SET NULL")
    )
    children_pending: Mapped[int] = mapped_column(Integer, default=0)
    children_failed: Mapped[int] = mapped_column(Integer, default=0)
    phase: Mapped[str | None] = mapped_column(String(32))
    #: A ``waiting`` job with no children waits for this gate to open (``gates.park``/``release``).
    parked_on: Mapped[str | None] = mapped_column(String(64))
    progress_done: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_total: Mapped[int | None] = mapped_column(BigInteger)
    dedupe_key: Mapped[str | None] = mapped_column(String(255))
    schedule_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    attempt_rows: Mapped[list[JobAttempt]] = relationship(
        back_populates="job", order_by="JobAttempt.id", cascade="all, delete-orphan", passive_deletes=True
    )


class JobAttempt(Base):
    """One run of a job: who ran it, when, and how it ended. Rate-limit waits are not attempts."""

    __tablename__ = "job_attempts"
    __table_args__ = (Index("ix_job_attempts_job", "job_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("jobs.id", ondelete="CASCADE"))
    generation: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    error: Mapped[str | None] = mapped_column(Text)

    job: Mapped[Job] = relationship(back_populates="attempt_rows")


class ApiKey(Base):
    """API keys are stored as SHA-256 hashes; the key itself is shown once, at creation."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StoredSecret(Base):
    """A secret set through the API (e.g. the ABS token), Fernet-encrypted with MAMC_SECRET_KEY."""

    __tablename__ = "stored_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class PoolState(Base):
    """Operator intent per pool (paused or not); workers re-read it when they start."""

    __tablename__ = "pool_state"

    pool: Mapped[str] = mapped_column(String(32), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class JobProgress(Base):
    """One contributor's share of a root job's progress, stored as absolute numbers.

    Children of a fan-out report here (upserted by contributor), so a child that runs twice
    reports the same figures twice instead of adding them up.
    """

    __tablename__ = "job_progress"

    root_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("jobs.id", ondelete="CASCADE"),
                                               primary_key=True)
    contributor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
