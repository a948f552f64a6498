"""crawl search: candidates and decisions, wanted runtime/narrators and search pacing, aliases, snatch memory, app settings

Revision ID: e5a7c9d1f3b4
Revises: d4f6a8b0c2e1
Create Date: 2026-12-03 13:40:00

Why: ``crawl.search`` stores every decision with every candidate and its reasons (``mam_searches``,
``mam_candidates``), so "why this edition" and "why nothing" can be shown later. A wanted entry now
keeps what resolution learnt (runtime, narrators) for the size plausibility and narrator checks, and
its search pacing (when to look again after "nothing found"). A wishlist entry merged into another
keeps answering under its old id (``wanted_aliases``). MAM's ``my_snatched`` lags 5-20 minutes, so
the torrents this account snatched are remembered locally (``mam_snatched``). ``app_settings`` holds
settings a person edits through the API (the quality profile), as JSON.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e5a7c9d1f3b4"
down_revision: str | None = "d4f6a8b0c2e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("wanted", sa.Column("runtime_seconds", sa.Float(), nullable=True))
    op.add_column("wanted", sa.Column("narrators", postgresql.JSONB(astext_type=sa.Text()),
                                      server_default=sa.text("'[]'::jsonb"), nullable=False))
    op.add_column("wanted", sa.Column("last_searched_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("wanted", sa.Column("next_search_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("wanted", sa.Column("search_misses", sa.Integer(), server_default="0", nullable=False))
    op.add_column("wanted", sa.Column("chosen_torrent_id", sa.BigInteger(), nullable=True))
    op.add_column("wanted", sa.Column("last_search_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_wanted_next_search", "wanted", ["state", "next_search_at"], unique=False)
    op.create_table(
        "wanted_aliases",
        sa.Column("old_id", sa.Integer(), nullable=False),
        sa.Column("wanted_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["wanted_id"], ["wanted.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("old_id"),
    )
    op.create_table(
        "mam_searches",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("wanted_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("chosen_torrent_id", sa.BigInteger(), nullable=True),
        sa.Column("confident", sa.Boolean(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("rejection_counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("queries", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("target", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("account_class", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["wanted_id"], ["wanted.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("outcome IN ('chosen', 'nothing')", name="mam_search_outcome_known"),
    )
    op.create_index("ix_mam_searches_wanted", "mam_searches", ["wanted_id", "id"], unique=False)
    op.create_table(
        "mam_candidates",
        sa.Column("search_id", sa.BigInteger(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("torrent_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("chosen", sa.Boolean(), nullable=False),
        sa.Column("acceptable", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("item", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["search_id"], ["mam_searches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("search_id", "rank"),
    )
    op.create_table(
        "mam_snatched",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("torrent_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("wanted_id", sa.Integer(), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("account", "torrent_id"),
    )
    op.create_table(
        "app_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("app_settings")
    op.drop_table("mam_snatched")
    op.drop_table("mam_candidates")
    op.drop_index("ix_mam_searches_wanted", table_name="mam_searches")
    op.drop_table("mam_searches")
    op.drop_table("wanted_aliases")
    op.drop_index("ix_wanted_next_search", table_name="wanted")
    for column in ("last_search_id", "chosen_torrent_id", "search_misses", "next_search_at", "last_searched_at",
                   "narrators", "runtime_seconds"):
        op.drop_column("wanted", column)
