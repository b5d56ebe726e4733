"""A search's count is made once per version of the search keys (issue 14): paging through a search or
coming back to it does not count its keys again, and an import that writes keys is in the next count."""

import copy
import json

from sqlalchemy import select

from portal.models import SearchKeysVersion
from tests.conftest import booking_doc, passenger_doc

PARTIAL = {"HX-Request": "true"}


def keep_bookings(first: int, last: int, surname: str = "KEEPSAKE") -> list[dict]:
    return [
        booking_doc(
            order_number=f"KS{n:08d}", passengers=[passenger_doc("P1", surname, "TEST", f"618-29{n:08d}")]
        )
        for n in range(first, last)
    ]


def counts_in(statements: list[str]) -> list[str]:
    return [s for s in statements if "count(" in s.lower()]


def shown(client, **query) -> str:
    return client.get("/bookings/", query_string=query, headers=PARTIAL).get_data(as_text=True)


def version(db) -> str | None:
    return db.session.scalar(select(SearchKeysVersion.token))


def test_a_search_is_counted_once_until_an_import_writes_keys(client, auth, make, world, db, count_queries):
    make.import_bookings(*keep_bookings(0, 30))
    auth.login(world.agent)
    with count_queries() as first:
        assert "Showing 1–25 of 30 bookings" in shown(client, q="KEEPSAKE")
    assert counts_in(first.statements), first.statements
    with count_queries() as again:
        assert "Showing 1–25 of 30 bookings" in shown(client, q="KEEPSAKE")
    assert not counts_in(again.statements), again.statements
    assert len(again.statements) == len(first.statements) - 1

    # Two more bookings: the version changes with the import, and the count at once.
    before = version(db)
    make.import_bookings(*keep_bookings(30, 32))
    assert version(db) != before
    assert "Showing 1–25 of 32 bookings" in shown(client, q="KEEPSAKE")

    # A re-import that renames a passenger takes the booking out of the search.
    renamed = keep_bookings(31, 32, surname="ELSEWHERE")
    make.import_bookings(*renamed)
    assert "Showing 1–25 of 31 bookings" in shown(client, q="KEEPSAKE")
    assert "Showing 1–1 of 1 booking" in shown(client, q="ELSEWHERE")

    # The same file again writes nothing: the version and the kept count stay.
    kept = version(db)
    make.import_bookings(*copy.deepcopy(renamed))
    assert version(db) == kept
    with count_queries() as unchanged:
        assert "Showing 1–25 of 31 bookings" in shown(client, q="KEEPSAKE")
    assert not counts_in(unchanged.statements), unchanged.statements


def test_each_scope_has_its_own_count(client, auth, make, world):
    make.import_bookings(*keep_bookings(0, 27))
    make.import_bookings(
        *[
            booking_doc(
                order_number=f"OK{n:08d}",
                account="OTHER",
                passengers=[passenger_doc("P1", "KEEPSAKE", "TEST", f"618-30{n:08d}")],
            )
            for n in range(5)
        ]
    )
    auth.login(world.agent)
    assert "Showing 1–25 of 27 bookings" in shown(client, q="KEEPSAKE")
    auth.logout()
    auth.login(world.ops)
    assert "Showing 1–25 of 32 bookings" in shown(client, q="KEEPSAKE")
    account = str(world.other.id)
    assert "Showing 1–5 of 5 bookings" in shown(client, q="KEEPSAKE", account=account)
    auth.logout()
    auth.login(world.other_agent)
    assert "Showing 1–5 of 5 bookings" in shown(client, q="KEEPSAKE")


def test_a_rolled_back_import_leaves_the_version(client, auth, make, world, db):
    from portal.services.bookings import import_bookings

    make.import_bookings(*keep_bookings(0, 26))
    before = version(db)
    doc = {"format": "portal-bookings/1", "airlines": [], "bookings": keep_bookings(26, 40)}
    assert len(import_bookings(json.dumps(doc)).created) == 14
    db.session.rollback()
    assert version(db) == before
    auth.login(world.agent)
    assert "Showing 1–25 of 26 bookings" in shown(client, q="KEEPSAKE")


def test_a_count_kept_lives_a_minute_whoever_writes_keys(client, auth, make, world, monkeypatch):
    """A writer of keys that does not renew the version (a data fix in SQL, the previous release's job
    runner during a deploy) leaves a count at most COUNT_KEPT_SECONDS old."""
    from portal.services import bookings, search

    make.import_bookings(*keep_bookings(0, 30))
    auth.login(world.agent)
    assert "Showing 1–25 of 30 bookings" in shown(client, q="KEEPSAKE")
    monkeypatch.setattr(bookings, "keys_changed", lambda: None)
    make.import_bookings(*keep_bookings(30, 40))
    assert "Showing 1–25 of 30 bookings" in shown(client, q="KEEPSAKE")  # kept: the version did not move
    monkeypatch.setattr(search, "COUNT_KEPT_SECONDS", 0)  # its minute is over
    assert "Showing 1–25 of 40 bookings" in shown(client, q="KEEPSAKE")
