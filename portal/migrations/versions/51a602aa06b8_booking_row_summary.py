"""booking row summary: the route, first departure, lead passenger and passenger count that My Bookings
shows, kept on the booking by the import (issue 14)

Revision ID: 51a602aa06b8
Revises: c5a1f7e3b902
Create Date: 2026-12-03 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


# revision identifiers, used by Alembic.
revision = '51a602aa06b8'
down_revision = 'c5a1f7e3b902'
branch_labels = None
depends_on = None

BATCH = 1000  # bookings filled a round

COLUMNS = (
    ('route', sa.Text()),
    ('first_departure_at', portal.models.types.UTCDateTime()),
    ('first_departure_offset', sa.Integer()),
    ('lead_passenger', sa.String(length=121)),
    ('passenger_count', sa.Integer()),
)


def _route_of(legs):
    # portal.models.bookings.route_of as of this revision (a migration does not import the app's code,
    # which moves on while the migration must not): SIN–BKK–SIN from (origin, destination) in travel
    # order, ' / ' where the next flight leaves from elsewhere.
    if not legs:
        return ""
    points = [legs[0][0]]
    for origin, destination in legs:
        if origin != points[-1]:
            points.append("/")
            points.append(origin)
        points.append(destination)
    return "–".join(points).replace("–/–", " / ")


def _backfill(conn):
    """Every booking's summary from its segments and passengers, BATCH bookings at a time, as
    services.bookings.booking_summary gives it at import: the first segment's departure_at and
    departure_offset as they are stored, the lead passenger "LAST/FIRST" of position 0, the count."""
    last_id = 0
    while True:
        ids = conn.execute(
            sa.text("SELECT id FROM booking WHERE id > :last ORDER BY id LIMIT :n"), {"last": last_id, "n": BATCH}
        ).scalars().all()
        if not ids:
            return
        span = {"low": ids[0], "high": ids[-1]}
        legs = {booking_id: [] for booking_id in ids}
        for booking_id, origin, destination, departure_at, offset in conn.execute(
            sa.text(
                "SELECT booking_id, origin, destination, departure_at, departure_offset FROM segment"
                " WHERE booking_id BETWEEN :low AND :high ORDER BY booking_id, position"
            ),
            span,
        ):
            legs[booking_id].append((origin, destination, departure_at, offset))
        names = {booking_id: [] for booking_id in ids}
        for booking_id, last_name, first_name in conn.execute(
            sa.text(
                "SELECT booking_id, last_name, first_name FROM passenger"
                " WHERE booking_id BETWEEN :low AND :high ORDER BY booking_id, position"
            ),
            span,
        ):
            names[booking_id].append(f"{last_name}/{first_name}")
        rows = [
            {
                "id": booking_id,
                "route": _route_of([(origin, destination) for origin, destination, _, _ in legs[booking_id]]),
                "departure_at": legs[booking_id][0][2],
                "offset": legs[booking_id][0][3],
                "lead": names[booking_id][0],
                "count": len(names[booking_id]),
            }
            # A booking without a segment or a passenger (never imported so) is left NULL: the NOT NULL
            # below then refuses the upgrade, and _check names it.
            for booking_id in ids
            if legs[booking_id] and names[booking_id]
        ]
        if rows:
            conn.execute(
                sa.text(
                    "UPDATE booking SET route = :route, first_departure_at = :departure_at,"
                    " first_departure_offset = :offset, lead_passenger = :lead, passenger_count = :count"
                    " WHERE id = :id"
                ),
                rows,
            )
        last_id = ids[-1]


def _check(conn):
    missing = conn.execute(
        sa.text("SELECT order_number FROM booking WHERE route IS NULL ORDER BY id LIMIT 5")
    ).scalars().all()
    if missing:
        raise RuntimeError(
            "bookings without a segment or a passenger cannot be summarised: " + ", ".join(missing)
        )


def upgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    conn = op.get_bind()
    _backfill(conn)
    _check(conn)
    # Every booking's content digest changes with these columns: the next re-import compares each
    # booking in full once, finds it the same (the values above are what the import writes) and stores
    # the new digest.
    if conn.dialect.name == 'postgresql':
        # One ALTER TABLE: PostgreSQL checks the table once for all five, not once a column.
        op.execute(
            'ALTER TABLE booking ' + ', '.join(f'ALTER COLUMN {name} SET NOT NULL' for name, _ in COLUMNS)
        )
        return
    with op.batch_alter_table('booking', schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.alter_column(name, existing_type=type_, nullable=False)


def downgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
