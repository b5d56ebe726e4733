"""The test helpers themselves: the refund factory walks the real services, the clock fixture moves."""

from datetime import date, timedelta

import pytest

from portal import clock as portal_clock
from portal.models import LedgerEntry
from tests.conftest import FROZEN_AT


@pytest.mark.parametrize(
    ("path", "status", "events"),
    [
        ("instant_quote", "requested", 1),
        ("instant_quote", "submitted", 2),
        ("instant_quote", "received", 3),
        ("instant_quote", "refunded", 4),
        ("instant_quote", "rejected", 2),
        ("agent_request", "submitted", 1),
        ("agent_request", "refunded", 3),
        ("agent_request", "rejected", 2),
    ],
)
def test_make_refund_reaches_each_status_through_the_services(db, world, make, path, status, events):
    refund = make.refund(world.booking, world.agent, status=status, path=path, by=world.ops)
    assert refund.status == status and refund.code.startswith("RF")
    assert [e.to_status for e in refund.events][-1] == status
    assert len(refund.events) == events and refund.events[0].from_status is None
    credited = db.session.query(LedgerEntry).filter_by(refund_id=refund.id).count()
    assert credited == (1 if status == "refunded" else 0)


def test_make_refund_refuses_a_status_the_path_never_has(world, make):
    with pytest.raises(ValueError, match="starts submitted"):
        make.refund(world.booking, world.agent, status="requested", path="agent_request")


def test_clock_fixture_freezes_and_moves_the_portal_clock(clock):
    assert portal_clock.utcnow() == FROZEN_AT == clock.now
    assert clock.advance(hours=4) == portal_clock.utcnow() == FROZEN_AT + timedelta(hours=4)
    clock.set(FROZEN_AT.replace(hour=16, minute=30))  # 00:30 the next day in Singapore
    assert clock.today() == date(2026, 6, 16)
    assert portal_clock.today_in("UTC") == date(2026, 6, 15)


def test_refunds_made_under_the_clock_carry_its_time(clock, world, make):
    refund = make.refund(world.booking, world.agent)
    assert refund.created_at == FROZEN_AT
    clock.advance(days=1)
    assert make.refund(world.other_booking, world.other_agent).created_at == FROZEN_AT + timedelta(days=1)
