"""The migrations build exactly the schema the models describe, on a fresh database, idempotently."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from portal.extensions import db as _db
from tests.conftest import POSTGRES, _postgres_database, dispose, make_test_app


@pytest.fixture
def fresh_app(tmp_path_factory, tmp_path):
    if POSTGRES:
        url, drop = _postgres_database()
        if url is None:
            pytest.skip(drop)
    else:
        url, drop = f"sqlite:///{tmp_path / 'fresh.db'}", None
    app = make_test_app(url, tmp_path_factory)
    yield app
    dispose(app)
    if drop:
        drop()


def test_init_db_builds_the_models_schema_and_is_idempotent(fresh_app):
    runner = fresh_app.test_cli_runner()
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["init-db"])
    assert second.exit_code == 0, second.output
    with fresh_app.app_context():
        with _db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            differences = compare_metadata(context, _db.metadata)
        assert differences == [], f"models and migrations differ: run `flask db migrate`: {differences}"
        assert "alembic_version" in inspect(_db.engine).get_table_names()
        from portal.models import RefundReason

        assert _db.session.query(RefundReason).count() >= 5  # defaults seeded once, not twice
        _db.session.remove()


def test_the_refund_state_migration_fills_existing_bookings(fresh_app):
    """Migration b3f1d2e4a5c6 (issue 13) computes the refund state of bookings that already have
    refunds: run on data written before it, it gives what refresh_refund_states gives."""
    import copy
    import json

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from portal.domain.refunds import RefundPath
    from portal.services.auth import create_account, create_user
    from portal.services.bookings import import_bookings
    from portal.services.refunds import create_refund, parse_coupon_keys
    from tests.conftest import AIRLINES, booking_doc, passenger_doc

    with fresh_app.app_context():
        upgrade()
        create_account("DEMO", "Demo", "SGD")
        agent = create_user("agent@demo.example", "Agent", "agent", "x" * 12, "DEMO")
        pair = [passenger_doc("P1", ticket="618-2400000801"), passenger_doc("P2", ticket="618-2400000802")]
        docs = [
            booking_doc("LCCFULL001", airline="TR", passengers=pair),
            booking_doc("FSCPART001", passengers=[passenger_doc(ticket="618-2400000803")]),
            booking_doc("UNTOUCHED1", passengers=[passenger_doc(ticket="618-2400000804")]),
        ]
        import_bookings(
            json.dumps({"format": "portal-bookings/1", "airlines": copy.deepcopy(AIRLINES), "bookings": docs})
        )
        from portal.models import Booking

        bookings = {b.order_number: b for b in _db.session.query(Booking)}
        for order, keys in (("LCCFULL001", ["P1.S1", "P1.S2", "P2.S1", "P2.S2"]), ("FSCPART001", ["P1.S2"])):
            booking = bookings[order]
            create_refund(
                booking, parse_coupon_keys(booking, keys), path=RefundPath.INSTANT_QUOTE, user=agent
            )
        _db.session.commit()
        expected = dict(_db.session.execute(text("SELECT order_number, refund_state FROM booking")).all())
        assert expected == {"LCCFULL001": "cancelled", "FSCPART001": "partly_refunded", "UNTOUCHED1": "none"}
        _db.session.remove()

        downgrade(revision="7c1e2a9d4b10")
        upgrade()
        states = dict(_db.session.execute(text("SELECT order_number, refund_state FROM booking")).all())
        assert states == expected
        _db.session.remove()


def test_the_row_summary_migration_fills_bookings_imported_before_it(fresh_app):
    """Migration 51a602aa06b8 (issue 14) gives every booking already there the route, first departure,
    lead passenger and passenger count My Bookings shows, from its segments and passengers, BATCH (1,000)
    bookings a round: the values the import writes, so a re-import of the same file finds nothing changed."""
    import copy
    import json

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import select, text

    from portal.models import Booking
    from portal.services import bookings as service
    from portal.services.auth import create_account
    from tests.conftest import AIRLINES, booking_doc, passenger_doc, utc

    docs = [
        booking_doc(f"MG{n:08d}", passengers=[passenger_doc("P1", "TAN", f"PAX {n}", f"618-23{n:08d}")])
        for n in range(1003)
    ]
    # On either side of the first round's end: an open jaw with three passengers, and a booking whose
    # one flight leaves at -03:00 (a negative offset, on the UTC day after its local one).
    docs[999]["passengers"] = [
        passenger_doc("P1", "LIM", "HUI LING", "618-2200000001"),
        passenger_doc("P2", "LIM", "WEI", "618-2200000002"),
        passenger_doc("P3", "ONG", "BEE", "618-2200000003"),
    ]
    docs[999]["segments"][1]["origin"] = "KUL"
    segment = docs[1000]["segments"][0]
    segment["origin"], segment["destination"] = "GRU", "SIN"
    segment["departure"], segment["arrival"] = "2027-03-01T22:30:00-03:00", "2027-03-03T05:00:00+08:00"
    docs[1000]["segments"] = [segment]
    document = json.dumps(
        {"format": "portal-bookings/1", "airlines": copy.deepcopy(AIRLINES), "bookings": docs}
    )
    summary = select(
        Booking.order_number,
        Booking.route,
        Booking.first_departure_at,
        Booking.first_departure_offset,
        Booking.lead_passenger,
        Booking.passenger_count,
    )

    with fresh_app.app_context():
        upgrade()
        create_account("DEMO", "Demo", "SGD")
        service.import_bookings(document)
        _db.session.commit()
        imported = {row[0]: tuple(row[1:]) for row in _db.session.execute(summary)}
        _db.session.remove()

        downgrade(revision="c5a1f7e3b902")  # the bookings as they were before the columns
        # Their digests were of content without the columns: the next re-import compares each in full.
        _db.session.execute(text("UPDATE booking SET import_digest = NULL"))
        _db.session.commit()
        columns = {c["name"] for c in inspect(_db.engine).get_columns("booking")}
        assert "route" not in columns and "passenger_count" not in columns
        upgrade()
        filled = {row[0]: tuple(row[1:]) for row in _db.session.execute(summary)}
        assert filled == imported and len(filled) == 1003
        assert filled["MG00000999"][0] == "SIN–BKK / KUL–SIN"
        assert filled["MG00000999"][3:] == ("LIM/HUI LING", 3)
        assert filled["MG00001000"][:3] == ("GRU–SIN", utc(2027, 3, 2, 1, 30), -180)
        assert filled["MG00000001"][3:] == ("TAN/PAX 1", 1)
        updated_at = dict(_db.session.execute(text("SELECT order_number, updated_at FROM booking")).all())
        _db.session.remove()

        # The re-import compares each booking in full, finds it the same as the file (the backfill wrote
        # what the import would) and gives it its digest, changing nothing else.
        result = service.import_bookings(document)
        _db.session.commit()
        assert result.schedule_changes == [] and len(result.updated) == 1003
        after = dict(_db.session.execute(text("SELECT order_number, updated_at FROM booking")).all())
        assert after == updated_at
        assert _db.session.scalar(text("SELECT count(*) FROM booking WHERE import_digest IS NULL")) == 0
        assert {row[0]: tuple(row[1:]) for row in _db.session.execute(summary)} == imported
        _db.session.remove()
