"""The money ledger (issue 17, first step): balanced transactions of signed entries, per pledge (and per
component for escrow); append-only, enforced by the database

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 17:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

APPEND_ONLY = "the ledger is append-only: a correction is a new, reversing transaction"
TABLES = ('ledger_transactions', 'ledger_entries')


def upgrade() -> None:
    op.create_table('ledger_transactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('memo', sa.Text(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_ledger_transactions_round_id_rounds')),
    sa.ForeignKeyConstraint(['run_id'], ['clearing_runs.id'],
                            name=op.f('fk_ledger_transactions_run_id_clearing_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_transactions'))
    )
    op.create_index(op.f('ix_ledger_transactions_round_id'), 'ledger_transactions', ['round_id'], unique=False)
    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=16), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=True),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("account IN ('commitment', 'escrow', 'deposit', 'cash')",
                       name=op.f('ck_ledger_entries_account')),
    sa.CheckConstraint('amount_cents <> 0', name=op.f('ck_ledger_entries_amount')),
    sa.CheckConstraint("account <> 'escrow' OR component_id IS NOT NULL",
                       name=op.f('ck_ledger_entries_escrow_component')),
    sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transactions.id'],
                            name=op.f('fk_ledger_entries_transaction_id_ledger_transactions')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledges.id'], name=op.f('fk_ledger_entries_pledge_id_pledges')),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'],
                            name=op.f('fk_ledger_entries_component_id_components')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries'))
    )
    op.create_index(op.f('ix_ledger_entries_transaction_id'), 'ledger_entries', ['transaction_id'], unique=False)
    op.create_index(op.f('ix_ledger_entries_pledge_id'), 'ledger_entries', ['pledge_id'], unique=False)
    op.create_index(op.f('ix_ledger_entries_component_id'), 'ledger_entries', ['component_id'], unique=False)
    _append_only()


def _append_only() -> None:
    """Rows are never changed or deleted, whoever asks (as the audit log, 0003). TRUNCATE stays with the
    tables' owner: the test fixtures empty the schema between tests with it."""
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute(f"""
            CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{APPEND_ONLY}' USING ERRCODE = 'insufficient_privilege';
            END $$""")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()")
    elif dialect == 'sqlite':
        for table in TABLES:
            for verb in ('UPDATE', 'DELETE'):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION ledger_append_only()")
    elif dialect == 'sqlite':
        for table in TABLES:
            for verb in ('update', 'delete'):
                op.execute(f"DROP TRIGGER {table}_no_{verb}")
    op.drop_index(op.f('ix_ledger_entries_component_id'), table_name='ledger_entries')
    op.drop_index(op.f('ix_ledger_entries_pledge_id'), table_name='ledger_entries')
    op.drop_index(op.f('ix_ledger_entries_transaction_id'), table_name='ledger_entries')
    op.drop_table('ledger_entries')
    op.drop_index(op.f('ix_ledger_transactions_round_id'), table_name='ledger_transactions')
    op.drop_table('ledger_transactions')
