"""Service requests over the agency API: the categories, raising a request (JSON and multipart), the one
open request per booking and category, the list, a request with the thread the agency sees, replies,
and the answers to an operations quote."""

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from portal.models import Refund, RequestQuote, ServiceRequest
from portal.services.catalogues import set_category_active
from portal.services.requests import change_status, post_message
from tests.conftest import quote_service_request, raise_service_request, request_category
from tests.web.test_api import assert_problem, bearer, key_for

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def key(db, world):
    return key_for(db, world.agent)


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def raise_request(client, key, **body):
    body = {
        "order_number": "AT10000001",
        "category": "name_correction",
        "description": "The first name is misspelt.",
        "passengers": ["P1"],
    } | body
    return client.post("/api/v1/requests", json=body, headers=bearer(key))


def get(client, key, number):
    response = client.get(f"/api/v1/requests/{number}", headers=bearer(key))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# --- categories -----------------------------------------------------------------------------------------


def test_categories_come_in_their_groups_with_what_raising_needs(client, db, world, key):
    response = client.get("/api/v1/request-categories", headers=bearer(key))
    assert response.status_code == 200
    [group] = response.get_json()["data"]
    assert (group["code"], group["label"]) == ("post_ticketing", "Post-Ticketing Request")
    categories = {c["code"]: c for c in group["categories"]}
    assert list(categories)[:2] == ["cancel_refund", "agent_refund"]  # the form's order
    cancel = categories["cancel_refund"]
    assert cancel["label"] == "Cancel & Refund" and cancel["behaviour"] == "cancel_refund"
    assert cancel["needs_passengers"] and cancel["takes_quote"] and not cancel["creates_refund"]
    agent = categories["agent_refund"]
    assert agent["creates_refund"] and not agent["needs_description"] and agent["hint"]
    assert not categories["other"]["needs_passengers"]

    set_category_active(request_category(db, "other"), False)
    db.session.commit()
    data = client.get("/api/v1/request-categories", headers=bearer(key)).get_json()["data"]
    assert "other" not in {c["code"] for c in data[0]["categories"]}
    # An inactive category cannot be raised either.
    body = assert_problem(raise_request(client, key, category="other", passengers=[]), 422)
    assert [e["field"] for e in body["errors"]] == ["category"]


def test_categories_take_no_parameters(client, world, key):
    body = assert_problem(client.get("/api/v1/request-categories?group=x", headers=bearer(key)), 422)
    assert [e["field"] for e in body["errors"]] == ["group"]


# --- raising a request ----------------------------------------------------------------------------------


def test_raise_a_request(client, db, world, key):
    response = raise_request(client, key)
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    [req] = db.session.scalars(select(ServiceRequest)).all()
    assert created["number"] == req.number and req.created_by_id == world.agent.id
    assert created["status"] == "new" and created["order_number"] == "AT10000001"
    assert created["category"] == {
        "code": "name_correction",
        "label": "Name Correction",
        "group": "Post-Ticketing Request",
    }
    assert created["passengers"] == ["P1"] and created["refunds"] == [] and created["quotes"] == []
    assert created["may_cancel"] and created["may_reply"]
    assert created["created_at"].endswith("Z")
    [opening] = created["thread"]
    assert opening["kind"] == "description" and opening["body"] == "The first name is misspelt."
    assert opening["author"] == world.agent.name and not opening["from_operations"]
    assert get(client, key, req.number) == created


def test_a_second_open_request_of_the_category_is_409_naming_the_first(client, db, world, key):
    first = raise_service_request(db, world.booking, world.agent, "name_correction")
    body = assert_problem(raise_request(client, key), 409)
    assert first.number in body["detail"]
    assert count(db, ServiceRequest) == 1
    # Another category on the same booking is fine, and so is the same one once the first is closed.
    assert raise_request(client, key, category="other").status_code == 201
    change_status(first, "cancel", user=world.agent)
    db.session.commit()
    assert raise_request(client, key).status_code == 201


