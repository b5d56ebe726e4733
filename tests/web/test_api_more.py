"""The API's Add Baggage, schedule changes, balance and statement: the same services as the pages, money as
strings with their currency, 409 for state conflicts, 404 for another account's booking, and bad input a
422 problem naming the field. Also the `schedule_change.detected` webhook event the import writes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.models import BaggageOption, BaggageOrder, ScheduleChange, WebhookDelivery, WebhookEvent
from tests.conftest import booking_doc, credit_refund, order_baggage, passenger_doc, portal_today, rescheduled
from tests.web.test_api import assert_problem, bearer, key_for

API = "/api/v1"


@pytest.fixture
def agent_key(db, world):
    return key_for(db, world.agent)


def is_money(value, amount: str, currency: str = "SGD") -> bool:
    return value == {"amount": amount, "currency": currency} and isinstance(value["amount"], str)


def option_id(db, code="XBAG10"):
    return db.session.scalar(select(BaggageOption.id).where(BaggageOption.code == code))


def orders(db):
    db.session.expire_all()
    return db.session.scalars(select(BaggageOrder).order_by(BaggageOrder.id)).all()


def errors_of(problem) -> list[str]:
    return [e["field"] for e in problem.get("errors", [])]


# --- Add Baggage: what a booking is offered -----------------------------------------------------------------


@pytest.fixture
def family(make, world):
    """A DEMO booking for an adult and an infant, both flights ahead."""
    return make.booking(
        order_number="BG10000001",
        passengers=[
            passenger_doc("P1", "TAN", "WEI MING", "618-2400000031"),
            {**passenger_doc("P2", "TAN", "BABY", "618-2400000032", ptype="INF"), "title": "MSTR"},
        ],
    )


def test_baggage_options_show_the_catalogue_and_why_not_per_passenger_and_flight(
    client, db, world, family, agent_key
):
    ordered = order_baggage(db, family, world.agent, passenger="P1", segment="S1")
    body = client.get(f"{API}/bookings/BG10000001/baggage-options", headers=bearer(agent_key)).get_json()
    assert body["order_number"] == "BG10000001" and body["currency"] == "SGD"
    [option] = body["options"]  # the booking airline's only; Scoot's bag is not offered
    assert option["code"] == "XBAG10" and option["weight_kg"] == 10 and option["available"] is True
    assert option["id"] == option_id(db) and is_money(option["price"], "95.00")
    passengers = {p["ref"]: p for p in body["passengers"]}
    assert passengers["P1"]["available"] is True and passengers["P1"]["reason"] is None
    assert passengers["P2"]["available"] is False and passengers["P2"]["reason_code"] == "infant"
    assert "infant" in passengers["P2"]["reason"]
    assert [s["ref"] for s in body["segments"]] == ["S1", "S2"]
    coupons = {(c["passenger"], c["segment"]): c for c in body["coupons"]}
    assert coupons[("P1", "S1")]["reason_code"] == "already_ordered"
    assert coupons[("P1", "S1")]["baggage_order"] == ordered.code
    assert coupons[("P1", "S2")]["available"] is True and coupons[("P1", "S2")]["baggage_order"] is None
    assert coupons[("P2", "S2")]["reason_code"] == "infant"


def test_a_flight_in_a_refund_is_not_offered(client, make, world, agent_key):
    make.refund(world.booking, world.agent, coupons=["P1.S2"])
    body = client.get(f"{API}/bookings/AT10000001/baggage-options", headers=bearer(agent_key)).get_json()
    coupons = {(c["passenger"], c["segment"]): c for c in body["coupons"]}
    assert coupons[("P1", "S2")]["reason_code"] == "in_refund" and coupons[("P1", "S1")]["available"]


def test_baggage_options_refuse_query_parameters(client, world, agent_key):
    problem = assert_problem(
        client.get(f"{API}/bookings/AT10000001/baggage-options?colour=red", headers=bearer(agent_key)), 422
    )
    assert errors_of(problem) == ["colour"]


# --- Add Baggage: ordering ----------------------------------------------------------------------------------


def order(client, key, **body):
    return client.post(f"{API}/baggage-orders", json=body, headers=bearer(key))


def test_an_order_is_201_requested_with_its_price_and_shows_on_the_booking(client, db, world, agent_key):
    response = order(
        client, agent_key, order_number="AT10000001", passenger="P1", segment="S2", option=option_id(db)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    [stored] = orders(db)
    assert body["code"] == stored.code and body["status"] == "requested"
    assert (body["order_number"], body["passenger"], body["segment"]) == ("AT10000001", "P1", "S2")
    assert body["option_code"] == "XBAG10" and is_money(body["price"], "95.00")
    assert body["settlement"] is None and body["failure_reason"] is None and body["created_at"].endswith("Z")
    assert stored.created_by_id == world.agent.id
    offered = client.get(f"{API}/bookings/AT10000001/baggage-options", headers=bearer(agent_key)).get_json()
    coupon = next(c for c in offered["coupons"] if (c["passenger"], c["segment"]) == ("P1", "S2"))
    assert coupon["baggage_order"] == body["code"]


def test_a_second_order_for_the_same_flight_is_409_and_makes_nothing(client, db, world, agent_key):
    line = {"order_number": "AT10000001", "passenger": "P1", "segment": "S1", "option": option_id(db)}
    assert order(client, agent_key, **line).status_code == 201
    problem = assert_problem(order(client, agent_key, **line), 409)
    assert "already ordered" in problem["detail"]
    assert len(orders(db)) == 1


def test_an_order_on_a_flight_in_a_refund_is_409(client, db, make, world, agent_key):
    make.refund(world.booking, world.agent, coupons=["P1.S2"])
    problem = assert_problem(
        order(
            client, agent_key, order_number="AT10000001", passenger="P1", segment="S2", option=option_id(db)
        ),
        409,
    )
    assert "in a refund" in problem["detail"] and orders(db) == []


def test_another_accounts_booking_is_404_and_gets_no_order(client, db, world, agent_key):
    assert_problem(
        order(
            client, agent_key, order_number="OT20000001", passenger="P1", segment="S1", option=option_id(db)
        ),
        404,
    )
    assert orders(db) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"option": "1"}, "option"),  # a number, not a string
        ({"option": 1.5}, "option"),
        ({"option": 2**70}, "option"),
        ({"option": 0}, "option"),
        ({"option": 999_999}, "option"),  # no such option (the service's word)
        ({"passenger": ""}, "passenger"),
        ({"passenger": "P\u0000"}, "passenger"),
        ({"passenger": "P9"}, "passenger"),  # not on this booking
        ({"segment": "S" * 21}, "segment"),
        ({"segment": None}, "segment"),
        ({"order_number": ["AT10000001"]}, "order_number"),
        ({"order_number": "A" * 21}, "order_number"),
        ({"order_number": "AT1000\u00000001"}, "order_number"),  # never reaches the database
    ],
)
def test_bad_order_input_is_a_422_naming_the_field(client, db, world, agent_key, change, field):
    body = {"order_number": "AT10000001", "passenger": "P1", "segment": "S2", "option": option_id(db)}
    problem = assert_problem(order(client, agent_key, **{**body, **change}), 422)
    assert field in errors_of(problem), problem
    assert orders(db) == []


def test_a_missing_field_is_named(client, db, world, agent_key):
    problem = assert_problem(order(client, agent_key, order_number="AT10000001", passenger="P1"), 422)
    assert set(errors_of(problem)) == {"segment", "option"}


# --- schedule changes ---------------------------------------------------------------------------------------


@pytest.fixture
def trip(make, world):
    """A DEMO booking's document, imported once (no change yet)."""
    doc = booking_doc(order_number="SC10000001", passengers=[passenger_doc(ticket="618-2400000061")])
    make.import_bookings(doc)
    return doc


