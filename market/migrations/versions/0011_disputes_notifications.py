"""Disputes, refunds and write-offs, notifications (issue 17): a disputes table, refund ledger entries (naming
their milestone and component, as payouts do), the disputed and written-off milestone states, users' inboxes
and the e-mail outbox

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 00:10:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

from market.migrations.checks import replace_check


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

ACCOUNTS = "account IN ('commitment', 'escrow', 'deposit', 'cash', 'payable')"
ACCOUNTS_NOW = "account IN ('commitment', 'escrow', 'deposit', 'cash', 'payable', 'refund')"
STATES = "state IN ('open', 'submitted', 'rejected', 'accepted')"
STATES_NOW = "state IN ('open', 'submitted', 'rejected', 'accepted', 'disputed', 'written_off')"
PAYABLE = "account <> 'payable' OR (component_id IS NOT NULL AND milestone_id IS NOT NULL)"
PAYABLE_NOW = ("account NOT IN ('payable', 'refund') OR (component_id IS NOT NULL AND milestone_id IS NOT NULL)")


def upgrade() -> None:
    # The lists only widen; the payable check now also holds refunds, of which there are none yet.
    replace_check('ledger_entries', 'ck_ledger_entries_account', ACCOUNTS, ACCOUNTS_NOW)
    replace_check('ledger_entries', 'ck_ledger_entries_payable_milestone', PAYABLE, PAYABLE_NOW)
    replace_check('milestones', 'ck_milestones_state', STATES, STATES_NOW)
    op.create_table('disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('opened_by', sa.String(length=254), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=254), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision', sa.Text(), nullable=True),
    sa.Column('released_cents', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("state IN ('open', 'for_actor', 'for_verifier')", name=op.f('ck_disputes_state')),
    sa.CheckConstraint("kind IN ('rejection', 'deduction')", name=op.f('ck_disputes_kind')),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_disputes_amount')),
    sa.CheckConstraint('released_cents IS NULL OR (released_cents >= 0 AND released_cents <= amount_cents)',
                       name=op.f('ck_disputes_released')),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestones.id'], name=op.f('fk_disputes_milestone_id_milestones')),
    sa.ForeignKeyConstraint(['report_id'], ['delivery_reports.id'],
                            name=op.f('fk_disputes_report_id_delivery_reports')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_disputes_round_id_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disputes')),
    sa.UniqueConstraint('report_id', name=op.f('uq_disputes_report_id'))
    )
    op.create_index(op.f('ix_disputes_milestone_id'), 'disputes', ['milestone_id'], unique=False)
    op.create_index(op.f('ix_disputes_round_id'), 'disputes', ['round_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_notifications_round_id_rounds')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    op.create_index(op.f('ix_notifications_round_id'), 'notifications', ['round_id'], unique=False)
    op.create_index(op.f('ix_notifications_user_id'), 'notifications', ['user_id'], unique=False)
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to_email', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_outbox_attempts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    op.create_index(op.f('ix_outbox_sent_at'), 'outbox', ['sent_at'], unique=False)


def downgrade() -> None:
    # Refund entries and written-off milestones would break the narrower checks: downgrading refuses them.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM ledger_entries WHERE account = 'refund'")).scalar() or \
            bind.execute(sa.text("SELECT count(*) FROM milestones WHERE state IN ('disputed', 'written_off')")).scalar():
        raise RuntimeError("refunds, disputes or written-off milestones are recorded: 0010 cannot hold them")
    op.drop_index(op.f('ix_outbox_sent_at'), table_name='outbox')
    op.drop_table('outbox')
    op.drop_index(op.f('ix_notifications_user_id'), table_name='notifications')
    op.drop_index(op.f('ix_notifications_round_id'), table_name='notifications')
    op.drop_table('notifications')
    op.drop_index(op.f('ix_disputes_round_id'), table_name='disputes')
    op.drop_index(op.f('ix_disputes_milestone_id'), table_name='disputes')
    op.drop_table('disputes')
    replace_check('milestones', 'ck_milestones_state', STATES_NOW, STATES)
    replace_check('ledger_entries', 'ck_ledger_entries_payable_milestone', PAYABLE_NOW, PAYABLE)
    replace_check('ledger_entries', 'ck_ledger_entries_account', ACCOUNTS_NOW, ACCOUNTS)
