"""notification topics (grouped per refund or request) and bookings by last import

Revision ID: 3d9b7e21c0aa
Revises: f2b6d8a1c3e9
Create Date: 2026-12-02 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3d9b7e21c0aa'
down_revision = 'f2b6d8a1c3e9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic', sa.String(length=60), nullable=True))
        batch_op.create_index('ix_notification_user_topic', ['user_id', 'topic'], unique=False)
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index('ix_booking_updated', ['updated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_updated')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_user_topic')
        batch_op.drop_column('topic')
