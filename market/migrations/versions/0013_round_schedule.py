"""A round's schedule (issue 19): when it opens and when it closes to pledges and bids

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 05:05:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('rounds', sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('rounds', sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('rounds', 'closes_at')
    op.drop_column('rounds', 'opens_at')
