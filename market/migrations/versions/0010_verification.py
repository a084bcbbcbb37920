"""Verification (issue 17): a verifier role, verifier assignments, delivery reports and their files,
milestone dates and states, releases to an actor's payable (ledger entries name their milestone), and the
terms' delivery and holdback report times

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 19:30:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

from market.migrations.checks import replace_check


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

ROLES = "role IN ('funder', 'actor', 'analyst', 'admin')"
ROLES_NOW = "role IN ('funder', 'actor', 'analyst', 'admin', 'verifier')"
ACCOUNTS = "account IN ('commitment', 'escrow', 'deposit', 'cash')"
ACCOUNTS_NOW = "account IN ('commitment', 'escrow', 'deposit', 'cash', 'payable')"
STATES = "state IN ('open')"
STATES_NOW = "state IN ('open', 'submitted', 'rejected', 'accepted')"
PAYABLE = "account <> 'payable' OR (component_id IS NOT NULL AND milestone_id IS NOT NULL)"


def upgrade() -> None:
    # Each change only widens what is allowed; the new payable check holds for every row (none is payable).
    replace_check('users', 'ck_users_role', ROLES, ROLES_NOW)
    replace_check('ledger_entries', 'ck_ledger_entries_account', ACCOUNTS, ACCOUNTS_NOW)
    replace_check('milestones', 'ck_milestones_state', STATES, STATES_NOW)
    if op.get_bind().dialect.name == 'sqlite':     # ADD COLUMN may name a foreign key; ADD CONSTRAINT may not
        op.execute("ALTER TABLE ledger_entries ADD COLUMN milestone_id INTEGER "
                   "CONSTRAINT fk_ledger_entries_milestone_id_milestones REFERENCES milestones (id)")
    else:
        op.add_column('ledger_entries', sa.Column('milestone_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_ledger_entries_milestone_id_milestones'), 'ledger_entries', 'milestones',
                              ['milestone_id'], ['id'])
    replace_check('ledger_entries', 'ck_ledger_entries_payable_milestone', None, PAYABLE)
    op.create_index(op.f('ix_ledger_entries_milestone_id'), 'ledger_entries', ['milestone_id'], unique=False)
    op.add_column('milestones', sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('milestones', sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('settlement_terms', sa.Column('delivery_days', sa.Integer(), server_default='180', nullable=False))
    op.add_column('settlement_terms', sa.Column('holdback_report_days', sa.Integer(), server_default='30',
                                                nullable=False))
    replace_check('settlement_terms', 'ck_settlement_terms_delivery_days', None,
                  'delivery_days >= 1 AND delivery_days <= 3650')
    replace_check('settlement_terms', 'ck_settlement_terms_holdback_report_days', None,
                  'holdback_report_days >= 1 AND holdback_report_days <= 365')

    op.create_table('verifier_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('assigned_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'],
                            name=op.f('fk_verifier_assignments_challenge_id_challenges'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_verifier_assignments_round_id_rounds'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_verifier_assignments_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verifier_assignments'))
    )
    op.create_index('uq_verifier_assignments', 'verifier_assignments', ['round_id', 'user_id', 'challenge_id'],
                    unique=True)
    op.create_index(op.f('ix_verifier_assignments_round_id'), 'verifier_assignments', ['round_id'], unique=False)
    op.create_index(op.f('ix_verifier_assignments_user_id'), 'verifier_assignments', ['user_id'], unique=False)

    op.create_table('delivery_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('submitted_by', sa.String(length=254), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reviewed_by', sa.String(length=254), nullable=True),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_quantity', sa.Integer(), nullable=True),
    sa.Column('released_cents', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.CheckConstraint("state IN ('submitted', 'accepted', 'rejected')", name=op.f('ck_delivery_reports_state')),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_delivery_reports_quantity')),
    sa.CheckConstraint('accepted_quantity IS NULL OR accepted_quantity >= 1',
                       name=op.f('ck_delivery_reports_accepted_quantity')),
    sa.CheckConstraint('released_cents IS NULL OR released_cents >= 0', name=op.f('ck_delivery_reports_released')),
    sa.CheckConstraint('latitude IS NULL OR (latitude >= -90 AND latitude <= 90)',
                       name=op.f('ck_delivery_reports_latitude')),
    sa.CheckConstraint('longitude IS NULL OR (longitude >= -180 AND longitude <= 180)',
                       name=op.f('ck_delivery_reports_longitude')),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestones.id'],
                            name=op.f('fk_delivery_reports_milestone_id_milestones')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_delivery_reports_round_id_rounds')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_delivery_reports_reviewer_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_reports'))
    )
    op.create_index(op.f('ix_delivery_reports_milestone_id'), 'delivery_reports', ['milestone_id'], unique=False)
    op.create_index(op.f('ix_delivery_reports_round_id'), 'delivery_reports', ['round_id'], unique=False)

    op.create_table('report_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('size_bytes > 0', name=op.f('ck_report_files_size')),
    sa.ForeignKeyConstraint(['report_id'], ['delivery_reports.id'],
                            name=op.f('fk_report_files_report_id_delivery_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_files'))
    )
    op.create_index(op.f('ix_report_files_report_id'), 'report_files', ['report_id'], unique=False)


def downgrade() -> None:
    op.drop_table('report_files')
    op.drop_table('delivery_reports')
    op.drop_table('verifier_assignments')
    replace_check('settlement_terms', 'ck_settlement_terms_holdback_report_days',
                  'holdback_report_days >= 1 AND holdback_report_days <= 365', None)
    replace_check('settlement_terms', 'ck_settlement_terms_delivery_days', 'delivery_days >= 1 AND delivery_days <= 3650',
                  None)
    op.drop_column('settlement_terms', 'holdback_report_days')
    op.drop_column('settlement_terms', 'delivery_days')
    op.drop_column('milestones', 'due_at')
    op.drop_column('milestones', 'opens_at')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(op.f('fk_ledger_entries_milestone_id_milestones'), 'ledger_entries', type_='foreignkey')
    op.drop_index(op.f('ix_ledger_entries_milestone_id'), table_name='ledger_entries')
    replace_check('ledger_entries', 'ck_ledger_entries_payable_milestone', PAYABLE, None)
    op.drop_column('ledger_entries', 'milestone_id')
    replace_check('milestones', 'ck_milestones_state', STATES_NOW, STATES)
    replace_check('ledger_entries', 'ck_ledger_entries_account', ACCOUNTS_NOW, ACCOUNTS)
    replace_check('users', 'ck_users_role', ROLES_NOW, ROLES)
