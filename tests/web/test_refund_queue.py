"""The operations refund queue: filters, in-place actions, the ledger credit and the balance."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.domain.refunds import RefundPath
from portal.models import LedgerEntry, Refund, RefundCoupon
from portal.services.refunds import create_refund, parse_coupon_keys
from tests.conftest import passenger_doc, portal_today


@pytest.fixture
def refund(world, make):
    """An instant-quote refund of AT10000001 (one adult, estimate 315.00, service fee 15.00)."""
    return make.refund(world.booking, world.agent)


def act(client, refund, action, htmx=True, **data):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/operations/refunds/{refund.id}/{action}", data=data, headers=headers)


def test_agents_cannot_open_the_queue(client, auth, world, refund):
    auth.login(world.agent)
    assert client.get("/operations/refunds").status_code == 403
    assert act(client, refund, "reject", reason="x").status_code == 403


def test_the_whole_life_of_a_deposit_refund(client, auth, world, refund, db):
    auth.login(world.ops)
    queue = client.get("/operations/refunds").get_data(as_text=True)
    assert refund.code in queue and "Mark submitted to airline" in queue and "DEMO" in queue

    row = act(client, refund, "mark_submitted_to_airline", reference="SQ-RF-778")
    assert row.status_code == 200
    body = row.get_data(as_text=True)
    assert (
        body.lstrip().startswith("<tr") and "Submitted to airline" in body and "Record airline refund" in body
    )

    today = portal_today().isoformat()
    row = act(
        client, refund, "record_airline_refund", amount="300.00", refunded_on=today, reference="SQ-PAY-1"
    )
    assert "Airline refund received" in row.get_data(as_text=True)

    row = act(client, refund, "credit_balance")
    assert "Refunded" in row.get_data(as_text=True)
    db.session.expire_all()
    done = db.session.get(Refund, refund.id)
    assert done.status == "refunded" and str(done.credited_amount) == "285.00"  # 300.00 less 15.00 fee
    assert [e.to_status for e in done.events] == ["requested", "submitted", "received", "refunded"]
    assert all(e.actor_id == world.ops.id for e in done.events[1:])
    [entry] = db.session.scalars(select(LedgerEntry)).all()
    assert (
        entry.account_id == world.demo.id and str(entry.amount) == "285.00" and entry.refund_id == refund.id
    )

    client.post("/logout")
    auth.login(world.agent)
    info = client.get("/bookings/AT10000001/refund-info").get_data(as_text=True)
    assert "Refunded amount" in info and "SGD 285.00" in info
    assert "Balance: SGD 285.00" in info


def test_card_orders_close_without_a_ledger_credit(client, auth, world, make, db):
    booking = make.booking(
        order_number="VC20000001", payment_channel="vcc", passengers=[passenger_doc(ticket="618-2400000555")]
    )
    made = create_refund(
        booking,
        parse_coupon_keys(booking, ["P1.S1", "P1.S2"]),
        path=RefundPath.INSTANT_QUOTE,
        user=world.agent,
    )
    db.session.commit()
    auth.login(world.ops)
    act(client, made, "mark_submitted_to_airline", reference="R1")
    act(
        client,
        made,
        "record_airline_refund",
        amount="310.00",
        refunded_on=portal_today().isoformat(),
        reference="P",
    )
    act(client, made, "credit_balance")
    db.session.expire_all()
    assert db.session.get(Refund, made.id).status == "refunded"
    assert db.session.scalars(select(LedgerEntry)).all() == []


def test_reject_frees_the_coupons_for_a_new_refund(client, auth, world, refund, db):
    auth.login(world.ops)
    row = act(client, refund, "reject", reason="Ticket already refunded by the airline to the card")
    assert "Rejected" in row.get_data(as_text=True)
    db.session.expire_all()
    assert not any(c.live for c in db.session.scalars(select(RefundCoupon)))
    again = create_refund(
        db.session.get(type(world.booking), world.booking.id),
        parse_coupon_keys(world.booking, ["P1.S1"]),
        path=RefundPath.INSTANT_QUOTE,
        user=world.agent,
    )
    db.session.commit()
    assert again.status == "requested"


@pytest.mark.parametrize(
    ("action", "data", "message", "status"),
    [
        ("mark_submitted_to_airline", {}, "Enter the airline&#39;s reference", 422),
        (
            "record_airline_refund",
            {"amount": "1", "refunded_on": portal_today().isoformat(), "reference": "x"},
            "cannot have an airline refund recorded",
            409,
        ),
        ("credit_balance", {}, "cannot be credited", 409),
        ("reject", {}, "Enter the reason", 422),
    ],
)
def test_wrong_or_incomplete_actions_get_a_message_in_the_row(
    client, auth, world, refund, db, action, data, message, status
):
    """Missing input is 422; an action the refund's status does not allow is a conflict (409)."""
    auth.login(world.ops)
    response = act(client, refund, action, **data)
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert message in body and body.lstrip().startswith("<tr")
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).status == "requested"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "-5", "reference": "x"}, "non-negative amount"),
        ({"amount": "12.345", "reference": "x"}, "at most two decimals"),
        ({"amount": "abc", "reference": "x"}, "as a number"),
        ({"amount": "10", "reference": "x", "future": True}, "cannot be in the future"),
    ],
)
def test_airline_refund_figures_are_checked(client, auth, world, refund, db, data, message):
    auth.login(world.ops)
    act(client, refund, "mark_submitted_to_airline", reference="R")
    when = portal_today() + timedelta(days=1) if data.pop("future", False) else portal_today()
    response = act(client, refund, "record_airline_refund", refunded_on=when.isoformat(), **data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_without_javascript_actions_redirect_back(client, auth, world, refund, db):
    auth.login(world.ops)
    response = act(client, refund, "mark_submitted_to_airline", htmx=False, reference="SQ1")
    assert response.status_code == 303
    assert "Submitted to airline" in client.get("/operations/refunds").get_data(as_text=True)


def test_queue_filters(client, auth, world, refund, db):
    auth.login(world.ops)
    assert refund.code in client.get("/operations/refunds", query_string={"status": "requested"}).get_data(
        as_text=True
    )
    assert refund.code not in client.get("/operations/refunds", query_string={"status": "refunded"}).get_data(
        as_text=True
    )
    assert refund.code not in client.get(
        "/operations/refunds", query_string={"path": "refund_claim"}
    ).get_data(as_text=True)
    assert refund.code not in client.get(
        "/operations/refunds", query_string={"account": world.other.id}
    ).get_data(as_text=True)
    partial = client.get("/operations/refunds", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<header" not in partial and refund.code in partial


def test_unknown_refund_or_action_is_404(client, auth, world, refund):
    auth.login(world.ops)
    assert client.post("/operations/refunds/999999/reject", data={"reason": "x"}).status_code == 404
    assert client.post(f"/operations/refunds/{refund.id}/explode").status_code == 404
