"""Add Baggage through the web: the slide-out, forged orders refused, and the operations Confirm / Fail."""

import copy
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal.clock import utcnow
from portal.models import Airline, BaggageOption, BaggageOrder, Booking, LedgerEntry
from tests.conftest import AIRLINES, booking_doc, order_baggage, passenger_doc

HX = {"HX-Request": "true"}


def orders(db):
    db.session.expire_all()
    return db.session.scalars(select(BaggageOrder).order_by(BaggageOrder.id)).all()


def ledger(db):
    return db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).all()


def option_id(db, airline, code):
    return db.session.scalar(
        select(BaggageOption.id).join(Airline).where(BaggageOption.code == code, Airline.code == airline)
    )


@pytest.fixture
def family(make, world):
    """A DEMO deposit booking: an adult and an infant; S1 departed yesterday, S2 in 30 days, S3 cancelled."""
    now = utcnow()
    doc = booking_doc(
        order_number="BG10000001",
        passengers=[
            passenger_doc("P1", "TAN", "WEI MING", "618-2400000031"),
            {**passenger_doc("P2", "TAN", "BABY", "618-2400000032"), "type": "INF", "title": "MSTR"},
        ],
    )
    sgt = datetime.fromisoformat(doc["segments"][0]["departure"]).tzinfo
    past = (now - timedelta(days=1)).astimezone(sgt)
    doc["segments"][0]["departure"] = past.isoformat()
    doc["segments"][0]["arrival"] = (past + timedelta(hours=2)).isoformat()
    third = copy.deepcopy(doc["segments"][1])
    third.update(ref="S3", flight_number="SQ980", status="cancelled")
    doc["segments"].append(third)
    make.import_bookings(doc)
    return make.db.session.scalar(select(Booking).where(Booking.order_number == "BG10000001"))


def post(client, order_number, htmx=True, **data):
    return client.post(f"/bookings/{order_number}/baggage", data=data, headers=HX if htmx else {})


def test_the_slideout_offers_the_airlines_catalogue_in_the_booking_currency(client, auth, world, family, db):
    auth.login(world.agent)
    page = client.get("/bookings/BG10000001/baggage", headers=HX).get_data(as_text=True)
    assert "<header" not in page  # a slide-out partial
    assert "Add Baggage BG10000001" in page
    assert "Extra 10 kg" in page and "SGD 95.00" in page
    assert "Checked bag 20 kg" not in page  # another airline's catalogue
    assert "TAN/BABY MSTR (Infant) — not for infants" in page
    assert "SQ978 SIN→BKK" in page and "— departed" in page
    assert "SQ980" in page and "— cancelled by the airline" in page
    assert "debited from your balance" in page


def test_without_javascript_the_slideout_is_a_page(client, auth, world):
    auth.login(world.agent)
    page = client.get("/bookings/AT10000001/baggage").get_data(as_text=True)
    assert "<header" in page and "Add Baggage AT10000001" in page


def test_adding_baggage_creates_a_requested_order_shown_on_the_booking(client, auth, world, db):
    auth.login(world.agent)
    response = post(client, "AT10000001", passenger="P1", segment="S2", option=option_id(db, "SQ", "XBAG10"))
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/bookings/AT10000001"
    [order] = orders(db)
    assert order.status == "requested" and order.code == f"BG{order.id:08d}"
    assert (order.passenger.ref, order.segment.ref, str(order.price), order.currency) == (
        "P1",
        "S2",
        "95.00",
        "SGD",
    )
    assert order.account_id == world.demo.id and order.created_by_id == world.agent.id
    assert ledger(db) == []  # nothing is debited before operations confirm
    details = client.get("/bookings/AT10000001").get_data(as_text=True)
    assert "Baggage added after ticketing" in details and order.code in details
    assert "Requested" in details and f"Baggage {order.code} requested" in details  # the flash


