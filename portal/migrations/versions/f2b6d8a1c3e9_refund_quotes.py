"""refund quotes given over the API

Revision ID: f2b6d8a1c3e9
Revises: f1a2b3c4d5e6
Create Date: 2026-12-02 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


# revision identifiers, used by Alembic.
revision = 'f2b6d8a1c3e9'
down_revision = 'f1a2b3c4d5e6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'refund_quote',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=40), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=False),
        sa.Column('path', sa.String(length=20), nullable=False),
        sa.Column('coupon_keys', sa.Text(), nullable=False),
        sa.Column('involuntary', sa.Boolean(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('created_at', portal.models.types.UTCDateTime(), nullable=False),
        sa.Column('expires_at', portal.models.types.UTCDateTime(), nullable=False),
        sa.Column('used_at', portal.models.types.UTCDateTime(), nullable=True),
        sa.Column('refund_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_refund_quote_account_id_account')),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_refund_quote_booking_id_booking')),
        sa.ForeignKeyConstraint(['refund_id'], ['refund.id'], name=op.f('fk_refund_quote_refund_id_refund')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_refund_quote_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_refund_quote')),
        sa.UniqueConstraint('public_id', name=op.f('uq_refund_quote_public_id')),
    )
    with op.batch_alter_table('refund_quote', schema=None) as batch_op:
        batch_op.create_index('ix_refund_quote_booking', ['booking_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('refund_quote', schema=None) as batch_op:
        batch_op.drop_index('ix_refund_quote_booking')
    op.drop_table('refund_quote')