def test_an_agent_and_passenger_refund_request_creates_its_refund(client, db, world, key):
    response = raise_request(client, key, category="agent_refund", description="", passengers=["P1"])
    assert response.status_code == 201, response.get_data(as_text=True)
    [refund] = db.session.scalars(select(Refund)).all()
    [shown] = response.get_json()["refunds"]
    assert shown == {"code": refund.code, "status": refund.status, "path": "agent_request"}
    assert not response.get_json()["may_cancel"]  # a submitted refund cannot be withdrawn


def test_raise_a_request_as_multipart_with_attachments(client, db, world, key):
    response = client.post(
        "/api/v1/requests",
        data={
            "order_number": "AT10000001",
            "category": "cancel_refund",
            "description": "Please cancel.",
            "passengers": ["P1"],
            "attachments": [(io.BytesIO(PDF), "passport.pdf"), (io.BytesIO(PDF), "visa.pdf")],
        },
        content_type="multipart/form-data",
        headers=bearer(key),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    opening = response.get_json()["thread"][0]
    assert [d["file_name"] for d in opening["attachments"]] == ["passport.pdf", "visa.pdf"]
    assert opening["attachments"][0]["content_type"] == "application/pdf"
    assert response.get_json()["passengers"] == ["P1"]


def test_a_rejected_file_is_422_and_nothing_is_raised(client, db, world, key):
    response = client.post(
        "/api/v1/requests",
        data={
            "order_number": "AT10000001",
            "category": "other",
            "description": "See file",
            "attachments": [(io.BytesIO(b"MZ not a pdf"), "virus.exe")],
        },
        content_type="multipart/form-data",
        headers=bearer(key),
    )
    body = assert_problem(response, 422)
    assert [e["field"] for e in body["errors"]] == ["attachments"]
    assert "Only PDF, PNG or JPEG" in body["detail"]
    assert count(db, ServiceRequest) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"colour": "blue"}, "colour"),
        ({"order_number": None}, "order_number"),
        ({"order_number": 10000001}, "order_number"),
        ({"order_number": "A" * 21}, "order_number"),
        ({"category": "no_such_category"}, "category"),
        ({"category": "post_ticketing"}, "category"),  # a group is no category
        ({"category": ["other"]}, "category"),
        ({"category": "other\u0000"}, "category"),
        ({"description": "x" * 5001}, "description"),
        ({"description": "Hello\u0000world"}, "description"),
        ({"description": " "}, "description"),
        ({"passengers": "P1"}, "passengers"),
        ({"passengers": ["P9"]}, "passengers"),
        ({"passengers": [1]}, "passengers.0"),
        ({"passengers": ["P1"] * 51}, "passengers"),
        ({"category": "cancel_refund", "passengers": []}, "passengers"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, db, world, key, change, field):
    body = assert_problem(raise_request(client, key, **change), 422)
    assert field in [e["field"] for e in body["errors"]], body
    assert all(e["message"] for e in body["errors"])
    assert count(db, ServiceRequest) == 0


def test_a_missing_field_and_a_body_that_is_no_object_are_422(client, world, key):
    response = client.post("/api/v1/requests", json={"category": "other"}, headers=bearer(key))
    assert "order_number" in [e["field"] for e in assert_problem(response, 422)["errors"]]
    response = client.post("/api/v1/requests", json=["AT10000001"], headers=bearer(key))
    assert assert_problem(response, 422)["errors"]
    broken = client.post(
        "/api/v1/requests", data="{not json", content_type="application/json", headers=bearer(key)
    )
    assert_problem(broken, 400)


# --- the list ---------------------------------------------------------------------------------------------