def open_ids(db, order_number="SC10000001") -> list[int]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ScheduleChange.id)
            .join(ScheduleChange.booking)
            .where(ScheduleChange.acknowledged_at.is_(None))
            .where(ScheduleChange.booking.has(order_number=order_number))
            .order_by(ScheduleChange.id)
        )
    )


def test_the_list_shows_the_accounts_changes_with_old_and_new_local_times(
    client, db, make, world, trip, agent_key
):
    make.import_bookings(rescheduled(trip, segment=0, hours=3))
    theirs = booking_doc(
        order_number="OT20000002", account="OTHER", passengers=[passenger_doc(ticket="618-2400000062")]
    )
    make.import_bookings(theirs)
    make.import_bookings(rescheduled(theirs))  # another account's change: never listed
    body = client.get(f"{API}/schedule-changes?status=open", headers=bearer(agent_key)).get_json()
    [change] = body["data"]
    assert body["next_cursor"] is None
    assert (change["order_number"], change["segment"], change["kind"], change["status"]) == (
        "SC10000001",
        "S1",
        "time_changed",
        "open",
    )
    assert change["flight_number"] == "SQ978" and change["origin"] == "SIN"
    old, new = (datetime.fromisoformat(change[k]) for k in ("old_departure_at", "new_departure_at"))
    assert change["old_departure_at"].endswith("+08:00") and new - old == timedelta(hours=3)
    assert change["old_departure_at"] == trip["segments"][0]["departure"]
    assert change["detected_at"].endswith("Z") and change["answered_at"] is None
    assert change["refund_code"] is None and change["id"] == open_ids(db)[0]


