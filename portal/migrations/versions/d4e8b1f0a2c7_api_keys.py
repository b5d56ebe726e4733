"""api keys and their per-minute call counters

Revision ID: d4e8b1f0a2c7
Revises: c81d0e5a7f32
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


# revision identifiers, used by Alembic.
revision = 'd4e8b1f0a2c7'
down_revision = 'c81d0e5a7f32'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', portal.models.types.UTCDateTime(), nullable=False),
        sa.Column('last_used_at', portal.models.types.UTCDateTime(), nullable=True),
        sa.Column('revoked_at', portal.models.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_api_key_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_api_key_key_hash')),
    )
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.create_index('ix_api_key_user', ['user_id', 'created_at'], unique=False)

    op.create_table(
        'api_call_counter',
        sa.Column('api_key_id', sa.Integer(), nullable=False),
        sa.Column('minute', portal.models.types.UTCDateTime(), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['api_key_id'], ['api_key.id'], name=op.f('fk_api_call_counter_api_key_id_api_key'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('api_key_id', 'minute', name=op.f('pk_api_call_counter')),
    )
    with op.batch_alter_table('api_call_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_call_counter_minute'), ['minute'], unique=False)


def downgrade():
    with op.batch_alter_table('api_call_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_call_counter_minute'))
    op.drop_table('api_call_counter')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_index('ix_api_key_user')
    op.drop_table('api_key')
