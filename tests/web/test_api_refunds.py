"""Refunds over the API: quotes and the refund one becomes, Refund Claims with a proof file, the refunds
list and one refund, and the follow-up from day 21."""

from __future__ import annotations

import io
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.models import Document, Refund, RefundQuote
from portal.services import refund_quotes
from portal.services.bookings import load_booking
from portal.services.scope import Scope
from tests.conftest import passenger_doc, portal_today
from tests.web.test_api import assert_problem, bearer, key_for

QUOTES = "/api/v1/bookings/{}/refund-quotes"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def agent_key(db, world):
    return key_for(db, world.agent)


def ask_quote(client, key, order="AT10000001", **body):
    body.setdefault("passengers", ["P1"])
    return client.post(QUOTES.format(order), json=body, headers=bearer(key))


def use(client, key, quote_id):
    return client.post("/api/v1/refunds", json={"quote_id": quote_id}, headers=bearer(key))


def refund_count(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Refund))


def fields_of(body) -> list[str]:
    return [e["field"] for e in body.get("errors", [])]


# --- quotes -------------------------------------------------------------------------------------------------


def test_a_quote_prices_whole_tickets_as_the_refund_button(clock, client, db, world, agent_key):
    response = ask_quote(client, agent_key)
    assert response.status_code == 201, response.get_data(as_text=True)
    quote = response.get_json()
    assert quote["id"].startswith("rq_") and len(quote["id"]) > 20
    assert quote["case"] == "exact" and quote["acceptable"] is True and quote["refusal"] is None
    assert quote["path"] == "instant_quote" and quote["involuntary"] is False
    # 420.00 fare − 150.00 cancellation fee + 60.00 refundable taxes − 15.00 DEMO's service fee.
    assert quote["total"] == {"amount": "315.00", "currency": "SGD"}
    (line,) = quote["passengers"]
    assert line["ref"] == "P1" and line["case"] == "exact"
    assert line["fare"]["amount"] == "420.00" and line["cancellation_fee"]["amount"] == "150.00"
    assert line["refundable_taxes"]["amount"] == "60.00" and line["service_fee"]["amount"] == "15.00"
    assert line["amount"]["amount"] == "315.00" and line["nothing_because"] is None
    assert quote["coupons"] == [{"passenger": "P1", "segment": "S1"}, {"passenger": "P1", "segment": "S2"}]
    assert quote["created_at"] == clock.now.isoformat().replace("+00:00", "Z")
    assert quote["expires_at"] == (clock.now + timedelta(minutes=15)).isoformat().replace("+00:00", "Z")
    assert db.session.scalar(select(RefundQuote.public_id)) == quote["id"]
    assert refund_count(db) == 0  # a quote refunds nothing


def test_some_segments_cannot_be_quoted_and_go_as_an_operator_refund(client, world, agent_key):
    quote = ask_quote(client, agent_key, segments=["S1"]).get_json()
    assert quote["case"] == "cannot_quote" and quote["total"] is None
    assert quote["passengers"][0]["amount"] is None
    assert quote["path"] == "cancel_refund"
    assert quote["coupons"] == [{"passenger": "P1", "segment": "S1"}]


def test_a_non_refundable_fare_is_quoted_at_nothing_and_cannot_be_used(client, make, world, agent_key):
    make.booking(
        order_number="AT10000009",
        account="DEMO",
        passengers=[
            passenger_doc("P1", "NG", "AI", "618-2400000009", refundable=False, refundable_taxes="0")
        ],
    )
    quote = ask_quote(client, agent_key, order="AT10000009").get_json()
    assert quote["case"] == "non_refundable" and quote["acceptable"] is False
    assert quote["total"]["amount"] == "0.00" and quote["refusal"]
    assert quote["passengers"][0]["nothing_because"] == "non_refundable_fare"
    assert_problem(use(client, agent_key, quote["id"]), 422)