def test_the_list_walks_by_cursor_and_filters_by_status(client, db, make, world, trip, agent_key):
    moved = rescheduled(rescheduled(trip, segment=0), segment=1)
    make.import_bookings(moved)  # two changes
    make.import_bookings(rescheduled(moved, segment=0))  # a third, later
    first = client.get(f"{API}/schedule-changes?limit=2", headers=bearer(agent_key)).get_json()
    second = client.get(
        f"{API}/schedule-changes?limit=2&cursor={first['next_cursor']}", headers=bearer(agent_key)
    ).get_json()
    seen = [c["id"] for c in first["data"] + second["data"]]
    assert sorted(seen) == open_ids(db) and len(seen) == 3 and second["next_cursor"] is None
    assert seen[0] == max(seen)  # newest found first
    assert client.get(f"{API}/schedule-changes?status=accepted", headers=bearer(agent_key)).get_json() == {
        "data": [],
        "next_cursor": None,
    }


def accept(client, key, ids, order_number="SC10000001"):
    return client.post(
        f"{API}/bookings/{order_number}/schedule-changes/accept", json={"changes": ids}, headers=bearer(key)
    )


def test_accepting_the_changes_read_answers_them_and_clears_action_required(
    client, db, make, world, trip, agent_key
):
    make.import_bookings(rescheduled(rescheduled(trip, segment=0), segment=1))
    ids = open_ids(db)
    response = accept(client, agent_key, ids)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["accepted"] == 2 and body["action_required"] is False
    assert [c["status"] for c in body["changes"]] == ["accepted", "accepted"]
    assert all(c["answered_at"].endswith("Z") for c in body["changes"])
    assert open_ids(db) == []
    listed = client.get(f"{API}/schedule-changes?status=accepted", headers=bearer(agent_key)).get_json()
    assert sorted(c["id"] for c in listed["data"]) == ids
    booking = client.get(f"{API}/bookings/SC10000001", headers=bearer(agent_key)).get_json()
    assert booking["action_required"] is False
    again = accept(client, agent_key, ids)  # a retry: nothing more to accept, not an error
    assert again.status_code == 200 and again.get_json()["accepted"] == 0


def test_a_change_found_after_the_ids_were_read_is_409_and_nothing_is_accepted(
    client, db, make, world, trip, agent_key
):
    moved = rescheduled(trip, segment=0)
    make.import_bookings(moved)
    seen = open_ids(db)
    make.import_bookings(rescheduled(moved, segment=1))  # a new change arrives meanwhile
    problem = assert_problem(accept(client, agent_key, seen), 409)
    assert errors_of(problem) == ["changes"]
    assert len(open_ids(db)) == 2  # the one read is not accepted either
    assert accept(client, agent_key, open_ids(db)).get_json()["accepted"] == 2


