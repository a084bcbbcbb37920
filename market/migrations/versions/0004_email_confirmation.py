"""Email confirmation: users.confirmed_at (every existing account confirmed as of its creation, so that no
one is locked out) and the one-time confirmation links

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 20:50:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET confirmed_at = created_at")
    op.create_table('email_confirmations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_email_confirmations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_confirmations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_email_confirmations_token_hash'))
    )
    op.create_index(op.f('ix_email_confirmations_user_id'), 'email_confirmations', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_email_confirmations_user_id'), table_name='email_confirmations')
    op.drop_table('email_confirmations')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('confirmed_at')