def test_a_free_refund_needs_the_airlines_change(client, world, agent_key):
    body = assert_problem(ask_quote(client, agent_key, involuntary=True), 422)
    assert fields_of(body) == ["involuntary"]


def test_a_coupon_already_in_a_refund_is_409_when_quoting(client, make, world, agent_key):
    make.refund(world.booking, world.agent, coupons=["P1.S1"])
    body = assert_problem(ask_quote(client, agent_key, segments=["S1", "S2"]), 409)
    assert "Already in a refund" in body["detail"]
    # Whole tickets: what is left of P1 (S2) is quoted.
    quote = ask_quote(client, agent_key).get_json()
    assert quote["coupons"] == [{"passenger": "P1", "segment": "S2"}]


# --- using a quote ------------------------------------------------------------------------------------------


def test_using_a_quote_makes_the_refund_requested(clock, client, db, world, agent_key):
    quote = ask_quote(client, agent_key).get_json()
    response = use(client, agent_key, quote["id"])
    assert response.status_code == 201, response.get_data(as_text=True)
    refund = response.get_json()
    assert refund["code"].startswith("RF") and refund["status"] == "requested"
    assert refund["path"] == "instant_quote" and refund["order_number"] == "AT10000001"
    assert refund["estimated_amount"] == {"amount": "315.00", "currency": "SGD"}
    assert refund["airline_amount"] is None and refund["actual_amount"] is None
    assert refund["passengers"][0]["ref"] == "P1" and refund["passengers"][0]["amount"]["amount"] == "315.00"
    assert {(c["passenger"], c["segment"]) for c in refund["coupons"]} == {("P1", "S1"), ("P1", "S2")}
    assert [e["to_status"] for e in refund["events"]] == ["requested"]
    assert refund["events"][0]["text"].startswith("Requested")
    assert refund["follow_up"] == {
        "available": False,
        "available_from": (clock.today() + timedelta(days=21)).isoformat(),
    }
    assert refund["created_at"].endswith("Z") and refund["submitted_at"] is None
    # The booking shows it, and the stored quote names it.
    coupons = client.get("/api/v1/bookings/AT10000001", headers=bearer(agent_key)).get_json()["coupons"]
    assert {c["refund_code"] for c in coupons} == {refund["code"]}
    row = db.session.scalar(select(RefundQuote))
    assert row.used_at == clock.now and row.refund.code == refund["code"]
    assert client.get(f"/api/v1/refunds/{refund['code']}", headers=bearer(agent_key)).get_json() == refund


def test_a_quote_of_segments_makes_an_operator_refund(client, world, agent_key):
    quote = ask_quote(client, agent_key, segments=["S2"]).get_json()
    refund = use(client, agent_key, quote["id"]).get_json()
    assert refund["path"] == "cancel_refund" and refund["estimated_amount"] is None
    assert [(c["passenger"], c["segment"]) for c in refund["coupons"]] == [("P1", "S2")]


def test_a_used_quote_is_409_naming_its_refund(client, db, world, agent_key):
    quote_id = ask_quote(client, agent_key).get_json()["id"]
    code = use(client, agent_key, quote_id).get_json()["code"]
    body = assert_problem(use(client, agent_key, quote_id), 409)
    assert code in body["detail"] and fields_of(body) == ["quote_id"]
    assert refund_count(db) == 1


def test_an_expired_quote_is_409_and_says_where_to_get_a_new_one(clock, client, db, world, agent_key):
    quote_id = ask_quote(client, agent_key).get_json()["id"]
    clock.advance(minutes=15)
    body = assert_problem(use(client, agent_key, quote_id), 409)
    assert "expired" in body["detail"] and "POST /api/v1/bookings/AT10000001/refund-quotes" in body["detail"]
    assert refund_count(db) == 0
    assert db.session.scalar(select(RefundQuote.used_at)) is None


def test_a_quote_is_good_until_it_expires(clock, client, world, agent_key):
    quote_id = ask_quote(client, agent_key).get_json()["id"]
    clock.advance(minutes=14, seconds=59)
    assert use(client, agent_key, quote_id).status_code == 201


