"""When an actor fails (issue 18): standby offers on bids, award failures, repair runs and jobs, the failed and
cancelled milestone states

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 03:20:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

from market.migrations.checks import replace_check


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

STATES = "state IN ('open', 'submitted', 'rejected', 'accepted', 'disputed', 'written_off')"
STATES_NOW = ("state IN ('open', 'submitted', 'rejected', 'accepted', 'disputed', 'written_off', 'failed', "
              "'cancelled')")
STANDBY_DAYS = "standby_days IS NULL OR (standby_days >= 1 AND standby_days <= 3650)"
STANDBY_PRICE = "standby_price_cents IS NULL OR (standby_days IS NOT NULL AND standby_price_cents >= 0)"
RUN_KIND = "kind IN ('clear', 'repair')"
RUN_FAILURE = "kind = 'clear' OR failure_id IS NOT NULL"
SOURCE = "reliability_source IN ('declared', 'track_record')"


def upgrade() -> None:
    op.create_table('award_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('failed_by', sa.String(length=254), nullable=False),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('resolved_run_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tender_until', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('open', 'repaired', 'refunded')", name=op.f('ck_award_failures_state')),
    sa.ForeignKeyConstraint(['award_id'], ['awards.id'], name=op.f('fk_award_failures_award_id_awards')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_award_failures_round_id_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_failures')),
    sa.UniqueConstraint('award_id', name=op.f('uq_award_failures_award_id'))
    )
    op.create_index(op.f('ix_award_failures_round_id'), 'award_failures', ['round_id'], unique=False)
    # New columns are nullable or have a server default, and every new check holds on every existing row, so
    # the tables are changed in place (market/migrations/checks.py).
    op.add_column('bids', sa.Column('standby_days', sa.Integer(), nullable=True))
    op.add_column('bids', sa.Column('standby_price_cents', sa.BigInteger(), nullable=True))
    op.add_column('bids', sa.Column('standby_withdrawn_at', sa.DateTime(timezone=True), nullable=True))
    replace_check('bids', 'ck_bids_standby_days', None, STANDBY_DAYS)
    replace_check('bids', 'ck_bids_standby_price', None, STANDBY_PRICE)
    op.add_column('clearing_runs', sa.Column('kind', sa.String(length=16), server_default='clear', nullable=False))
    op.add_column('clearing_runs', sa.Column('failure_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_clearing_runs_failure_id'), 'clearing_runs', ['failure_id'], unique=False)
    replace_check('clearing_runs', 'ck_clearing_runs_kind', None, RUN_KIND)
    replace_check('clearing_runs', 'ck_clearing_runs_repair_failure', None, RUN_FAILURE)
    op.add_column('jobs', sa.Column('failure_id', sa.Integer(), nullable=True))
    replace_check('milestones', 'ck_milestones_state', STATES, STATES_NOW)
    # Track-record reliability per round, programmes and rollover.
    op.add_column('rounds', sa.Column('reliability_source', sa.String(length=16), server_default='declared',
                                      nullable=False))
    op.add_column('rounds', sa.Column('programme', sa.String(length=100), nullable=True))
    op.create_index(op.f('ix_rounds_programme'), 'rounds', ['programme'], unique=False)
    replace_check('rounds', 'ck_rounds_reliability_source', None, SOURCE)
    op.add_column('pledges', sa.Column('rollover', sa.Boolean(), server_default='0', nullable=False))
    op.add_column('pledges', sa.Column('rolled_from_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_pledges_rolled_from_id'), 'pledges', ['rolled_from_id'], unique=False)
    # Re-tenders: bids and new money for one failure's repair.
    for table in ('bids', 'pledges'):
        op.add_column(table, sa.Column('tender_failure_id', sa.Integer(), nullable=True))
        op.create_index(op.f(f'ix_{table}_tender_failure_id'), table, ['tender_failure_id'], unique=False)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM award_failures")).scalar():
        raise RuntimeError("award failures are recorded: 0011 cannot hold them")
    for table in ('bids', 'pledges'):
        op.drop_index(op.f(f'ix_{table}_tender_failure_id'), table_name=table)
        op.drop_column(table, 'tender_failure_id')
    op.drop_index(op.f('ix_pledges_rolled_from_id'), table_name='pledges')
    op.drop_column('pledges', 'rolled_from_id')
    op.drop_column('pledges', 'rollover')
    replace_check('rounds', 'ck_rounds_reliability_source', SOURCE, None)
    op.drop_index(op.f('ix_rounds_programme'), table_name='rounds')
    op.drop_column('rounds', 'programme')
    op.drop_column('rounds', 'reliability_source')
    replace_check('milestones', 'ck_milestones_state', STATES_NOW, STATES)
    op.drop_column('jobs', 'failure_id')
    replace_check('clearing_runs', 'ck_clearing_runs_repair_failure', RUN_FAILURE, None)
    replace_check('clearing_runs', 'ck_clearing_runs_kind', RUN_KIND, None)
    op.drop_index(op.f('ix_clearing_runs_failure_id'), table_name='clearing_runs')
    op.drop_column('clearing_runs', 'failure_id')
    op.drop_column('clearing_runs', 'kind')
    replace_check('bids', 'ck_bids_standby_price', STANDBY_PRICE, None)
    replace_check('bids', 'ck_bids_standby_days', STANDBY_DAYS, None)
    op.drop_column('bids', 'standby_withdrawn_at')
    op.drop_column('bids', 'standby_price_cents')
    op.drop_column('bids', 'standby_days')
    op.drop_index(op.f('ix_award_failures_round_id'), table_name='award_failures')
    op.drop_table('award_failures')
