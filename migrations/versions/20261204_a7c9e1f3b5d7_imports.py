"""imports: one row per completed download taken into the library, advanced step by step

Revision ID: a7c9e1f3b5d7
Revises: f6b8d0e2a4c6
Create Date: 2026-12-04 09:00:00

Why: an import links files, writes metadata.json, asks ABS to scan and PATCHes the item; a worker
can be killed between any two. The row (unique per download) is written first and advanced after
each effect, so a redelivered import resumes instead of repeating; its verdict, reason and probe
figures are what GET /api/v1/imports shows, and a rejected row is the memory that keeps the next
search from choosing the same torrent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'a7c9e1f3b5d7'
down_revision: str | None = 'f6b8d0e2a4c6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('imports',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('download_id', sa.BigInteger(), nullable=False),
    sa.Column('wanted_id', sa.Integer(), nullable=True),
    sa.Column('torrent_id', sa.BigInteger(), nullable=True),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('files', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('figures', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('book', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('source_path', sa.Text(), nullable=True),
    sa.Column('target_dir', sa.Text(), nullable=True),
    sa.Column('abs_path', sa.Text(), nullable=True),
    sa.Column('placement', sa.String(length=16), nullable=True),
    sa.Column('abs_library_id', sa.String(length=64), nullable=True),
    sa.Column('abs_item_id', sa.String(length=64), nullable=True),
    sa.Column('scans', sa.Integer(), nullable=False),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scan_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('found_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('patch_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('described_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['download_id'], ['downloads.id'], name=op.f('fk_imports_download_id_downloads'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['wanted_id'], ['wanted.id'], name=op.f('fk_imports_wanted_id_wanted'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imports')),
    sa.UniqueConstraint('download_id', name=op.f('uq_imports_download_id'))
    )
    op.create_index('ix_imports_torrent', 'imports', ['torrent_id'], unique=False)
    op.create_index('ix_imports_verdict', 'imports', ['verdict'], unique=False)
    op.create_index('ix_imports_wanted', 'imports', ['wanted_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_imports_wanted', table_name='imports')
    op.drop_index('ix_imports_verdict', table_name='imports')
    op.drop_index('ix_imports_torrent', table_name='imports')
    op.drop_table('imports')