def test_the_quote_lifetime_is_configurable(clock, app, client, world, agent_key):
    app.config["API_QUOTE_TTL"] = 60
    try:
        quote = ask_quote(client, agent_key).get_json()
    finally:
        app.config["API_QUOTE_TTL"] = 900
    assert quote["expires_at"] == (clock.now + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")


def test_a_changed_service_fee_is_409_and_refunds_nothing(client, db, world, agent_key):
    quote_id = ask_quote(client, agent_key).get_json()["id"]
    world.demo.service_fee = 40
    db.session.commit()
    body = assert_problem(use(client, agent_key, quote_id), 409)
    assert "no longer holds" in body["detail"]
    assert "POST /api/v1/bookings/AT10000001/refund-quotes" in body["detail"]
    assert fields_of(body) == ["quote_id"]
    assert refund_count(db) == 0
    # Not used up: nothing happened. A new quote has the new fee.
    assert db.session.scalar(select(RefundQuote.used_at)) is None
    fresh = ask_quote(client, agent_key).get_json()
    assert fresh["total"]["amount"] == "290.00"
    assert use(client, agent_key, fresh["id"]).status_code == 201


def test_a_coupon_refunded_on_the_page_meanwhile_is_409(client, db, make, world, agent_key):
    quote_id = ask_quote(client, agent_key).get_json()["id"]
    make.refund(world.booking, world.agent, coupons=["P1.S1"])
    body = assert_problem(use(client, agent_key, quote_id), 409)
    assert "Already in a refund" in body["detail"]
    assert refund_count(db) == 1


def test_two_racing_uses_of_one_quote_make_one_refund(app, client, db, world, agent_key, monkeypatch):
    """Two calls with the same quote (different idempotency keys) pass every check before either
    writes: the claim of the quote's row lets one through."""
    quote_id = ask_quote(client, agent_key).get_json()["id"]
    both_checked = threading.Barrier(2)
    original = refund_quotes.check_usable

    def check_then_wait(*args, **kwargs):
        original(*args, **kwargs)
        both_checked.wait(timeout=10)

    monkeypatch.setattr(refund_quotes, "check_usable", check_then_wait)
    answers = []

    def post():
        answers.append(use(app.test_client(), agent_key, quote_id))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(a.status_code for a in answers) == [201, 409], [a.get_data(as_text=True) for a in answers]
    made = next(a for a in answers if a.status_code == 201).get_json()["code"]
    refused = next(a for a in answers if a.status_code == 409).get_json()
    assert made in refused["detail"]
    assert refund_count(db) == 1


# --- tenancy and bad input ----------------------------------------------------------------------------------


def test_another_accounts_quote_is_404_naming_it(client, db, world, agent_key):
    other_key = key_for(db, world.other_agent)
    theirs = ask_quote(client, other_key, order="OT20000001").get_json()["id"]
    body = assert_problem(use(client, agent_key, theirs), 404)
    assert fields_of(body) == ["quote_id"]
    assert_problem(use(client, agent_key, "rq_no-such-quote"), 404)
    assert_problem(ask_quote(client, agent_key, order="OT20000001"), 404)
    assert refund_count(db) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"passengers": ["P1"], "colour": "blue"}, "colour"),
        ({}, "passengers"),
        ({"passengers": "P1"}, "passengers"),
        ({"passengers": []}, "passengers"),
        ({"passengers": [1]}, "passengers.0"),
        ({"passengers": ["P" * 5000]}, "passengers.0"),
        ({"passengers": ["P1\u0000"]}, "passengers.0"),
        ({"passengers": ["P1"] * 51}, "passengers"),
        ({"passengers": ["P9"]}, "passengers"),
        ({"passengers": ["P1"], "segments": ["S7"]}, "segments"),
        ({"passengers": ["P1"], "segments": []}, "segments"),
        ({"passengers": ["P1"], "involuntary": "perhaps"}, "involuntary"),
        ({"passengers": ["P1"], "involuntary": 10**400}, "involuntary"),
    ],
)
def test_bad_quote_input_is_422_naming_the_field(client, db, world, agent_key, body, field):
    response = client.post(QUOTES.format("AT10000001"), json=body, headers=bearer(agent_key))
    problem = assert_problem(response, 422)
    assert field in fields_of(problem), problem
    assert db.session.scalar(select(func.count()).select_from(RefundQuote)) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "quote_id"),
        ({"quote_id": 42}, "quote_id"),
        ({"quote_id": "rq_" + "x" * 300}, "quote_id"),
        ({"quote_id": "rq_\u0000"}, "quote_id"),
        ({"quote_id": "rq_x", "force": True}, "force"),
    ],
)
def test_bad_refund_input_is_422_naming_the_field(client, world, agent_key, body, field):
    response = client.post("/api/v1/refunds", json=body, headers=bearer(agent_key))
    assert field in fields_of(assert_problem(response, 422))


