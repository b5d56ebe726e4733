"""One unit of work: a savepoint inside a request never commits it early, and a refused state change
leaves nothing behind, on SQLite and PostgreSQL alike."""

from sqlalchemy import func, insert, select

from portal.extensions import db as _db
from portal.models import Airline


def _airlines():
    return _db.session.scalar(select(func.count()).select_from(Airline))


def test_a_savepoint_as_the_first_statement_does_not_commit_the_transaction(db):
    before = _airlines()
    with db.session.begin_nested():
        db.session.execute(
            insert(Airline),
            {"code": "ZZ", "name": "Savepoint Air", "carrier_type": "FSC", "manage_booking_url": ""},
        )
    db.session.rollback()  # the request failed after the savepoint was released
    assert _airlines() == before
