"""Clearing jobs: a clearing runs in a worker, its state and progress in this table; at most one queued or
running job per round (a partial unique index)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 02:10:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

ACTIVE = sa.text("state IN ('queued', 'running')")


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('backend', sa.String(length=16), nullable=False),
    sa.Column('time_limit', sa.Double(), nullable=True),
    sa.Column('gap', sa.Double(), nullable=True),
    sa.Column('explain', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('retry_of', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('worker', sa.String(length=200), nullable=True),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=True),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.Column('incumbent', sa.Double(), nullable=True),
    sa.Column('bound', sa.Double(), nullable=True),
    sa.Column('rel_gap', sa.Double(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.CheckConstraint("state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
                       name=op.f('ck_jobs_state')),
    sa.CheckConstraint('time_limit IS NULL OR time_limit > 0', name=op.f('ck_jobs_time_limit')),
    sa.CheckConstraint('gap IS NULL OR (gap >= 0 AND gap < 1)', name=op.f('ck_jobs_gap')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_jobs_round_id_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_jobs_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['retry_of'], ['jobs.id'], name=op.f('fk_jobs_retry_of_jobs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['clearing_runs.id'], name=op.f('fk_jobs_run_id_clearing_runs'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    op.create_index(op.f('ix_jobs_round_id'), 'jobs', ['round_id'], unique=False)
    op.create_index(op.f('ix_jobs_user_id'), 'jobs', ['user_id'], unique=False)
    op.create_index('uq_jobs_active_round', 'jobs', ['round_id'], unique=True, postgresql_where=ACTIVE,
                    sqlite_where=ACTIVE)


def downgrade() -> None:
    op.drop_index('uq_jobs_active_round', table_name='jobs')
    op.drop_index(op.f('ix_jobs_user_id'), table_name='jobs')
    op.drop_index(op.f('ix_jobs_round_id'), table_name='jobs')
    op.drop_table('jobs')