def test_without_javascript_adding_baggage_redirects_to_the_booking(client, auth, world, db):
    auth.login(world.agent)
    response = post(
        client, "AT10000001", htmx=False, passenger="P1", segment="S1", option=option_id(db, "SQ", "XBAG10")
    )
    assert response.status_code == 303 and response.headers["Location"] == "/bookings/AT10000001"
    assert len(orders(db)) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"passenger": "P2", "segment": "S2"}, "cannot be bought for an infant"),
        ({"passenger": "P1", "segment": "S1"}, "already departed"),
        ({"passenger": "P1", "segment": "S3"}, "The airline cancelled this flight"),
        ({"passenger": "P9", "segment": "S2"}, "Choose a passenger of this booking."),
        ({"passenger": "P1", "segment": "S9"}, "Choose a flight of this booking."),
        ({"passenger": "P1", "segment": "S2", "option": "TR:BG20"}, "not from this booking&#39;s airline"),
        ({"passenger": "P1", "segment": "S2", "option": "999999"}, "Choose a baggage option."),
        ({"passenger": "P1", "segment": "S2", "option": "abc"}, "Choose a baggage option."),
        ({"passenger": "", "segment": "S2"}, "Choose a passenger."),
    ],
    ids=[
        "infant",
        "departed",
        "cancelled",
        "unknown-pax",
        "unknown-seg",
        "other-airline",
        "no-option",
        "junk",
        "blank",
    ],
)
def test_forged_orders_are_refused_with_a_clear_message(client, auth, world, family, db, data, message):
    data = dict(data)
    option = data.pop("option", "SQ:XBAG10")
    if ":" in option:
        option = option_id(db, *option.split(":"))
    auth.login(world.agent)
    response = post(client, "BG10000001", option=option, **data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "<header" not in page and "Add Baggage BG10000001" in page  # the slide-out again, form kept
    assert orders(db) == []


def test_an_inactive_option_is_refused(client, auth, world, make, db):
    airlines = copy.deepcopy(AIRLINES)
    airlines[0]["baggage_options"] = [
        {
            "code": "XBAG20",
            "description": "Extra 20 kg",
            "weight_kg": 20,
            "price": "150.00",
            "currency": "SGD",
        }
    ]
    make.import_bookings(airlines=airlines)  # XBAG10 drops out of the catalogue
    auth.login(world.agent)
    page = client.get("/bookings/AT10000001/baggage", headers=HX).get_data(as_text=True)
    assert "Extra 20 kg" in page and "Extra 10 kg" not in page
    response = post(client, "AT10000001", passenger="P1", segment="S1", option=option_id(db, "SQ", "XBAG10"))
    assert response.status_code == 422
    assert "no longer offers that baggage option" in response.get_data(as_text=True)
    assert orders(db) == []


def test_an_option_in_another_currency_is_shown_but_not_sold(client, auth, world, make, db):
    airlines = copy.deepcopy(AIRLINES)
    airlines[0]["baggage_options"][0]["currency"] = "USD"
    make.import_bookings(airlines=airlines)
    auth.login(world.agent)
    page = client.get("/bookings/AT10000001/baggage", headers=HX).get_data(as_text=True)
    assert "USD 95.00" in page and "priced in another currency than the booking" in page
    response = post(client, "AT10000001", passenger="P1", segment="S1", option=option_id(db, "SQ", "XBAG10"))
    assert response.status_code == 422 and orders(db) == []


def test_a_second_click_creates_no_second_order(client, auth, world, db):
    auth.login(world.agent)
    data = {"passenger": "P1", "segment": "S1", "option": option_id(db, "SQ", "XBAG10")}
    assert post(client, "AT10000001", **data).status_code == 204
    again = post(client, "AT10000001", **data)
    assert again.status_code == 409
    page = again.get_data(as_text=True)
    assert "was already ordered" in page and "nothing new was created" in page
    assert len(orders(db)) == 1


def test_the_database_refuses_a_second_live_order(db, world):
    """The unique index is the last word, even when the service's own check is bypassed."""
    from sqlalchemy.exc import IntegrityError

    first = order_baggage(db, world.booking, world.agent)
    duplicate = BaggageOrder(
        booking_id=first.booking_id,
        account_id=first.account_id,
        passenger_id=first.passenger_id,
        segment_id=first.segment_id,
        option_id=first.option_id,
        description=first.description,
        price=first.price,
        currency=first.currency,
        status="requested",
        created_by_id=world.agent.id,
    )
    db.session.add(duplicate)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_coupon_in_a_refund_cannot_get_baggage(client, auth, world, db):
    auth.login(world.agent)
    from portal.domain.refunds import RefundPath
    from portal.services.refunds import create_refund, parse_coupon_keys

    create_refund(
        world.booking,
        parse_coupon_keys(world.booking, ["P1.S2"]),
        path=RefundPath.INSTANT_QUOTE,
        user=world.agent,
    )
    db.session.commit()
    response = post(client, "AT10000001", passenger="P1", segment="S2", option=option_id(db, "SQ", "XBAG10"))
    assert response.status_code == 409 and "is in a refund" in response.get_data(as_text=True)


def test_a_cancelled_booking_cannot_get_baggage(client, auth, world, make, db):
    make.booking(order_number="AT10000009", status="cancelled")
    auth.login(world.agent)
    page = client.get("/bookings/AT10000009/baggage", headers=HX).get_data(as_text=True)
    assert "baggage can be added only to a ticketed booking" in page
    response = post(client, "AT10000009", passenger="P1", segment="S1", option=option_id(db, "SQ", "XBAG10"))
    assert response.status_code == 422 and orders(db) == []


# --- Operations ---------------------------------------------------------------------------------------


def test_the_queue_lists_every_accounts_requested_orders(client, auth, world, db):
    mine = order_baggage(db, world.booking, world.agent)
    theirs = order_baggage(db, world.other_booking, world.other_agent)
    auth.login(world.ops)
    page = client.get("/operations/baggage").get_data(as_text=True)
    assert mine.code in page and theirs.code in page and "Baggage orders" in page
    narrowed = client.get(f"/operations/baggage?account={world.other.id}", headers=HX).get_data(as_text=True)
    assert theirs.code in narrowed and mine.code not in narrowed and "<header" not in narrowed


def test_confirming_a_deposit_order_debits_the_balance_once(client, auth, world, db):
    order = order_baggage(db, world.booking, world.agent)
    auth.login(world.ops)
    response = client.post(f"/operations/baggage/{order.id}/confirm", headers=HX)
    assert response.status_code == 200
    row = response.get_data(as_text=True)
    assert "Confirmed" in row and "Debited from the balance" in row
    [entry] = ledger(db)
    assert entry.kind == "baggage_debit" and str(entry.amount) == "-95.00" and entry.currency == "SGD"
    assert entry.account_id == world.demo.id and entry.created_by_id == world.ops.id
    assert entry.description.startswith(f"Baggage {order.code} for order AT10000001: TAN/WEI MING MR, SQ978")
    [order] = orders(db)
    assert (
        order.status == "confirmed"
        and order.ledger_entry_id == entry.id
        and order.decided_by_id == world.ops.id
    )

    again = client.post(f"/operations/baggage/{order.id}/confirm", headers=HX)
    assert again.status_code == 409 and "already confirmed" in again.get_data(as_text=True)
    assert len(ledger(db)) == 1

    auth.logout()
    auth.login(world.agent)
    details = client.get("/bookings/AT10000001").get_data(as_text=True)
    assert "Balance: SGD -95.00" in details and "Confirmed" in details


@pytest.mark.parametrize("channel", ["vcc", "vcc_passthrough"])
def test_confirming_a_card_order_writes_no_ledger_entry(client, auth, world, make, db, channel):
    booking = make.booking(
        order_number="VC10000001",
        payment_channel=channel,
        passengers=[passenger_doc(ticket="618-2400000041")],
    )
    order = order_baggage(db, booking, world.agent)
    auth.login(world.ops)
    row = client.post(f"/operations/baggage/{order.id}/confirm", headers=HX).get_data(as_text=True)
    assert "Charged to the card" in row
    assert ledger(db) == []
    assert orders(db)[0].settlement == "card"


def test_failing_needs_a_reason_and_frees_the_slot(client, auth, world, db):
    order = order_baggage(db, world.booking, world.agent)
    auth.login(world.ops)
    refused = client.post(f"/operations/baggage/{order.id}/fail", data={"reason": "  "}, headers=HX)
    assert refused.status_code == 422 and "Enter the reason" in refused.get_data(as_text=True)
    assert orders(db)[0].status == "requested"
    row = client.post(
        f"/operations/baggage/{order.id}/fail", data={"reason": "Airline bag limit reached"}, headers=HX
    ).get_data(as_text=True)
    assert "Failed" in row and "Airline bag limit reached" in row
    assert ledger(db) == []

    # The agency sees why, and may order again for the same passenger and flight.
    auth.logout()
    auth.login(world.agent)
    details = client.get("/bookings/AT10000001").get_data(as_text=True)
    assert "Failed" in details and "Airline bag limit reached" in details
    response = post(client, "AT10000001", passenger="P1", segment="S1", option=option_id(db, "SQ", "XBAG10"))
    assert response.status_code == 204
    assert [o.status for o in orders(db)] == ["failed", "requested"]


def test_without_javascript_queue_actions_redirect_with_a_message(client, auth, world, db):
    order = order_baggage(db, world.booking, world.agent)
    auth.login(world.ops)
    response = client.post(f"/operations/baggage/{order.id}/confirm")
    assert response.status_code == 303 and response.headers["Location"] == "/operations/baggage"
    page = client.get("/operations/baggage?status=confirmed").get_data(as_text=True)
    assert f"{order.code}: Confirmed." in page


def test_unknown_order_or_action_is_not_found(client, auth, world, db):
    order = order_baggage(db, world.booking, world.agent)
    auth.login(world.ops)
    assert client.post("/operations/baggage/999999/confirm").status_code == 404
    assert client.post(f"/operations/baggage/{order.id}/refund").status_code == 404


def test_booking_details_query_count_is_fixed_with_baggage_orders(
    client, auth, world, db, make, count_queries
):
    auth.login(world.agent)
    client.get("/bookings/AT10000001")
    with count_queries() as none:
        client.get("/bookings/AT10000001")
    order_baggage(db, world.booking, world.agent, segment="S1")
    order_baggage(db, world.booking, world.agent, segment="S2")
    with count_queries() as two:
        client.get("/bookings/AT10000001")
    assert two.count <= none.count + 1, two.statements


def test_the_empty_queue_says_what_to_do_for_the_filter_chosen(client, auth, world, db):
    order_baggage(db, world.booking, world.agent)
    auth.login(world.ops)
    mine_only = client.get(f"/operations/baggage?account={world.other.id}").get_data(as_text=True)
    assert "No baggage orders match. Nothing waits to be confirmed; set Status to Any" in mine_only
    failed = client.get("/operations/baggage?status=failed").get_data(as_text=True)
    assert "No baggage orders match. Try another status, or All accounts." in failed
    assert "Nothing waits" not in failed