def test_accept_on_another_accounts_booking_is_404_and_answers_nothing(client, db, make, world, agent_key):
    theirs = booking_doc(
        order_number="OT20000002", account="OTHER", passengers=[passenger_doc(ticket="618-2400000062")]
    )
    make.import_bookings(theirs)
    make.import_bookings(rescheduled(theirs))
    ids = open_ids(db, "OT20000002")
    assert_problem(accept(client, agent_key, ids, order_number="OT20000002"), 404)
    assert open_ids(db, "OT20000002") == ids


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"changes": []}, "changes"),
        ({"changes": ["1"]}, "changes.0"),
        ({"changes": [2**70]}, "changes.0"),
        ({"changes": [-1]}, "changes.0"),
        ({"changes": list(range(1, 102))}, "changes"),
        ({"changes": 1}, "changes"),
        ({}, "changes"),
        ({"changes": [1], "all": True}, "all"),
    ],
)
def test_bad_accept_input_is_a_422_naming_the_field(client, db, make, world, trip, agent_key, body, field):
    make.import_bookings(rescheduled(trip))
    response = client.post(
        f"{API}/bookings/SC10000001/schedule-changes/accept", json=body, headers=bearer(agent_key)
    )
    problem = assert_problem(response, 422)
    assert field in errors_of(problem), problem
    assert len(open_ids(db)) == 1


def test_another_bookings_change_id_is_a_422_on_changes(client, db, make, world, trip, agent_key):
    make.import_bookings(rescheduled(trip))
    other = booking_doc(order_number="SC10000002", passengers=[passenger_doc(ticket="618-2400000063")])
    make.import_bookings(other)
    make.import_bookings(rescheduled(other))
    problem = assert_problem(accept(client, agent_key, open_ids(db, "SC10000002")), 422)
    assert errors_of(problem) == ["changes"]
    assert len(open_ids(db)) == 1 and len(open_ids(db, "SC10000002")) == 1


@pytest.mark.parametrize("query", ["status=closed", "limit=0", "limit=101", "cursor=nope", "colour=red"])
def test_bad_list_parameters_are_422(client, world, agent_key, query):
    problem = assert_problem(client.get(f"{API}/schedule-changes?{query}", headers=bearer(agent_key)), 422)
    assert query.split("=")[0] in errors_of(problem)


# --- the webhook event --------------------------------------------------------------------------------------


def events(db, event_type="schedule_change.detected"):
    db.session.expire_all()
    return db.session.scalars(select(WebhookEvent).where(WebhookEvent.type == event_type)).all()


def test_an_import_with_changes_writes_one_event_per_booking_and_none_when_unchanged(
    client, db, make, world, trip, agent_key
):
    hooks = {"events": ["schedule_change.detected"]}
    listening = client.post(
        f"{API}/webhook-endpoints", json={"url": "https://example.com/a", **hooks}, headers=bearer(agent_key)
    ).get_json()
    client.post(
        f"{API}/webhook-endpoints",
        json={"url": "https://example.com/b", "events": ["refund.credited"]},
        headers=bearer(agent_key),
    )
    make.import_bookings(trip)  # unchanged
    assert events(db) == []
    moved = rescheduled(rescheduled(trip, segment=0), segment=1)
    make.import_bookings(moved)
    [event] = events(db)
    data = json.loads(event.body)["data"]
    assert data["order_number"] == "SC10000001"
    assert [c["segment"] for c in data["changes"]] == ["S1", "S2"]
    assert sorted(c["id"] for c in data["changes"]) == open_ids(db)
    assert data["changes"][0]["status"] == "open" and data["changes"][0]["kind"] == "time_changed"
    deliveries = db.session.scalars(select(WebhookDelivery)).all()
    assert [d.endpoint_id for d in deliveries] == [listening["id"]]  # only the endpoint that listens
    make.import_bookings(moved)  # the same again: nothing new
    assert len(events(db)) == 1
    assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 1


