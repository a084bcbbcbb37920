"""Milestones (issue 17): one per awarded item and its holdback, made when a clearing is committed, and what
each pledge pays of each

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 17:10:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('milestones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('bid_item_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('service_days', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('delivery', 'holdback')", name=op.f('ck_milestones_kind')),
    sa.CheckConstraint("state IN ('open')", name=op.f('ck_milestones_state')),
    sa.CheckConstraint('amount_cents >= 0', name=op.f('ck_milestones_amount')),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_milestones_quantity')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_milestones_round_id_rounds')),
    sa.ForeignKeyConstraint(['award_id'], ['awards.id'], name=op.f('fk_milestones_award_id_awards')),
    sa.ForeignKeyConstraint(['bid_item_id'], ['bid_items.id'], name=op.f('fk_milestones_bid_item_id_bid_items')),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_milestones_component_id_components')),
    sa.ForeignKeyConstraint(['actor_id'], ['round_actors.id'], name=op.f('fk_milestones_actor_id_round_actors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_milestones')),
    sa.UniqueConstraint('bid_item_id', 'kind', name=op.f('uq_milestones_bid_item_id_kind'))
    )
    for column in ('round_id', 'award_id', 'bid_item_id', 'component_id', 'actor_id'):
        op.create_index(op.f(f'ix_milestones_{column}'), 'milestones', [column], unique=False)
    op.create_table('milestone_funding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_milestone_funding_amount')),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestones.id'],
                            name=op.f('fk_milestone_funding_milestone_id_milestones')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledges.id'], name=op.f('fk_milestone_funding_pledge_id_pledges')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_milestone_funding')),
    sa.UniqueConstraint('milestone_id', 'pledge_id', name=op.f('uq_milestone_funding_milestone_id_pledge_id'))
    )
    op.create_index(op.f('ix_milestone_funding_milestone_id'), 'milestone_funding', ['milestone_id'], unique=False)
    op.create_index(op.f('ix_milestone_funding_pledge_id'), 'milestone_funding', ['pledge_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_milestone_funding_pledge_id'), table_name='milestone_funding')
    op.drop_index(op.f('ix_milestone_funding_milestone_id'), table_name='milestone_funding')
    op.drop_table('milestone_funding')
    for column in ('actor_id', 'component_id', 'bid_item_id', 'award_id', 'round_id'):
        op.drop_index(op.f(f'ix_milestones_{column}'), table_name='milestones')
    op.drop_table('milestones')