def test_the_list_is_the_accounts_requests_newest_first_a_page_at_a_time(clock, client, db, world, key):
    numbers = []
    for category in ("other", "name_correction", "voluntary_change"):
        numbers.append(raise_service_request(db, world.booking, world.agent, category).number)
        clock.advance(minutes=5)
    raise_service_request(db, world.other_booking, world.other_agent, "other")
    change_status(
        db.session.scalar(select(ServiceRequest).filter_by(number=numbers[0])), "cancel", user=world.agent
    )
    db.session.commit()

    data = client.get("/api/v1/requests", headers=bearer(key)).get_json()
    assert [r["number"] for r in data["data"]] == numbers[::-1] and data["next_cursor"] is None
    first = data["data"][0]
    assert first["category"]["code"] == "voluntary_change" and first["order_number"] == "AT10000001"
    assert first["status"] == "new" and first["passengers"] == ["P1"]

    seen, cursor = [], None
    for _ in range(4):
        page = client.get(
            "/api/v1/requests?limit=1" + (f"&cursor={cursor}" if cursor else ""), headers=bearer(key)
        ).get_json()
        seen += [r["number"] for r in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == numbers[::-1]

    def listed(query):
        return [
            r["number"]
            for r in client.get(f"/api/v1/requests?{query}", headers=bearer(key)).get_json()["data"]
        ]

    assert listed("status=cancelled") == [numbers[0]]
    assert listed("status=open") == numbers[:0:-1]
    assert listed(f"q={numbers[1]}") == [numbers[1]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=lost", "status"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("q=" + "A" * 41, "q"),
        ("order_number=AT10000001", "order_number"),
    ],
)
def test_bad_list_parameters_are_422_naming_the_field(client, world, key, query, field):
    body = assert_problem(client.get(f"/api/v1/requests?{query}", headers=bearer(key)), 422)
    assert field in [e["field"] for e in body["errors"]]


# --- a request and its thread -----------------------------------------------------------------------------


def test_the_thread_is_the_agencys_never_an_internal_note(client, db, world, key):
    req = raise_service_request(db, world.booking, world.agent, "other")
    post_message(
        req,
        user=world.ops,
        body="SECRET-NOTE agency owes us",
        internal=True,
        files=[FileStorage(io.BytesIO(PDF), filename="secret-memo.pdf")],
    )
    post_message(req, user=world.ops, body="We are on it.")
    db.session.commit()

    response = client.get(f"/api/v1/requests/{req.number}", headers=bearer(key))
    text = response.get_data(as_text=True)
    assert "SECRET-NOTE" not in text and "secret-memo" not in text
    thread = response.get_json()["thread"]
    assert [e["kind"] for e in thread] == ["description", "message"]
    reply = thread[1]
    assert reply["body"] == "We are on it." and reply["from_operations"] and reply["author"] == world.ops.name
    assert reply["event"] is None and reply["attachments"] == []


def test_events_show_in_the_thread(client, db, world, key):
    req = raise_service_request(db, world.booking, world.agent, "other")
    change_status(req, "start", user=world.ops)
    db.session.commit()
    body = get(client, key, req.number)
    assert body["status"] == "in_process" and body["may_reply"] and not body["may_cancel"]
    event = body["thread"][-1]
    assert event["kind"] == "event" and event["body"] is None
    assert event["event"] == {"status": "in_process", "previous_status": "new", "note": None}


def test_an_unknown_request_is_404(client, world, key):
    assert_problem(client.get("/api/v1/requests/SR99999999", headers=bearer(key)), 404)
    assert_problem(client.get("/api/v1/requests/" + "X" * 300, headers=bearer(key)), 404)


# --- replies ----------------------------------------------------------------------------------------------