# --- balance and statement ----------------------------------------------------------------------------------


def test_the_balance_is_zero_in_the_accounts_currency_before_anything_is_posted(client, world, agent_key):
    body = client.get(f"{API}/balance", headers=bearer(agent_key)).get_json()
    assert len(body["balances"]) == 1 and is_money(body["balances"][0], "0.00")


def test_the_balance_and_statement_show_a_credit(client, db, make, world, agent_key):
    refund = make.refund(world.booking, world.agent)
    credit_refund(db, refund, world.ops, amount="300.00")
    theirs = make.refund(world.other_booking, world.other_agent)
    credit_refund(db, theirs, world.ops, amount="120.00")  # another account's: never shown
    balance = client.get(f"{API}/balance", headers=bearer(agent_key)).get_json()
    assert balance == {"balances": [{"amount": "285.00", "currency": "SGD"}]}  # less DEMO's fee of 15
    today = portal_today()
    body = client.get(
        f"{API}/statement?from={today - timedelta(days=3)}&to={today}", headers=bearer(agent_key)
    ).get_json()
    assert (body["from"], body["to"]) == (str(today - timedelta(days=3)), str(today)) and body["time_zone"]
    [sgd] = body["statements"]
    assert is_money(sgd["opening_balance"], "0.00") and is_money(sgd["closing_balance"], "285.00")
    assert is_money(sgd["credits"], "285.00") and is_money(sgd["debits"], "0.00")
    [line] = sgd["lines"]
    assert line["kind"] == "refund_credit" and line["refund_code"] == refund.code
    assert line["order_number"] == "AT10000001" and line["created_at"].endswith("Z")
    assert is_money(line["amount"], "285.00") and is_money(line["balance"], "285.00")
    later = client.get(
        f"{API}/statement?from={today + timedelta(days=1)}&to={today + timedelta(days=2)}",
        headers=bearer(agent_key),
    ).get_json()["statements"][0]
    assert is_money(later["opening_balance"], "285.00") and later["lines"] == []


def test_a_baggage_debit_is_a_negative_line(client, db, world, agent_key):
    from portal.services.baggage import apply_baggage_action

    bag = order_baggage(db, world.booking, world.agent, segment="S2")
    apply_baggage_action(bag, "confirm", user=world.ops)
    db.session.commit()
    today = portal_today()
    sgd = client.get(f"{API}/statement?from={today}&to={today}", headers=bearer(agent_key)).get_json()[
        "statements"
    ][0]
    assert [line["kind"] for line in sgd["lines"]] == ["baggage_debit"]
    assert is_money(sgd["lines"][0]["amount"], "-95.00") and is_money(sgd["closing_balance"], "-95.00")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("to=2026-01-31", "from"),
        ("from=2026-01-01", "to"),
        ("from=2026-13-01&to=2026-12-31", "from"),
        ("from=2026-02-01&to=2026-01-31", "to"),
        ("from=2025-01-01&to=2026-01-31", "to"),  # more than a year
        ("from=0001-01-01&to=0001-01-02", "from"),
        ("from=9999-12-30&to=9999-12-31", "to"),
        ("from=20260101&to=x", "to"),
        ("from=2026-01-01&to=2026-01-31&account=2", "account"),
    ],
)
def test_bad_statement_periods_are_422_naming_the_field(client, world, agent_key, query, field):
    problem = assert_problem(client.get(f"{API}/statement?{query}", headers=bearer(agent_key)), 422)
    assert field in errors_of(problem), problem


def test_a_nul_in_the_period_is_refused(client, world, agent_key):
    response = client.get(f"{API}/statement?from=2026-01-01%00&to=2026-01-31", headers=bearer(agent_key))
    assert 400 <= response.status_code < 500 and response.mimetype == "application/problem+json"
