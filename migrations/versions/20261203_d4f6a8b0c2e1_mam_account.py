"""mam account: session state, account snapshots, alerts, jobs parked on a gate

Revision ID: d4f6a8b0c2e1
Revises: c3e5a7d9f1b2
Create Date: 2026-12-03 09:10:00

Why: a 403 from MAM must stop every MAM job until a new cookie is entered. The session's state
lives in PostgreSQL so every worker on every host sees it; jobs waiting for it are ``waiting`` with
``parked_on`` naming the gate, so a release finds exactly them. Snapshots of the account's standing
are kept as a history for charts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d4f6a8b0c2e1"
down_revision: str | None = "c3e5a7d9f1b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("parked_on", sa.String(length=64), nullable=True))
    op.create_index("ix_jobs_parked_on", "jobs", ["parked_on"], unique=False,
                    postgresql_where=sa.text("parked_on IS NOT NULL"))
    op.create_table(
        "mam_sessions",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('valid', 'invalid')", name="mam_session_state_known"),
        sa.PrimaryKeyConstraint("account"),
    )
    op.create_table(
        "mam_account_snapshots",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=True),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("classname", sa.String(length=64), nullable=True),
        sa.Column("ratio", sa.Float(), nullable=True),
        sa.Column("uploaded_bytes", sa.BigInteger(), nullable=True),
        sa.Column("downloaded_bytes", sa.BigInteger(), nullable=True),
        sa.Column("seedbonus", sa.Float(), nullable=True),
        sa.Column("bonus_per_hour", sa.Float(), nullable=True),
        sa.Column("wedges", sa.Integer(), nullable=True),
        sa.Column("vip_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsat_count", sa.Integer(), nullable=True),
        sa.Column("unsat_limit", sa.Integer(), nullable=True),
        sa.Column("satisfied", sa.Integer(), nullable=True),
        sa.Column("seeding", sa.Integer(), nullable=True),
        sa.Column("leeching", sa.Integer(), nullable=True),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mam_account_snapshots_fetched", "mam_account_snapshots", ["account", "fetched_at", "id"],
                    unique=False)
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_alerts_open_kind", "alerts", ["kind"], unique=True,
                    postgresql_where=sa.text("resolved_at IS NULL"))


def downgrade() -> None:
    op.drop_index("uq_alerts_open_kind", table_name="alerts", postgresql_where=sa.text("resolved_at IS NULL"))
    op.drop_table("alerts")
    op.drop_index("ix_mam_account_snapshots_fetched", table_name="mam_account_snapshots")
    op.drop_table("mam_account_snapshots")
    op.drop_table("mam_sessions")
    op.drop_index("ix_jobs_parked_on", table_name="jobs", postgresql_where=sa.text("parked_on IS NOT NULL"))
    op.drop_column("jobs", "parked_on")