def test_a_body_that_is_not_json_is_a_problem(client, world, agent_key):
    response = client.post(
        "/api/v1/refunds", data="{not json", content_type="application/json", headers=bearer(agent_key)
    )
    assert 400 <= response.status_code < 500 and response.mimetype == "application/problem+json"


# --- Refund Claims ------------------------------------------------------------------------------------------


def claim_form(world, **changes):
    form = {
        "order_number": "AT10000001",
        "passengers": "P1",
        "reason": "voluntary",
        "airline_fulfilled_on": world.today.isoformat(),
        "proof": (io.BytesIO(PDF), "airline-confirmation.pdf"),
        "note": "Refunded by SQ to the agency card.",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


@pytest.fixture
def today(world):
    world.today = portal_today()
    return world.today


def post_claim(client, key, form):
    return client.post(
        "/api/v1/refund-claims", data=form, content_type="multipart/form-data", headers=bearer(key)
    )


def stored_files(app) -> list[Path]:
    return [p for p in Path(app.config["UPLOAD_DIR"]).iterdir() if p.is_file()]


def test_a_claim_with_its_proof_is_submitted(app, client, db, world, today, agent_key):
    before = set(stored_files(app))
    response = post_claim(client, agent_key, claim_form(world))
    assert response.status_code == 201, response.get_data(as_text=True)
    refund = response.get_json()
    assert refund["status"] == "submitted" and refund["path"] == "refund_claim"
    assert refund["reason"] == "voluntary" and refund["airline_fulfilled_on"] == today.isoformat()
    assert refund["note"] == "Refunded by SQ to the agency card." and refund["submitted_at"]
    assert {(c["passenger"], c["segment"]) for c in refund["coupons"]} == {("P1", "S1"), ("P1", "S2")}
    document = db.session.scalar(select(Document))
    assert document.original_name == "airline-confirmation.pdf" and document.content_type == "application/pdf"
    assert db.session.scalar(select(Refund.proof_document_id)) == document.id
    assert len(set(stored_files(app)) - before) == 1


@pytest.mark.parametrize(
    ("passengers", "segments"),
    [("P1,P2", None), (["P1", "P2"], None), (["P1, P2"], "S1,S2"), (["P1", "P2"], ["S1", "S2"])],
)
def test_refs_may_repeat_or_be_comma_separated(client, make, world, today, agent_key, passengers, segments):
    make.booking(
        order_number="AT10000003",
        account="DEMO",
        passengers=[
            passenger_doc("P1", "TAN", "WEI", "618-2400000031"),
            passenger_doc("P2", "TAN", "MEI", "618-2400000032"),
        ],
    )
    form = claim_form(world, order_number="AT10000003", passengers=passengers, segments=segments)
    response = post_claim(client, agent_key, form)
    assert response.status_code == 201, response.get_data(as_text=True)
    coupons = {(c["passenger"], c["segment"]) for c in response.get_json()["coupons"]}
    assert coupons == {(p, s) for p in ("P1", "P2") for s in ("S1", "S2")}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"proof": (io.BytesIO(b"just some text"), "proof.pdf")}, "proof"),
        ({"proof": (io.BytesIO(b""), "empty.pdf")}, "proof"),
        ({"proof": None}, "proof"),
        ({"proof": "not a file"}, "proof"),
        ({"reason": "bored"}, "reason"),
        ({"reason": None}, "reason"),
        ({"airline_fulfilled_on": "2026-02-30"}, "airline_fulfilled_on"),
        ({"airline_fulfilled_on": "tomorrow"}, "airline_fulfilled_on"),
        ({"airline_fulfilled_on": "99999-01-01"}, "airline_fulfilled_on"),
        ({"passengers": "P9"}, "passengers"),
        ({"passengers": None}, "passengers"),
        ({"passengers": "P" * 500}, "passengers.0"),
        ({"segments": "S8"}, "segments"),
        ({"note": "x" * 2001}, "note"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_claim_input_is_422_naming_the_field_and_keeps_nothing(
    app, client, db, world, today, agent_key, changes, field
):
    before = set(stored_files(app))
    body = assert_problem(post_claim(client, agent_key, claim_form(world, **changes)), 422)
    assert field in fields_of(body), body
    assert refund_count(db) == 0
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0
    assert set(stored_files(app)) == before


def test_a_fulfillment_date_in_the_future_is_refused_after_the_file_is_checked(
    app, client, db, world, today, agent_key
):
    before = set(stored_files(app))
    form = claim_form(world, airline_fulfilled_on=(today + timedelta(days=1)).isoformat())
    body = assert_problem(post_claim(client, agent_key, form), 422)
    assert fields_of(body) == ["airline_fulfilled_on"]
    assert set(stored_files(app)) == before  # the stored proof went with the rollback


def test_a_claim_for_another_accounts_booking_is_404(client, db, world, today, agent_key):
    body = assert_problem(post_claim(client, agent_key, claim_form(world, order_number="OT20000001")), 404)
    assert fields_of(body) == ["order_number"]
    assert refund_count(db) == 0


def test_a_nul_in_a_claim_is_refused(client, db, world, today, agent_key):
    response = post_claim(client, agent_key, claim_form(world, note="a\u0000b"))
    assert 400 <= response.status_code < 500 and response.mimetype == "application/problem+json"
    assert refund_count(db) == 0


def test_a_claim_sent_as_json_is_422(client, world, today, agent_key):
    response = client.post(
        "/api/v1/refund-claims", json={"order_number": "AT10000001"}, headers=bearer(agent_key)
    )
    assert "proof" in fields_of(assert_problem(response, 422))


def test_a_card_order_cannot_be_claimed(client, make, world, today, agent_key):
    make.booking(order_number="AT10000004", account="DEMO", payment_channel="vcc")
    form = claim_form(world, order_number="AT10000004")
    body = assert_problem(post_claim(client, agent_key, form), 422)
    assert "virtual card" in body["detail"]


# --- the list and one refund --------------------------------------------------------------------------------


def test_the_list_filters_and_walks_newest_first(clock, client, make, world, agent_key):
    make.booking(
        order_number="AT10000002",
        account="DEMO",
        passengers=[passenger_doc("P1", "KOH", "MEI", "618-2400000002")],
    )
    first = make.refund(world.booking, world.agent, coupons=["P1.S1"])
    clock.advance(minutes=1)
    second = make.refund(world.booking, world.agent, coupons=["P1.S2"], status="submitted")
    clock.advance(minutes=1)
    third = make.refund(
        load_booking("AT10000002", Scope.of(world.agent)), world.agent, path="refund_claim", coupons=["P1.S1"]
    )
    make.refund(world.other_booking, world.other_agent)

    def codes(query):
        response = client.get(f"/api/v1/refunds?{query}", headers=bearer(agent_key))
        assert response.status_code == 200, response.get_data(as_text=True)
        return [r["code"] for r in response.get_json()["data"]]

    assert codes("") == [third.code, second.code, first.code]
    assert codes("status=submitted") == [third.code, second.code]
    assert codes("path=refund_claim") == [third.code]
    assert codes("order_number=at10000001") == [second.code, first.code]
    assert codes("order_number=OT20000001") == []
    seen, cursor = [], None
    for _ in range(4):
        query = "limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/api/v1/refunds?{query}", headers=bearer(agent_key)).get_json()
        seen += [r["code"] for r in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [third.code, second.code, first.code]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=lost", "status"),
        ("path=teleport", "path"),
        ("order_number=" + "A" * 21, "order_number"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=nope", "cursor"),
        ("colour=blue", "colour"),
    ],
)
def test_bad_list_parameters_are_422_naming_the_field(client, world, agent_key, query, field):
    body = assert_problem(client.get(f"/api/v1/refunds?{query}", headers=bearer(agent_key)), 422)
    assert field in fields_of(body)


