"""series listing entries keep the runtime and narrators of the recording

Revision ID: c9e1a3b5d7f9
Revises: b8d0f2a4c6e8
Create Date: 2026-12-05 09:00:00

Why: a series gap became a wanted entry without its runtime or narrators (the listing stored only
title, authors, ASIN and dates), so the import could never compare a download's duration with the
runtime metadata gives, and the edition choice could not prefer the expected narrator, for the very
books gap detection finds. The listing's product details carry both; now they are kept.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'c9e1a3b5d7f9'
down_revision: str | None = 'b8d0f2a4c6e8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('provider_series_entries', sa.Column('duration_seconds', sa.Integer(), nullable=True))
    op.add_column('provider_series_entries',
                  sa.Column('narrators', postgresql.JSONB(astext_type=sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column('provider_series_entries', 'narrators')
    op.drop_column('provider_series_entries', 'duration_seconds')
