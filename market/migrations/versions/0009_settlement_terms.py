"""A round's settlement terms (issue 17): holdback percent, service period, review time; a table of its own

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 17:20:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not columns of `rounds`: on SQLite that would be a batch copy of a table other tables cascade from.
    op.create_table('settlement_terms',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('holdback_percent', sa.Integer(), nullable=False),
    sa.Column('service_days', sa.Integer(), nullable=False),
    sa.Column('review_days', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('holdback_percent >= 0 AND holdback_percent <= 50',
                       name=op.f('ck_settlement_terms_holdback_percent')),
    sa.CheckConstraint('service_days >= 0 AND service_days <= 3650', name=op.f('ck_settlement_terms_service_days')),
    sa.CheckConstraint('review_days >= 1 AND review_days <= 365', name=op.f('ck_settlement_terms_review_days')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_settlement_terms_round_id_rounds'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', name=op.f('pk_settlement_terms'))
    )


def downgrade() -> None:
    op.drop_table('settlement_terms')
