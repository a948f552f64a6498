"""item series claims: series memberships derived from each item's claims

Revision ID: c3e5a7d9f1b2
Revises: b7684e2df11e
Create Date: 2026-11-24 06:10:00

Why: memberships were only ever added, so an item removed from a series in ABS stayed in it here.
The backfill turns each existing membership into a claim by the item it came from (the only
claimer recorded so far); the next sync of a changed item corrects the rest.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3e5a7d9f1b2"
down_revision: str | None = "b7684e2df11e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "library_item_series",
        sa.Column("abs_id", sa.String(length=64), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.String(length=32), nullable=True),
        sa.Column("sort_key", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["abs_id"], ["library_items.abs_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("abs_id", "series_id"),
    )
    op.execute("""
        INSERT INTO library_item_series (abs_id, series_id, position, sort_key)
        SELECT m.source_item, m.series_id, m.position, m.sort_key
          FROM series_memberships m JOIN library_items i ON i.abs_id = m.source_item
        ON CONFLICT DO NOTHING
    """)


def downgrade() -> None:
    op.drop_table("library_item_series")
