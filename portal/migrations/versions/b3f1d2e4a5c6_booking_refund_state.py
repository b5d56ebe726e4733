"""booking refund state: what live refunds make of a booking (none, partly refunded, refunded,
cancelled), kept on the booking so My Bookings needs no query per row; passenger ticket number
indexed, for the import's duplicate-ticket check; notifications indexed newest first (issue 13)

Revision ID: b3f1d2e4a5c6
Revises: 73cc5122b34c
Create Date: 2026-12-01 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b3f1d2e4a5c6'
down_revision = '73cc5122b34c'
branch_labels = None
depends_on = None


def upgrade():
    # Notifications are listed newest first by created_at.
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_user_created', ['user_id', 'created_at', 'id'], unique=False)
    # An import refuses a ticket number another booking already holds: looked up by this index.
    with op.batch_alter_table('passenger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passenger_ticket_number'), ['ticket_number'], unique=False)
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_state', sa.String(length=20), server_default='none', nullable=False))
        batch_op.create_check_constraint(
            'refund_state_known', "refund_state in ('none', 'partly_refunded', 'refunded', 'cancelled')"
        )
    # Bookings that already have refunds: every coupon (passengers x segments) in a live refund is
    # "refunded", some is "partly_refunded"; an LCC booking whose every coupon is in a live operator
    # refund is "cancelled" (the rule of portal.domain.refunds.booking_refund_state, as of this revision).
    op.execute(
        """
        UPDATE booking SET refund_state = CASE
          WHEN live.n = (SELECT count(*) FROM passenger p WHERE p.booking_id = booking.id)
                      * (SELECT count(*) FROM segment s WHERE s.booking_id = booking.id)
          THEN CASE WHEN live.operator = live.n AND (SELECT a.carrier_type FROM airline a
                                                     WHERE a.id = booking.airline_id) = 'LCC'
                    THEN 'cancelled' ELSE 'refunded' END
          ELSE 'partly_refunded' END
        FROM (
          SELECT r.booking_id AS booking_id, count(*) AS n,
                 sum(CASE WHEN r.path IN ('instant_quote', 'request_quote') THEN 1 ELSE 0 END) AS operator
          FROM refund_coupon c JOIN refund r ON r.id = c.refund_id
          WHERE c.live = true
          GROUP BY r.booking_id
        ) AS live
        WHERE live.booking_id = booking.id
        """
    )


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_user_created')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_booking_refund_state_known'), type_='check')
        batch_op.drop_column('refund_state')
    with op.batch_alter_table('passenger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passenger_ticket_number'))
