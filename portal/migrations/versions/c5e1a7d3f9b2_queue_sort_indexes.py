"""queue sort indexes: the baggage queue and the schedule-change list sort by an index (issue 15)

Revision ID: c5e1a7d3f9b2
Revises: f3b9d2c41e07
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c5e1a7d3f9b2'
down_revision = 'f3b9d2c41e07'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('baggage_order', schema=None) as batch_op:
        batch_op.create_index('ix_baggage_order_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_baggage_order_status_id', ['status', 'id'], unique=False)
        batch_op.create_index('ix_baggage_order_account_id', ['account_id', 'id'], unique=False)
    with op.batch_alter_table('schedule_change', schema=None) as batch_op:
        batch_op.create_index('ix_schedule_change_detected', ['detected_at', 'id'], unique=False)
        batch_op.create_index('ix_schedule_change_old_departure', ['old_departure_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('schedule_change', schema=None) as batch_op:
        batch_op.drop_index('ix_schedule_change_old_departure')
        batch_op.drop_index('ix_schedule_change_detected')
    with op.batch_alter_table('baggage_order', schema=None) as batch_op:
        batch_op.drop_index('ix_baggage_order_account_id')
        batch_op.drop_index('ix_baggage_order_status_id')
        batch_op.drop_index('ix_baggage_order_created')