def test_a_reply_returns_a_processed_request_to_in_process(client, db, world, key):
    req = raise_service_request(db, world.booking, world.agent, "other")
    change_status(req, "start", user=world.ops)
    change_status(req, "mark_processed", user=world.ops)
    db.session.commit()
    response = client.post(
        f"/api/v1/requests/{req.number}/messages", json={"body": "Still wrong"}, headers=bearer(key)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    message = response.get_json()
    assert message["kind"] == "message" and message["body"] == "Still wrong"
    assert message["author"] == world.agent.name and not message["from_operations"]
    assert message["at"].endswith("Z") and message["attachments"] == [] and message["event"] is None
    body = get(client, key, req.number)
    assert body["status"] == "in_process"
    assert [e["body"] for e in body["thread"] if e["kind"] == "message"] == ["Still wrong"]


def test_a_reply_with_attachments_as_multipart(client, db, world, key):
    req = raise_service_request(db, world.booking, world.agent, "other")
    response = client.post(
        f"/api/v1/requests/{req.number}/messages",
        data={"body": "Passport attached", "attachments": [(io.BytesIO(PDF), "passport.pdf")]},
        content_type="multipart/form-data",
        headers=bearer(key),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert [d["file_name"] for d in response.get_json()["attachments"]] == ["passport.pdf"]
    [message] = [e for e in get(client, key, req.number)["thread"] if e["kind"] == "message"]
    assert message["attachments"][0]["file_name"] == "passport.pdf"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": "  "}, "body"),
        ({}, "body"),
        ({"body": 5}, "body"),
        ({"body": "x" * 5001}, "body"),
        ({"body": "a\u0000b"}, "body"),
        ({"body": "Hi", "internal": True}, "internal"),  # no internal notes over the API
    ],
)
def test_a_bad_reply_is_422_naming_the_field(client, db, world, key, body, field):
    req = raise_service_request(db, world.booking, world.agent, "other")
    response = client.post(f"/api/v1/requests/{req.number}/messages", json=body, headers=bearer(key))
    assert [e["field"] for e in assert_problem(response, 422)["errors"]] == [field]
    assert [e["kind"] for e in get(client, key, req.number)["thread"]] == ["description"]


def test_a_closed_request_takes_no_reply(client, db, world, key):
    req = raise_service_request(db, world.booking, world.agent, "other")
    change_status(req, "cancel", user=world.agent)
    db.session.commit()
    assert not get(client, key, req.number)["may_reply"]
    response = client.post(
        f"/api/v1/requests/{req.number}/messages", json={"body": "Hello?"}, headers=bearer(key)
    )
    assert "cannot get a reply" in assert_problem(response, 409)["detail"]


# --- quotes -----------------------------------------------------------------------------------------------


def answer(client, key, req, quote_id, what):
    return client.post(f"/api/v1/requests/{req.number}/quotes/{quote_id}/{what}", headers=bearer(key))


def test_an_open_quote_shows_its_lines_and_expiry(client, db, world, key):
    req = raise_service_request(db, world.booking, world.agent)
    quote = quote_service_request(db, req, world.ops, amounts={"P1": "315.00"})
    body = get(client, key, req.number)
    assert body["status"] == "processed" and body["auto_completes_at"].endswith("Z")
    [shown] = body["quotes"]
    assert shown["id"] == quote.id and shown["status"] == "open" and shown["may_answer"]
    assert shown["lines"] == [{"passenger": "P1", "amount": {"amount": "315.00", "currency": "SGD"}}]
    assert shown["total"] == {"amount": "315.00", "currency": "SGD"}
    assert shown["valid_until"] == quote.valid_until.isoformat() and shown["expires_at"].endswith("Z")
    assert shown["refund_code"] is None and shown["answered_at"] is None


def test_accepting_a_quote_requests_exactly_one_refund(client, db, world, key):
    req = raise_service_request(db, world.booking, world.agent)
    quote = quote_service_request(db, req, world.ops)
    response = answer(client, key, req, quote.id, "accept")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    [refund] = db.session.scalars(select(Refund)).all()
    assert refund.path == "request_quote" and refund.request_id == req.id
    assert body["refund_code"] == refund.code
    assert body["refunds"] == [{"code": refund.code, "status": refund.status, "path": "request_quote"}]
    [shown] = body["quotes"]
    assert shown["status"] == "accepted" and shown["refund_code"] == refund.code and not shown["may_answer"]
    assert body["status"] == "in_process"

    again = answer(client, key, req, quote.id, "accept")
    assert "can no longer be answered" in assert_problem(again, 409)["detail"]
    assert_problem(answer(client, key, req, quote.id, "decline"), 409)
    assert count(db, Refund) == 1


