"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 18:58:49.859402
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'open', 'closed', 'cleared')", name=op.f('ck_rounds_status')),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_rounds_currency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rounds'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('funder', 'actor', 'analyst', 'admin')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('who', sa.String(length=254), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=True),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_log_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_user_id'), ['user_id'], unique=False)

    op.create_table('challenges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('reliability', sa.Double(), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('reliability IS NULL OR (reliability > 0 AND reliability <= 1)', name=op.f('ck_challenges_reliability')),
    sa.CheckConstraint('value >= 0', name=op.f('ck_challenges_value')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_challenges_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_challenges')),
    sa.UniqueConstraint('round_id', 'key', name=op.f('uq_challenges_round_id_key'))
    )
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_challenges_round_id'), ['round_id'], unique=False)

    op.create_table('clearing_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('backend', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('seconds', sa.Double(), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('cost_cents', sa.BigInteger(), nullable=False),
    sa.Column('market', sa.JSON(), nullable=False),
    sa.Column('allocation', sa.JSON(), nullable=False),
    sa.Column('is_result', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('cost_cents >= 0', name=op.f('ck_clearing_runs_cost')),
    sa.CheckConstraint('seconds >= 0', name=op.f('ck_clearing_runs_seconds')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_clearing_runs_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clearing_runs'))
    )
    with op.batch_alter_table('clearing_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clearing_runs_round_id'), ['round_id'], unique=False)

    op.create_table('round_actors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('reliability', sa.Double(), nullable=True),
    sa.Column('has_capacity', sa.Boolean(), nullable=False),
    sa.Column('budget_cents', sa.BigInteger(), nullable=True),
    sa.Column('capacity_load', sa.Double(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('budget_cents IS NULL OR budget_cents >= 0', name=op.f('ck_round_actors_budget')),
    sa.CheckConstraint('capacity_load IS NULL OR capacity_load >= 0', name=op.f('ck_round_actors_load')),
    sa.CheckConstraint('reliability IS NULL OR (reliability > 0 AND reliability <= 1)', name=op.f('ck_round_actors_reliability')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_round_actors_round_id_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_round_actors_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_actors')),
    sa.UniqueConstraint('round_id', 'key', name=op.f('uq_round_actors_round_id_key')),
    sa.UniqueConstraint('round_id', 'user_id', name=op.f('uq_round_actors_round_id_user_id'))
    )
    with op.batch_alter_table('round_actors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_actors_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_round_actors_user_id'), ['user_id'], unique=False)

    op.create_table('round_funders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_round_funders_round_id_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_round_funders_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_funders')),
    sa.UniqueConstraint('round_id', 'key', name=op.f('uq_round_funders_round_id_key')),
    sa.UniqueConstraint('round_id', 'user_id', name=op.f('uq_round_funders_round_id_user_id'))
    )
    with op.batch_alter_table('round_funders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_funders_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_round_funders_user_id'), ['user_id'], unique=False)

    op.create_table('bids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('reliability', sa.Double(), nullable=True),
    sa.Column('load', sa.Double(), nullable=False),
    sa.Column('exclusive_group', sa.Text(), nullable=True),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('load >= 0', name=op.f('ck_bids_load')),
    sa.CheckConstraint('reliability IS NULL OR (reliability > 0 AND reliability <= 1)', name=op.f('ck_bids_reliability')),
    sa.ForeignKeyConstraint(['actor_id'], ['round_actors.id'], name=op.f('fk_bids_actor_id_round_actors'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_bids_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bids')),
    sa.UniqueConstraint('round_id', 'key', name=op.f('uq_bids_round_id_key'))
    )
    with op.batch_alter_table('bids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bids_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bids_round_id'), ['round_id'], unique=False)

    op.create_table('components',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('unit', sa.Text(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('critical', sa.Boolean(), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('requires', sa.JSON(), nullable=False),
    sa.Column('min_reliability', sa.Double(), nullable=True),
    sa.Column('max_unit_price_cents', sa.BigInteger(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('max_unit_price_cents IS NULL OR max_unit_price_cents >= 0', name=op.f('ck_components_max_unit_price')),
    sa.CheckConstraint('min_reliability IS NULL OR (min_reliability > 0 AND min_reliability <= 1)', name=op.f('ck_components_min_reliability')),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_components_quantity')),
    sa.CheckConstraint('value >= 0', name=op.f('ck_components_value')),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'], name=op.f('fk_components_challenge_id_challenges'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_components')),
    sa.UniqueConstraint('challenge_id', 'key', name=op.f('uq_components_challenge_id_key'))
    )
    with op.batch_alter_table('components', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_components_challenge_id'), ['challenge_id'], unique=False)

    op.create_table('pledges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('funder_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('scope', sa.JSON(), nullable=True),
    sa.Column('max_share', sa.Double(), nullable=True),
    sa.Column('match', sa.Double(), nullable=True),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_pledges_amount')),
    sa.CheckConstraint('match IS NULL OR match > 0', name=op.f('ck_pledges_match')),
    sa.CheckConstraint('max_share IS NULL OR (max_share > 0 AND max_share <= 1)', name=op.f('ck_pledges_max_share')),
    sa.ForeignKeyConstraint(['funder_id'], ['round_funders.id'], name=op.f('fk_pledges_funder_id_round_funders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_pledges_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledges')),
    sa.UniqueConstraint('round_id', 'key', name=op.f('uq_pledges_round_id_key'))
    )
    with op.batch_alter_table('pledges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pledges_funder_id'), ['funder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pledges_round_id'), ['round_id'], unique=False)

    op.create_table('awards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('price_cents', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('price_cents >= 0', name=op.f('ck_awards_price')),
    sa.ForeignKeyConstraint(['actor_id'], ['round_actors.id'], name=op.f('fk_awards_actor_id_round_actors')),
    sa.ForeignKeyConstraint(['bid_id'], ['bids.id'], name=op.f('fk_awards_bid_id_bids')),
    sa.ForeignKeyConstraint(['run_id'], ['clearing_runs.id'], name=op.f('fk_awards_run_id_clearing_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_awards')),
    sa.UniqueConstraint('run_id', 'bid_id', name=op.f('uq_awards_run_id_bid_id'))
    )
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_awards_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_awards_bid_id'), ['bid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_awards_run_id'), ['run_id'], unique=False)

    op.create_table('bid_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=True),
    sa.Column('price_cents', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('price_cents >= 0', name=op.f('ck_bid_items_price')),
    sa.CheckConstraint('quantity IS NULL OR quantity >= 1', name=op.f('ck_bid_items_quantity')),
    sa.ForeignKeyConstraint(['bid_id'], ['bids.id'], name=op.f('fk_bid_items_bid_id_bids'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_bid_items_component_id_components')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bid_items')),
    sa.UniqueConstraint('bid_id', 'component_id', name=op.f('uq_bid_items_bid_id_component_id'))
    )
    with op.batch_alter_table('bid_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bid_items_bid_id'), ['bid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bid_items_component_id'), ['component_id'], unique=False)

    op.create_table('flows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_flows_amount')),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_flows_component_id_components')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledges.id'], name=op.f('fk_flows_pledge_id_pledges')),
    sa.ForeignKeyConstraint(['run_id'], ['clearing_runs.id'], name=op.f('fk_flows_run_id_clearing_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flows')),
    sa.UniqueConstraint('run_id', 'pledge_id', 'component_id', name=op.f('uq_flows_run_id_pledge_id_component_id'))
    )
    with op.batch_alter_table('flows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flows_component_id'), ['component_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_flows_pledge_id'), ['pledge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_flows_run_id'), ['run_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('flows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flows_run_id'))
        batch_op.drop_index(batch_op.f('ix_flows_pledge_id'))
        batch_op.drop_index(batch_op.f('ix_flows_component_id'))

    op.drop_table('flows')
    with op.batch_alter_table('bid_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bid_items_component_id'))
        batch_op.drop_index(batch_op.f('ix_bid_items_bid_id'))

    op.drop_table('bid_items')
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_awards_run_id'))
        batch_op.drop_index(batch_op.f('ix_awards_bid_id'))
        batch_op.drop_index(batch_op.f('ix_awards_actor_id'))

    op.drop_table('awards')
    with op.batch_alter_table('pledges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pledges_round_id'))
        batch_op.drop_index(batch_op.f('ix_pledges_funder_id'))

    op.drop_table('pledges')
    with op.batch_alter_table('components', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_components_challenge_id'))

    op.drop_table('components')
    with op.batch_alter_table('bids', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bids_round_id'))
        batch_op.drop_index(batch_op.f('ix_bids_actor_id'))

    op.drop_table('bids')
    with op.batch_alter_table('round_funders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_round_funders_user_id'))
        batch_op.drop_index(batch_op.f('ix_round_funders_round_id'))

    op.drop_table('round_funders')
    with op.batch_alter_table('round_actors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_round_actors_user_id'))
        batch_op.drop_index(batch_op.f('ix_round_actors_round_id'))

    op.drop_table('round_actors')
    with op.batch_alter_table('clearing_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clearing_runs_round_id'))

    op.drop_table('clearing_runs')
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_challenges_round_id'))

    op.drop_table('challenges')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_user_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_round_id'))

    op.drop_table('audit_log')
    op.drop_table('users')
    op.drop_table('rounds')