def test_a_refunded_refund_shows_its_amounts(client, db, make, world, agent_key):
    refund = make.refund(world.booking, world.agent, status="refunded", by=world.ops)
    body = client.get(f"/api/v1/refunds/{refund.code.lower()}", headers=bearer(agent_key)).get_json()
    assert body["status"] == "refunded" and body["airline_amount"]["amount"] == "300.00"
    # 300.00 from the airline less DEMO's 15.00 service fee.
    assert body["credited_amount"]["amount"] == "285.00" and body["actual_amount"]["amount"] == "285.00"
    assert [e["to_status"] for e in body["events"]] == ["requested", "submitted", "received", "refunded"]
    assert body["follow_up"] == {"available": False, "available_from": None}


def test_another_accounts_refund_is_404(client, make, world, agent_key):
    theirs = make.refund(world.other_booking, world.other_agent)
    assert_problem(client.get(f"/api/v1/refunds/{theirs.code}", headers=bearer(agent_key)), 404)
    assert_problem(
        client.post(f"/api/v1/refunds/{theirs.code}/follow-up", json={}, headers=bearer(agent_key)), 404
    )


# --- follow-up ----------------------------------------------------------------------------------------------


def test_a_follow_up_before_day_21_is_409_saying_from_when(clock, client, make, world, agent_key):
    refund = make.refund(world.booking, world.agent)
    response = client.post(f"/api/v1/refunds/{refund.code}/follow-up", json={}, headers=bearer(agent_key))
    body = assert_problem(response, 409)
    assert f"Available from {clock.today() + timedelta(days=21):%d %b %Y}" in body["detail"]