def test_declining_a_quote(client, db, world, key):
    req = raise_service_request(db, world.booking, world.agent)
    quote = quote_service_request(db, req, world.ops)
    response = answer(client, key, req, quote.id, "decline")
    assert response.status_code == 200, response.get_data(as_text=True)
    [shown] = response.get_json()["quotes"]
    assert shown["status"] == "declined" and shown["answered_at"].endswith("Z")
    assert count(db, Refund) == 0
    assert_problem(answer(client, key, req, quote.id, "decline"), 409)
    assert_problem(answer(client, key, req, quote.id, "accept"), 409)
    assert count(db, Refund) == 0


def test_a_replaced_or_expired_quote_is_409(clock, client, db, world, key):
    req = raise_service_request(db, world.booking, world.agent)
    old = quote_service_request(db, req, world.ops, valid_until=clock.today() + timedelta(days=1))
    new = quote_service_request(db, req, world.ops, valid_until=clock.today() + timedelta(days=1))
    assert "replaced" in assert_problem(answer(client, key, req, old.id, "accept"), 409)["detail"]
    clock.advance(days=3)
    assert not get(client, key, req.number)["quotes"][-1]["may_answer"]
    assert "expired" in assert_problem(answer(client, key, req, new.id, "accept"), 409)["detail"]
    assert count(db, Refund) == 0
    assert db.session.get(RequestQuote, new.id).status == "open"


def test_a_quote_of_another_request_is_404(client, db, world, key):
    mine = raise_service_request(db, world.booking, world.agent)
    other_mine = raise_service_request(db, world.booking, world.agent, "other")
    quote = quote_service_request(db, mine, world.ops)
    theirs = raise_service_request(db, world.other_booking, world.other_agent)
    their_quote = quote_service_request(db, theirs, world.ops)
    assert_problem(answer(client, key, other_mine, quote.id, "accept"), 404)
    assert_problem(answer(client, key, mine, their_quote.id, "accept"), 404)
    assert_problem(answer(client, key, mine, their_quote.id, "decline"), 404)
    assert_problem(answer(client, key, mine, 999999, "decline"), 404)
    assert count(db, Refund) == 0
    assert db.session.get(RequestQuote, their_quote.id).status == "open"


# --- the document -----------------------------------------------------------------------------------------


def test_the_openapi_document_offers_json_and_multipart_bodies(client, world):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/requests", "/api/v1/requests/{number}/messages"):
        content = spec["paths"][path]["post"]["requestBody"]["content"]
        assert set(content) == {"application/json", "multipart/form-data"}
    form = spec["components"]["schemas"]["RequestForm"]["properties"]
    assert form["attachments"]["items"] == {"type": "string", "format": "binary"}
    assert {"/api/v1/request-categories", "/api/v1/requests/{number}/quotes/{quote_id}/accept"} <= set(
        spec["paths"]
    )


def test_a_control_character_outside_json_is_a_400_problem(client, db, world, key):
    assert_problem(client.get("/api/v1/requests?q=SR%00", headers=bearer(key)), 400)
    response = client.post(
        "/api/v1/requests",
        data={"order_number": "AT10000001", "category": "other", "description": "a\x00b"},
        content_type="multipart/form-data",
        headers=bearer(key),
    )
    assert_problem(response, 400)
    assert count(db, ServiceRequest) == 0


def test_an_unknown_file_field_is_422(client, db, world, key):
    response = client.post(
        "/api/v1/requests",
        data={
            "order_number": "AT10000001",
            "category": "other",
            "description": "See file",
            "proof": (io.BytesIO(PDF), "proof.pdf"),
        },
        content_type="multipart/form-data",
        headers=bearer(key),
    )
    assert [e["field"] for e in assert_problem(response, 422)["errors"]] == ["proof"]
    assert count(db, ServiceRequest) == 0
