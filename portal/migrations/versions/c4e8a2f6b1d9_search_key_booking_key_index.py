"""search keys indexed by (booking_id, key): a frequent search term is probed per booking in the list's
order, a seek instead of reading all the booking's keys (issue 14)

Revision ID: c4e8a2f6b1d9
Revises: c5e1a7d3f9b2
Create Date: 2026-11-30 23:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4e8a2f6b1d9'
down_revision = 'c5e1a7d3f9b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('booking_search_key', schema=None) as batch_op:
        batch_op.create_index('ix_booking_search_key_booking_key', ['booking_id', 'key'], unique=False)
        batch_op.drop_index('ix_booking_search_key_booking_id')


def downgrade():
    with op.batch_alter_table('booking_search_key', schema=None) as batch_op:
        batch_op.create_index('ix_booking_search_key_booking_id', ['booking_id'], unique=False)
        batch_op.drop_index('ix_booking_search_key_booking_key')
