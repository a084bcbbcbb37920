"""Issue 19: a challenge's description and place (public, analysts write them), a round's private analyst note

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 06:20:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('challenges', sa.Column('description', sa.Text(), nullable=True))
    op.add_column('challenges', sa.Column('place', sa.Text(), nullable=True))
    op.add_column('rounds', sa.Column('private_note', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('rounds', 'private_note')
    op.drop_column('challenges', 'place')
    op.drop_column('challenges', 'description')
