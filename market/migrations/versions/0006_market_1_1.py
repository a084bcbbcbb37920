"""Market format 1.1: a pledge's min_spend, max_challenge_share and conditions (its scope's all_tags and
exclude_tags live in the scope's JSON, which needs no change), and a bid fixed by an analyst, with why

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 11:45:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('pledges') as batch:
        batch.add_column(sa.Column('min_spend_cents', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('max_challenge_share', sa.Double(), nullable=True))
        batch.add_column(sa.Column('conditions', sa.JSON(), nullable=True))
        batch.create_check_constraint(
            op.f('ck_pledges_min_spend'),
            'min_spend_cents IS NULL OR (min_spend_cents > 0 AND min_spend_cents <= amount_cents)')
        batch.create_check_constraint(
            op.f('ck_pledges_max_challenge_share'),
            'max_challenge_share IS NULL OR (max_challenge_share > 0 AND max_challenge_share <= 1)')
    with op.batch_alter_table('bids') as batch:
        # Every bid already there is not fixed: the server default fills the column.
        batch.add_column(sa.Column('fixed', sa.Boolean(), server_default='0', nullable=False))
        batch.add_column(sa.Column('fixed_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bids') as batch:
        batch.drop_column('fixed_reason')
        batch.drop_column('fixed')
    with op.batch_alter_table('pledges') as batch:
        batch.drop_constraint(op.f('ck_pledges_max_challenge_share'), type_='check')
        batch.drop_constraint(op.f('ck_pledges_min_spend'), type_='check')
        batch.drop_column('conditions')
        batch.drop_column('max_challenge_share')
        batch.drop_column('min_spend_cents')