def test_a_follow_up_from_day_21_goes_to_a_request(clock, client, db, make, world, agent_key):
    refund = make.refund(world.booking, world.agent, now=clock.now - timedelta(days=22))
    url = f"/api/v1/refunds/{refund.code}/follow-up"
    response = client.post(url, json={"message": "Any news from the airline?"}, headers=bearer(agent_key))
    assert response.status_code == 201, response.get_data(as_text=True)
    sent = response.get_json()
    assert sent["refund_code"] == refund.code and sent["request_number"].startswith("SR")
    assert sent["followed_up_at"] == clock.now.isoformat().replace("+00:00", "Z")
    detail = client.get(f"/api/v1/refunds/{refund.code}", headers=bearer(agent_key)).get_json()
    assert detail["follow_up"]["available"] is True
    again = assert_problem(client.post(url, json={}, headers=bearer(agent_key)), 409)
    assert "already followed up today" in again["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": "a\u0000b"}, "message"),
        ({"message": "x" * 4001}, "message"),
        ({"message": 5}, "message"),
        ({"note": "hi"}, "note"),
    ],
)
def test_bad_follow_up_input_is_422(clock, client, make, world, agent_key, body, field):
    refund = make.refund(world.booking, world.agent, now=clock.now - timedelta(days=22))
    response = client.post(f"/api/v1/refunds/{refund.code}/follow-up", json=body, headers=bearer(agent_key))
    assert field in fields_of(assert_problem(response, 422))
