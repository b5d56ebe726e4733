"""webhook endpoints, events (the outbox) and deliveries

Revision ID: a9c3e5f7b201
Revises: d4e8b1f0a2c7
Create Date: 2026-12-01 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


# revision identifiers, used by Alembic.
revision = 'a9c3e5f7b201'
down_revision = 'd4e8b1f0a2c7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'webhook_endpoint',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('event_types', sa.String(length=500), nullable=False),
        sa.Column('secret_encrypted', sa.String(length=300), nullable=False),
        sa.Column('created_at', portal.models.types.UTCDateTime(), nullable=False),
        sa.Column('deleted_at', portal.models.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_webhook_endpoint_account_id_account')),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_webhook_endpoint_created_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoint')),
    )
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_endpoint_account', ['account_id', 'created_at', 'id'], unique=False)

    op.create_table(
        'webhook_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=40), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('type', sa.String(length=60), nullable=False),
        sa.Column('created_at', portal.models.types.UTCDateTime(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_webhook_event_account_id_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_event')),
        sa.UniqueConstraint('public_id', name=op.f('uq_webhook_event_public_id')),
    )
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_event_account', ['account_id', 'id'], unique=False)

    op.create_table(
        'webhook_delivery',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('endpoint_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', portal.models.types.UTCDateTime(), nullable=False),
        sa.Column('leased_until', portal.models.types.UTCDateTime(), nullable=True),
        sa.Column('last_attempt_at', portal.models.types.UTCDateTime(), nullable=True),
        sa.Column('response_code', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('delivered_at', portal.models.types.UTCDateTime(), nullable=True),
        sa.Column('queued_at', portal.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoint.id'], name=op.f('fk_webhook_delivery_endpoint_id_webhook_endpoint')),
        sa.ForeignKeyConstraint(['event_id'], ['webhook_event.id'], name=op.f('fk_webhook_delivery_event_id_webhook_event')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_delivery')),
        sa.UniqueConstraint('endpoint_id', 'event_id', name='uq_webhook_delivery_endpoint_event'),
    )
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_delivery_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_delivery_endpoint_id'), ['endpoint_id'], unique=False)


def downgrade():
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_delivery_endpoint_id'))
        batch_op.drop_index('ix_webhook_delivery_due')
    op.drop_table('webhook_delivery')
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_event_account')
    op.drop_table('webhook_event')
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_endpoint_account')
    op.drop_table('webhook_endpoint')
