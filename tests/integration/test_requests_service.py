"""Service requests against the database: raising, the one-open rule (service and index), the refund an
Agent & Passenger Initiated Refund creates, quotes and their acceptance, the thread, admin changes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.clock import utcnow
from portal.domain.refunds import RefundPath
from portal.domain.requests import OpenRequestExists, QuoteError, RequestTransitionError
from portal.models import Refund, RequestCategory, RequestEvent, ServiceRequest
from portal.models.requests import AppendOnlyViolation
from portal.services import catalogues
from portal.services import requests as service
from portal.services.refunds import CouponTaken, RefundError, create_refund, whole_passengers
from portal.services.scope import Scope
from portal.services.setup import seed_defaults
from tests.conftest import (
    passenger_doc,
    portal_today,
    quote_service_request,
    raise_service_request,
    request_category,
)


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_defaults_are_seeded_once_and_grouped(db):
    seed_defaults()
    seed_defaults()
    tree = catalogues.category_tree(active_only=True)
    assert [g.label for g, _ in tree] == ["Post-Ticketing Request"]
    assert [c.label for c in tree[0][1]] == [
        "Cancel & Refund",
        "Agent & Passenger Initiated Refund",
        "Name Correction",
        "Voluntary Flight Change",
        "Involuntary Flight Change",
        "Ancillary Baggage",
        "Other",
    ]
    assert count(db, RequestCategory) == 8


def test_seeding_keeps_an_admins_rename(db):
    category = request_category(db, "name_correction")
    category.label = "Name change"
    db.session.commit()
    seed_defaults()
    db.session.commit()
    assert request_category(db, "name_correction").label == "Name change"


def test_raise_a_request(db, world):
    req = raise_service_request(db, world.booking, world.agent, "name_correction", passengers=())
    assert req.number == f"SR{req.id:08d}"
    assert req.status == "new" and req.account_id == world.demo.id
    assert [e.kind for e in req.events] == ["created"]
    assert req.events[0].note == "Raised as Post-Ticketing Request › Name Correction."


def test_refund_requests_need_passengers_and_a_description(db, world):
    with pytest.raises(service.RequestError, match="passengers concerned"):
        raise_service_request(db, world.booking, world.agent, "cancel_refund", passengers=())
    with pytest.raises(service.RequestError, match="Describe the issue"):
        raise_service_request(db, world.booking, world.agent, "other", description="   ")
    with pytest.raises(service.RequestError, match="not on this booking"):
        raise_service_request(db, world.booking, world.agent, "other", passengers=("P9",))
    db.session.rollback()
    assert count(db, ServiceRequest) == 0


def test_inactive_category_cannot_be_used(db, world):
    category = request_category(db, "other")
    catalogues.set_category_active(category, False)
    db.session.commit()
    assert catalogues.offered_category(category.id) is None
    with pytest.raises(service.RequestError, match="Choose a category"):
        raise_service_request(db, world.booking, world.agent, "other")


# --- one open request per booking and category ----------------------------------------------------


def test_a_second_open_request_is_refused_with_the_first_ones_number(db, world):
    first = raise_service_request(db, world.booking, world.agent, "other")
    with pytest.raises(OpenRequestExists) as exc:
        raise_service_request(db, world.booking, world.agent, "other")
    assert exc.value.number == first.number
    assert first.number in str(exc.value)
    # Another category, or another booking, is fine.
    raise_service_request(db, world.booking, world.agent, "name_correction")
    # Once the first is closed, a new one may be raised.
    service.change_status(first, "cancel", user=world.agent)
    db.session.commit()
    raise_service_request(db, world.booking, world.agent, "other")
    assert count(db, ServiceRequest) == 3


def test_the_database_refuses_a_second_open_request(db, world):
    """The partial unique index holds even when the service check is bypassed (two racing submits)."""
    first = raise_service_request(db, world.booking, world.agent, "other")
    db.session.add(
        ServiceRequest(
            booking_id=world.booking.id,
            account_id=world.demo.id,
            category_id=first.category_id,
            status="in_process",
            description="racing duplicate",
            created_by_id=world.agent.id,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    # A closed duplicate is allowed by the index.
    db.session.add(
        ServiceRequest(
            booking_id=world.booking.id,
            account_id=world.demo.id,
            category_id=first.category_id,
            status="completed",
            description="old one",
            created_by_id=world.agent.id,
        )
    )
    db.session.commit()


def test_a_race_past_the_service_check_ends_as_the_friendly_refusal(db, world, monkeypatch):
    first = raise_service_request(db, world.booking, world.agent, "other")
    monkeypatch.setattr(service, "open_request_for", lambda booking, category: None)
    with pytest.raises(OpenRequestExists) as exc:
        raise_service_request(db, world.booking, world.agent, "other")
    assert exc.value.number == first.number
    assert count(db, ServiceRequest) == 1


# --- Agent & Passenger Initiated Refund -----------------------------------------------------------


def test_agent_refund_request_creates_the_submitted_refund(db, world):
    req = raise_service_request(db, world.booking, world.agent, "agent_refund")
    [refund] = db.session.scalars(select(Refund)).all()
    assert refund.path == "agent_request" and refund.status == "submitted"
    assert refund.request_id == req.id
    assert {(c.passenger.ref, c.segment.ref) for c in refund.coupons} == {("P1", "S1"), ("P1", "S2")}
    assert [e.kind for e in req.events] == ["created", "refund"]
    assert req.events[-1].refund_id == refund.id


@pytest.mark.parametrize("channel", ["vcc", "vcc_passthrough"])
def test_agent_refund_request_is_refused_for_card_orders(db, world, make, channel):
    booking = make.booking(
        order_number="VC10000001",
        payment_channel=channel,
        passengers=[passenger_doc("P1", "NAIR", "ARJUN", "618-2400000077")],
    )
    with pytest.raises(service.RequestError, match="VCC"):
        raise_service_request(db, booking, world.agent, "agent_refund")
    db.session.rollback()
    assert count(db, ServiceRequest) == 0 and count(db, Refund) == 0
    # A thread-only request or a quoted Cancel & Refund is fine for card orders.
    raise_service_request(db, booking, world.agent, "cancel_refund")


def test_agent_refund_request_with_nothing_left_to_refund(db, world):
    create_refund(
        world.booking,
        whole_passengers(world.booking, ["P1"], utcnow()),
        path=RefundPath.INSTANT_QUOTE,
        user=world.agent,
    )
    db.session.commit()
    with pytest.raises(service.RequestError, match="no unflown segments left"):
        raise_service_request(db, world.booking, world.agent, "agent_refund")
    db.session.rollback()
    assert count(db, ServiceRequest) == 0


# --- Cancel & Refund quotes -----------------------------------------------------------------------


@pytest.fixture
def two_pax(make, world):
    return make.booking(
        order_number="RQ10000001",
        passengers=[
            passenger_doc("P1", "TAN", "WEI MING", "618-2400000011"),
            passenger_doc("P2", "TAN", "HUI LING", "618-2400000012"),
        ],
    )


def test_quote_accept_creates_the_operator_refund_with_the_posted_amounts(db, world, two_pax):
    req = raise_service_request(db, two_pax, world.agent, "cancel_refund", passengers=("P1", "P2"))
    quote = quote_service_request(db, req, world.ops, amounts={"P1": "401.10", "P2": "0"})
    assert req.status == "processed" and req.processed_at is not None
    refund = service.accept_quote(req, quote, user=world.agent)
    db.session.commit()
    assert refund.path == "request_quote" and refund.status == "requested"
    assert refund.request_id == req.id and quote.refund_id == refund.id
    # The posted quote, not the fare rule's (which would have been 315.00 each less the service fee).
    assert refund.estimated_amount == Decimal("401.10")
    assert refund.service_fee == Decimal("0.00")
    assert {line.passenger.ref: line.amount for line in refund.passengers} == {
        "P1": Decimal("401.10"),
        "P2": Decimal("0.00"),
    }
    assert all(line.quote_case == "exact" for line in refund.passengers)
    assert quote.status == "accepted" and req.status == "in_process"
    assert [e.kind for e in req.events][-1] == "quote_accepted"


def test_a_new_quote_replaces_the_open_one(db, world):
    req = raise_service_request(db, world.booking, world.agent)
    first = quote_service_request(db, req, world.ops, amounts={"P1": "100"})
    second = quote_service_request(db, req, world.ops, amounts={"P1": "120"})
    assert first.status == "superseded" and second.status == "open"
    assert req.open_quote is second
    with pytest.raises(QuoteError, match="no longer"):
        service.accept_quote(req, first, user=world.agent)


def test_accept_refuses_taken_coupons_and_keeps_the_quote_open(db, world):
    req = raise_service_request(db, world.booking, world.agent)
    quote = quote_service_request(db, req, world.ops)
    create_refund(
        world.booking,
        whole_passengers(world.booking, ["P1"], utcnow()),
        path=RefundPath.INSTANT_QUOTE,
        user=world.agent,
    )
    db.session.commit()
    with pytest.raises((RefundError, service.RequestError)):
        service.accept_quote(req, quote, user=world.agent)
    db.session.rollback()
    assert quote.status == "open" and count(db, Refund) == 1


def test_accept_is_safe_when_the_coupons_go_between_check_and_insert(db, world, monkeypatch):
    """The live-coupon index still decides: a race past the checks ends as CouponTaken, nothing half-done."""
    req = raise_service_request(db, world.booking, world.agent)
    quote = quote_service_request(db, req, world.ops)
    number = req.number
    import portal.services.refunds as refunds

    create_refund(
        world.booking,
        whole_passengers(world.booking, ["P1"], utcnow()),
        path=RefundPath.INSTANT_QUOTE,
        user=world.agent,
    )
    db.session.commit()
    monkeypatch.setattr(refunds, "check_selection", lambda *a, **k: None)  # as if checked before the other
    monkeypatch.setattr(
        service,
        "whole_passengers",
        lambda booking, refs, now: [(world.booking.passengers[0], s) for s in world.booking.segments],
    )
    with pytest.raises(CouponTaken):
        service.accept_quote(req, quote, user=world.agent)
    db.session.rollback()
    req = db.session.scalar(service.request_query(number))
    assert req.open_quote is not None and count(db, Refund) == 1


def test_expired_quote_cannot_be_accepted(db, world):
    req = raise_service_request(db, world.booking, world.agent)
    quote = quote_service_request(db, req, world.ops)
    later = service.quote_expires_at(quote.valid_until) + timedelta(seconds=1)
    with pytest.raises(QuoteError, match="expired"):
        service.accept_quote(req, quote, user=world.agent, now=later)


def test_decline(db, world):
    req = raise_service_request(db, world.booking, world.agent)
    quote = quote_service_request(db, req, world.ops)
    service.decline_quote(req, quote, user=world.agent)
    db.session.commit()
    assert quote.status == "declined" and req.status == "in_process" and count(db, Refund) == 0


def test_quotes_only_on_cancel_and_refund_and_only_by_operations(db, world):
    general = raise_service_request(db, world.booking, world.agent, "other")
    with pytest.raises(service.RequestError, match="only on Cancel & Refund"):
        service.post_quote(general, user=world.ops, amounts={"P1": "1"}, valid_until=portal_today())
    req = raise_service_request(db, world.booking, world.agent)
    with pytest.raises(Exception, match="agency cannot"):
        service.post_quote(req, user=world.agent, amounts={"P1": "1"}, valid_until=portal_today())
    with pytest.raises(QuoteError, match="past"):
        service.post_quote(
            req, user=world.ops, amounts={"P1": "1"}, valid_until=portal_today() - timedelta(days=2)
        )
    quote = quote_service_request(db, req, world.ops)
    with pytest.raises(Exception, match="Operations cannot"):
        service.accept_quote(req, quote, user=world.ops)


# --- the thread -----------------------------------------------------------------------------------


def test_agency_reply_reopens_a_processed_request(db, world):
    req = raise_service_request(db, world.booking, world.agent, "other")
    service.take(req, user=world.ops)
    service.change_status(req, "mark_processed", user=world.ops)
    assert req.status == "processed"
    service.post_message(req, user=world.agent, body="Not done yet, please check.")
    db.session.commit()
    assert req.status == "in_process"
    assert req.events[-1].from_status == "processed" and req.events[-1].to_status == "in_process"


def test_internal_notes_stay_internal(db, world):
    req = raise_service_request(db, world.booking, world.agent, "other")
    before = req.last_activity_at
    service.post_message(req, user=world.ops, body="Customer is difficult", internal=True)
    db.session.commit()
    assert req.last_activity_at == before  # the agency's "last activity" does not move
    agent_view = service.thread(req, staff=False)
    ops_view = service.thread(req, staff=True)
    assert all("difficult" not in (e.body or "") for e in agent_view)
    assert any(e.internal and "difficult" in e.body for e in ops_view)


def test_agents_cannot_write_internal_notes(db, world):
    req = raise_service_request(db, world.booking, world.agent, "other")
    message = service.post_message(req, user=world.agent, body="hello", internal=True)
    assert message.internal is False


def test_closed_request_takes_no_agency_reply(db, world):
    req = raise_service_request(db, world.booking, world.agent, "other")
    service.change_status(req, "cancel", user=world.agent)
    with pytest.raises(RequestTransitionError):
        service.post_message(req, user=world.agent, body="hello?")


def test_events_are_append_only(db, world):
    req = raise_service_request(db, world.booking, world.agent, "other")
    event = db.session.scalar(select(RequestEvent))
    event.note = "rewritten"
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    assert req.events


# --- lists ----------------------------------------------------------------------------------------


def test_search_and_filters(db, world, make):
    a = raise_service_request(db, world.booking, world.agent, "other")
    b = raise_service_request(db, world.booking, world.agent, "name_correction")
    theirs = raise_service_request(db, world.other_booking, world.other_agent, "other")
    service.change_status(b, "cancel", user=world.agent)
    db.session.commit()

    def numbers(filters, scope=Scope(world.demo.id)):
        return [r.number for r in service.search_requests(filters, scope, 1, 25).items]

    F = service.RequestFilters
    assert set(numbers(F())) == {a.number, b.number}
    assert numbers(F(status="open")) == [a.number]
    assert numbers(F(status="cancelled")) == [b.number]
    assert numbers(F(q=a.number)) == [a.number]
    assert set(numbers(F(q="at1000"))) == {a.number, b.number}  # order-number prefix
    assert numbers(F(q=theirs.number)) == []  # never another account's
    assert numbers(F(category_id=a.category_id)) == [a.number]
    assert set(numbers(F(), scope=Scope.everything())) == {a.number, b.number, theirs.number}


# --- admin ----------------------------------------------------------------------------------------


def test_admin_category_changes(db, world):
    group = catalogues.add_category("Group Bookings", "", "general")
    child = catalogues.add_category("Split PNR", str(group.id), "general")
    db.session.commit()
    # An empty group is not offered; with an active child it is.
    assert "Group Bookings" in [g.label for g, _ in catalogues.category_tree(active_only=True)]
    other = request_category(db, "other")
    catalogues.move_category(other, str(group.id))
    catalogues.reorder_category(other, "up")
    db.session.commit()
    tree = dict((g.label, [c.label for c in cs]) for g, cs in catalogues.category_tree(active_only=True))
    assert tree["Group Bookings"] == ["Other", "Split PNR"]
    catalogues.update_category(child, label="  Split   a PNR ", behaviour="baggage")
    assert child.label == "Split a PNR" and child.behaviour == "baggage"
    with pytest.raises(catalogues.AdminError, match="holds categories"):
        catalogues.delete_category(group)
    raise_service_request(db, world.booking, world.agent, "other")
    with pytest.raises(catalogues.AdminError, match="deactivate it instead"):
        catalogues.delete_category(other)
    catalogues.delete_category(child)
    db.session.commit()
    with pytest.raises(catalogues.AdminError, match="Enter a name"):
        catalogues.update_category(other, label=" ")


def test_admin_reason_changes(db):
    reason = catalogues.add_reason("Strike at the airport", involuntary=True)
    db.session.commit()
    assert catalogues.all_reasons()[-1] is reason and reason.involuntary
    catalogues.reorder_reason(reason, "up")
    catalogues.update_reason(reason, label="Airport strike", involuntary=False)
    catalogues.set_reason_active(reason, False)
    db.session.commit()
    labels = [r.label for r in catalogues.all_reasons()]
    assert labels[-2] == "Airport strike" and not reason.active and not reason.involuntary
