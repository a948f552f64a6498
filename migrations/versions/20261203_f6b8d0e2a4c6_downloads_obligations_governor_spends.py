"""downloads, seeding obligations, governor decisions, bonus-point spends

Revision ID: f6b8d0e2a4c6
Revises: e5a7c9d1f3b4
Create Date: 2026-12-03 13:51:01

Why: a grab is recorded before it acts and keyed by MAM's torrent id and the info-hash, so a
redelivered grab never adds twice; each spend is recorded before it is made (unique key), so it is
never made twice; each completed download owes seeding time, kept in PostgreSQL so it survives
qBittorrent and worker restarts; every decision that grabs, waits or spends is kept with its reason.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'f6b8d0e2a4c6'
down_revision: str | None = 'e5a7c9d1f3b4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('governor_decisions',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('wanted_id', sa.Integer(), nullable=True),
    sa.Column('torrent_id', sa.BigInteger(), nullable=True),
    sa.Column('download_id', sa.BigInteger(), nullable=True),
    sa.Column('job_id', sa.Uuid(), nullable=True),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_governor_decisions'))
    )
    op.create_index('ix_governor_decisions_at', 'governor_decisions', ['at'], unique=False)
    op.create_table('mam_spends',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('spendtype', sa.String(length=16), nullable=False),
    sa.Column('torrent_id', sa.BigInteger(), nullable=True),
    sa.Column('amount', sa.Float(), nullable=True),
    sa.Column('points', sa.Float(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mam_spends')),
    sa.UniqueConstraint('key', name=op.f('uq_mam_spends_key'))
    )
    op.create_table('downloads',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('wanted_id', sa.Integer(), nullable=True),
    sa.Column('torrent_id', sa.BigInteger(), nullable=True),
    sa.Column('info_hash', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('category', sa.String(length=255), nullable=True),
    sa.Column('tags', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('save_path', sa.Text(), nullable=True),
    sa.Column('content_path', sa.Text(), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('ratio', sa.Float(), nullable=True),
    sa.Column('uploaded_bytes', sa.BigInteger(), nullable=True),
    sa.Column('downloaded_bytes', sa.BigInteger(), nullable=True),
    sa.Column('qbit_state', sa.String(length=32), nullable=True),
    sa.Column('cost_kind', sa.String(length=16), nullable=True),
    sa.Column('torrent_file', sa.LargeBinary(), nullable=True),
    sa.Column('job_id', sa.Uuid(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('import_state', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_progress_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stalled_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reannounced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['wanted_id'], ['wanted.id'], name=op.f('fk_downloads_wanted_id_wanted'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_downloads')),
    sa.UniqueConstraint('info_hash', name=op.f('uq_downloads_info_hash')),
    sa.UniqueConstraint('torrent_id', name=op.f('uq_downloads_torrent_id'))
    )
    op.create_index('ix_downloads_state', 'downloads', ['state'], unique=False)
    op.create_index('ix_downloads_wanted', 'downloads', ['wanted_id'], unique=False)
    op.create_table('seeding_obligations',
    sa.Column('download_id', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('required_seconds', sa.Integer(), nullable=False),
    sa.Column('window_seconds', sa.Integer(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seeded_seconds', sa.Float(), nullable=False),
    sa.Column('qbit_seeding_time', sa.Integer(), nullable=True),
    sa.Column('last_tick_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('met_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('risk_reason', sa.Text(), nullable=True),
    sa.Column('risk_since', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['download_id'], ['downloads.id'], name=op.f('fk_seeding_obligations_download_id_downloads'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('download_id', name=op.f('pk_seeding_obligations'))
    )
    op.create_index('ix_obligations_state', 'seeding_obligations', ['state'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_obligations_state', table_name='seeding_obligations')
    op.drop_table('seeding_obligations')
    op.drop_index('ix_downloads_wanted', table_name='downloads')
    op.drop_index('ix_downloads_state', table_name='downloads')
    op.drop_table('downloads')
    op.drop_table('mam_spends')
    op.drop_index('ix_governor_decisions_at', table_name='governor_decisions')
    op.drop_table('governor_decisions')
