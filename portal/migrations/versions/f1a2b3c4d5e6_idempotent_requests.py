"""idempotent API requests (Idempotency-Key)

Revision ID: f1a2b3c4d5e6
Revises: a9c3e5f7b201
Create Date: 2026-11-30 20:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


# revision identifiers, used by Alembic.
revision = 'f1a2b3c4d5e6'
down_revision = 'a9c3e5f7b201'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'idempotent_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('created_at', portal.models.types.UTCDateTime(), nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('content_type', sa.String(length=100), nullable=True),
        sa.Column('body_sealed', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_idempotent_request_user_id_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotent_request')),
        sa.UniqueConstraint('user_id', 'key', name='uq_idempotent_request_user_key'),
    )
    with op.batch_alter_table('idempotent_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotent_request_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('idempotent_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotent_request_created_at'))
    op.drop_table('idempotent_request')
