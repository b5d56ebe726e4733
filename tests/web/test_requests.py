"""Service requests through the web: Raise a Request, New Request with its order-number check, VCC
refusals, the one-open rule, the thread (internal notes never reach an agent), quotes, lists, queue,
admin pages, Request History."""

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.models import Refund, RefundReason, RequestMessage, ServiceRequest
from tests.conftest import (
    passenger_doc,
    portal_today,
    quote_service_request,
    raise_service_request,
    request_category,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HX = {"HX-Request": "true"}


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def cat_id(db, code):
    return str(request_category(db, code).id)


# --- Raise a Request ----------------------------------------------------------------------------


def test_booking_details_has_the_raise_a_request_button(client, auth, world):
    auth.login(world.agent)
    page = client.get("/bookings/AT10000001").get_data(as_text=True)
    assert ">Raise a Request</a>" in page and 'hx-get="/bookings/AT10000001/raise-request"' in page


def test_raise_a_request_slideout_and_submit(client, auth, world, db):
    auth.login(world.agent)
    partial = client.get("/bookings/AT10000001/raise-request", headers=HX).get_data(as_text=True)
    assert "<header" not in partial and 'class="slideout"' in partial
    for label in ("Category", "Describe the issue", "Passengers concerned", "Submit"):
        assert label in partial
    assert '<optgroup label="Post-Ticketing Request">' in partial and "Cancel &amp; Refund" in partial
    response = client.post(
        "/bookings/AT10000001/raise-request",
        headers=HX,
        data={
            "category": cat_id(db, "name_correction"),
            "description": "Passenger's first name is misspelt.",
            "passenger": ["P1"],
            "attachments": [(io.BytesIO(PDF), "passport.pdf")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 204
    [req] = db.session.scalars(select(ServiceRequest)).all()
    assert response.headers["HX-Redirect"] == f"/requests/{req.number}"
    assert [p.ref for p in req.passengers] == ["P1"] and len(req.attachments) == 1
    page = client.get(f"/requests/{req.number}").get_data(as_text=True)
    assert "misspelt" in page and "passport.pdf" in page and "New" in page


def test_raise_a_request_without_javascript_is_a_page(client, auth, world, db):
    auth.login(world.agent)
    page = client.get("/bookings/AT10000001/raise-request").get_data(as_text=True)
    assert "<header" in page and "Raise a Request" in page
    response = client.post(
        "/bookings/AT10000001/raise-request",
        data={"category": cat_id(db, "other"), "description": "Question", "passenger": []},
    )
    assert response.status_code == 303


def test_bad_input_gets_messages_and_keeps_what_was_typed(client, auth, world, db):
    auth.login(world.agent)
    response = client.post(
        "/bookings/AT10000001/raise-request", headers=HX, data={"category": "", "description": ""}
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Choose a category." in body and "Describe the issue." in body
    response = client.post(
        "/bookings/AT10000001/raise-request",
        headers=HX,
        data={"category": cat_id(db, "cancel_refund"), "description": "Refund please"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Choose the passengers concerned." in body
    assert "Refund please" in body  # the description is kept
    response = client.post(
        "/bookings/AT10000001/raise-request",
        data={
            "category": cat_id(db, "other"),
            "description": "See file",
            "attachments": [(io.BytesIO(b"MZ not a pdf"), "virus.exe")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Only PDF, PNG or JPEG" in response.get_data(as_text=True)
    assert count(db, ServiceRequest) == 0


def test_a_second_open_request_is_refused_with_a_link_to_the_first(client, auth, world, db):
    first = raise_service_request(db, world.booking, world.agent, "other")
    auth.login(world.agent)
    response = client.post(
        "/bookings/AT10000001/raise-request",
        headers=HX,
        data={"category": cat_id(db, "other"), "description": "Again"},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert f'href="/requests/{first.number}"' in body and "already has an open request" in body
    assert count(db, ServiceRequest) == 1


def test_inactive_categories_are_not_offered(client, auth, world, db):
    category = request_category(db, "voluntary_change")
    category.active = False
    db.session.commit()
    auth.login(world.agent)
    page = client.get("/bookings/AT10000001/raise-request").get_data(as_text=True)
    assert "Voluntary Flight Change" not in page and "Involuntary Flight Change" in page
    response = client.post(
        "/bookings/AT10000001/raise-request",
        data={"category": str(category.id), "description": "x"},
    )
    assert response.status_code == 422 and count(db, ServiceRequest) == 0


# --- VCC refusals --------------------------------------------------------------------------------


@pytest.fixture
def vcc(make, world):
    return make.booking(
        order_number="VC10000001",
        payment_channel="vcc",
        passengers=[passenger_doc("P1", "NAIR", "ARJUN", "618-2400000077")],
    )


def test_vcc_refusal_shows_before_submit(client, auth, world, db, vcc):
    auth.login(world.agent)
    agent_refund = cat_id(db, "agent_refund")
    hint = client.get(
        "/requests/category-hint", query_string={"category": agent_refund, "order_number": "VC10000001"}
    ).get_data(as_text=True)
    assert 'role="alert"' in hint and "not available for orders paid by virtual card" in hint
    deposit = client.get(
        "/requests/category-hint", query_string={"category": agent_refund, "order_number": "AT10000001"}
    ).get_data(as_text=True)
    assert "not available" not in deposit and "cannot be withdrawn" in deposit
    # Another account's order: no booking, so no hint about it either.
    theirs = client.get(
        "/requests/category-hint", query_string={"category": agent_refund, "order_number": "OT20000001"}
    ).get_data(as_text=True)
    assert "not available" not in theirs
    slideout = client.get(
        "/bookings/VC10000001/raise-request", query_string={"category": agent_refund}, headers=HX
    ).get_data(as_text=True)
    assert "not available for orders paid by virtual card" in slideout


@pytest.mark.parametrize("channel", ["vcc", "vcc_passthrough"])
def test_vcc_agent_refund_request_is_refused_on_submit(client, auth, world, db, make, channel):
    make.booking(
        order_number="VC20000001",
        payment_channel=channel,
        passengers=[passenger_doc("P1", "NAIR", "ARJUN", "618-2400000078")],
    )
    auth.login(world.agent)
    response = client.post(
        "/bookings/VC20000001/raise-request",
        data={
            "category": cat_id(db, "agent_refund"),
            "description": "Refunded by airline",
            "passenger": "P1",
        },
    )
    assert response.status_code == 422
    assert "not available for orders paid by virtual card" in response.get_data(as_text=True)
    assert count(db, ServiceRequest) == 0 and count(db, Refund) == 0


def test_agent_refund_request_creates_the_refund(client, auth, world, db):
    auth.login(world.agent)
    response = client.post(
        "/bookings/AT10000001/raise-request",
        data={
            "category": cat_id(db, "agent_refund"),
            "description": "Refunded by airline",
            "passenger": "P1",
        },
    )
    assert response.status_code == 303
    [refund] = db.session.scalars(select(Refund)).all()
    assert refund.status == "submitted" and refund.path == "agent_request" and refund.request_id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert refund.code in page


# --- New Request and the order number ------------------------------------------------------------


def test_new_request_page(client, auth, world):
    auth.login(world.agent)
    page = client.get("/requests/").get_data(as_text=True)
    assert ">New Request</a>" in page
    page = client.get("/requests/new").get_data(as_text=True)
    assert '<label for="order_number">Order number</label>' in page
    assert 'data-hx-get="/requests/validate-order"' in page


def test_order_number_validation_says_the_same_for_unknown_and_other_accounts(client, auth, world):
    auth.login(world.agent)

    def message(number):
        response = client.get("/requests/validate-order", query_string={"order_number": number}, headers=HX)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    unknown, theirs = message("ZZ99999999"), message("OT20000001")
    assert "No booking with this order number in your account" in unknown
    assert unknown == theirs  # nothing tells the two apart
    assert "LIM" not in theirs
    own = message("at10000001")
    assert "Booking found: PNR K3X9QZ" in own and "TAN/WEI MING MR" in own
    assert 'hx-swap-oob="true"' in own  # the passengers of that booking come along
    assert "Enter the order number." in message("  ")


def test_new_request_with_an_order_number(client, auth, world, db):
    auth.login(world.agent)
    data = {"category": cat_id(db, "other"), "description": "Receipt please"}
    refused = client.post("/requests/new", data={**data, "order_number": "OT20000001"})
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "No booking with this order number in your account" in body and "Receipt please" in body
    assert count(db, ServiceRequest) == 0
    response = client.post("/requests/new", data={**data, "order_number": " at10000001 "})
    assert response.status_code == 303
    [req] = db.session.scalars(select(ServiceRequest)).all()
    assert req.booking_id == world.booking.id


# --- the thread and internal notes ---------------------------------------------------------------


def test_internal_notes_never_reach_the_agent(client, auth, world, db, app):
    req = raise_service_request(db, world.booking, world.agent, "other")
    auth.login(world.ops)
    response = client.post(
        f"/requests/{req.number}/messages",
        data={
            "body": "SECRET-NOTE agency owes us",
            "internal": "y",
            "attachments": [(io.BytesIO(PDF), "secret-memo.pdf")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    client.post(f"/requests/{req.number}/messages", data={"body": "We are on it."})
    ops_page = client.get(f"/requests/{req.number}").get_data(as_text=True)
    assert "SECRET-NOTE" in ops_page and "secret-memo.pdf" in ops_page
    note = db.session.scalar(select(RequestMessage).where(RequestMessage.internal.is_(True)))
    document_id = note.attachments[0].document_id
    with client.get(f"/documents/{document_id}") as download:
        assert download.status_code == 200
    auth.logout()

    auth.login(world.agent)
    seen = []
    for url in (
        f"/requests/{req.number}",
        f"/requests/{req.number}/thread",
        "/requests/",
        "/bookings/AT10000001/request-history",
    ):
        for headers in ({}, HX):
            response = client.get(url, headers=headers)
            assert response.status_code == 200
            seen.append(response.get_data(as_text=True))
    assert all("SECRET-NOTE" not in body and "secret-memo" not in body for body in seen)
    assert any("We are on it." in body for body in seen)
    assert client.get(f"/documents/{document_id}").status_code == 404
    # Posting a message returns the thread: still without the note.
    response = client.post(f"/requests/{req.number}/messages", data={"body": "Thanks"}, headers=HX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Thanks" in body and "SECRET-NOTE" not in body and 'class="topbar"' not in body


def test_an_agent_cannot_write_an_internal_note(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent, "other")
    auth.login(world.agent)
    client.post(f"/requests/{req.number}/messages", data={"body": "psst", "internal": "y"})
    assert db.session.scalar(select(RequestMessage)).internal is False


def test_thread_polls_and_returns_only_the_thread(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent, "other")
    auth.login(world.agent)
    page = client.get(f"/requests/{req.number}").get_data(as_text=True)
    assert 'hx-trigger="every 10s"' in page
    partial = client.get(f"/requests/{req.number}/thread", headers=HX)
    body = partial.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="thread"') and "<form" not in body
    assert "HX-Request" in partial.headers["Vary"]


def test_empty_message_is_refused_kindly(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent, "other")
    auth.login(world.agent)
    response = client.post(f"/requests/{req.number}/messages", data={"body": " "}, headers=HX)
    assert response.status_code == 422 and "Write a message first." in response.get_data(as_text=True)


def test_agency_reply_returns_a_processed_request_to_in_process(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent, "other")
    auth.login(world.ops)
    client.post(f"/operations/requests/{req.number}/take")
    client.post(f"/operations/requests/{req.number}/status/mark_processed")
    auth.logout()
    auth.login(world.agent)
    client.post(f"/requests/{req.number}/messages", data={"body": "Still wrong"})
    db.session.refresh(req)
    assert req.status == "in_process"
    page = client.get(f"/requests/{req.number}").get_data(as_text=True)
    assert "Reopened by the agency" in page


def test_cancel_only_while_new(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent, "other")
    auth.login(world.agent)
    assert client.post(f"/requests/{req.number}/cancel").status_code == 303
    db.session.refresh(req)
    assert req.status == "cancelled"
    again = client.post(f"/requests/{req.number}/cancel")
    assert again.status_code == 409 and "cannot be cancelled" in again.get_data(as_text=True)


# --- quotes --------------------------------------------------------------------------------------


def test_ops_post_a_quote_and_the_agent_accepts(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent, "cancel_refund")
    auth.login(world.ops)
    bad = client.post(
        f"/operations/requests/{req.number}/quote",
        data={"amount-P1": "abc", "valid_until": portal_today().isoformat()},
    )
    assert bad.status_code == 422 and "as a number" in bad.get_data(as_text=True)
    response = client.post(
        f"/operations/requests/{req.number}/quote",
        data={"amount-P1": "350.00", "valid_until": (portal_today() + timedelta(days=5)).isoformat()},
    )
    assert response.status_code == 303
    auth.logout()
    auth.login(world.agent)
    page = client.get(f"/requests/{req.number}").get_data(as_text=True)
    assert "SGD 350.00" in page and ">Accept</button>" in page and ">Decline</button>" in page
    quote_id = re.search(r"/quotes/(\d+)/accept", page).group(1)
    response = client.post(f"/requests/{req.number}/quotes/{quote_id}/accept")
    assert response.status_code == 303 and response.headers["Location"] == "/bookings/AT10000001/refund-info"
    info = client.get("/bookings/AT10000001/refund-info").get_data(as_text=True)
    [refund] = db.session.scalars(select(Refund)).all()
    assert refund.code in info and "SGD 350.00" in info and refund.path == "request_quote"
    # A second click does nothing more.
    client.post(f"/requests/{req.number}/quotes/{quote_id}/accept")
    assert count(db, Refund) == 1


def test_agent_decline(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent, "cancel_refund")
    quote = quote_service_request(db, req, world.ops)
    auth.login(world.agent)
    response = client.post(f"/requests/{req.number}/quotes/{quote.id}/decline")
    assert response.status_code == 303
    db.session.refresh(quote)
    assert quote.status == "declined" and count(db, Refund) == 0


def test_staff_cannot_answer_for_the_agency(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent, "cancel_refund")
    quote = quote_service_request(db, req, world.ops)
    auth.login(world.ops)
    assert client.post(f"/requests/{req.number}/quotes/{quote.id}/accept").status_code == 403


def test_a_quote_of_another_request_is_not_found(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent, "cancel_refund")
    other = raise_service_request(db, world.booking, world.agent, "other")
    quote = quote_service_request(db, req, world.ops)
    auth.login(world.agent)
    assert client.post(f"/requests/{other.number}/quotes/{quote.id}/accept").status_code == 404


# --- lists ---------------------------------------------------------------------------------------


def test_my_requests_lists_only_own_with_filters_and_search(client, auth, world, db):
    a = raise_service_request(db, world.booking, world.agent, "other")
    theirs = raise_service_request(db, world.other_booking, world.other_agent, "other")
    auth.login(world.agent)
    page = client.get("/requests/").get_data(as_text=True)
    assert a.number in page and theirs.number not in page and "OT20000001" not in page
    for header in ("Status", "Category", "Order number", "Last activity"):
        assert header in page
    assert a.number in client.get("/requests/", query_string={"q": a.number[:6]}).get_data(as_text=True)
    empty = client.get("/requests/", query_string={"status": "completed"}, headers=HX).get_data(as_text=True)
    assert "No requests match." in empty and "<header" not in empty


def test_my_requests_query_count_is_fixed(client, auth, world, db, make, count_queries, app):
    raise_service_request(db, world.booking, world.agent, "other")
    auth.login(world.agent)
    client.get("/requests/")
    with count_queries() as few:
        client.get("/requests/")
    for n in range(2, 8):
        booking = make.booking(
            order_number=f"AT1000010{n}", passengers=[passenger_doc("P1", "X", "Y", f"618-24000001{n:02d}")]
        )
        raise_service_request(db, booking, world.agent, "other")
    with count_queries() as many:
        client.get("/requests/")
    assert few.count == many.count


def test_request_history_lists_requests_and_refund_events(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent, "cancel_refund")
    quote = quote_service_request(db, req, world.ops)
    from portal.services.requests import accept_quote

    refund = accept_quote(req, quote, user=world.agent)
    db.session.commit()
    auth.login(world.agent)
    body = client.get("/bookings/AT10000001/request-history", headers=HX).get_data(as_text=True)
    assert req.number in body and refund.code in body and "Quote posted" in body
    # A request's events link to the request, a refund's to Refund Info.
    assert f'<a href="/requests/{req.number}">{req.number}</a>' in body
    assert f'<a href="/bookings/AT10000001/refund-info#refund-{refund.code}">{refund.code}</a>' in body
    assert body.index("Request raised") < body.index("Quote posted") < body.index("Refund started")


def test_request_history_when_there_is_nothing(client, auth, world):
    auth.login(world.agent)
    body = client.get("/bookings/AT10000001/request-history").get_data(as_text=True)
    assert "No requests for this booking yet." in body


# --- operations queue ----------------------------------------------------------------------------


def test_queue_shows_every_account_and_filters(client, auth, world, db):
    a = raise_service_request(db, world.booking, world.agent, "other")
    b = raise_service_request(db, world.other_booking, world.other_agent, "cancel_refund")
    auth.login(world.ops)
    page = client.get("/operations/requests/").get_data(as_text=True)
    assert a.number in page and b.number in page
    only_other = client.get(
        "/operations/requests/", query_string={"account": str(world.other.id)}, headers=HX
    ).get_data(as_text=True)
    assert b.number in only_other and a.number not in only_other
    by_category = client.get(
        "/operations/requests/", query_string={"category": cat_id(db, "other")}
    ).get_data(as_text=True)
    assert a.number in by_category and b.number not in by_category


def test_take_in_place(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent, "other")
    auth.login(world.ops)
    response = client.post(f"/operations/requests/{req.number}/take", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.startswith("<tr") and "In process" in body
    assert world.ops.name in body
    db.session.refresh(req)
    assert req.assigned_to_id == world.ops.id and req.status == "in_process"
    again = client.post(f"/operations/requests/{req.number}/status/complete", headers=HX)
    assert again.status_code == 409 and "cannot be completed" in again.get_data(as_text=True)


# --- admin ---------------------------------------------------------------------------------------


def test_admin_renames_a_category_and_agents_see_it_at_once(client, auth, world, db):
    category = request_category(db, "name_correction")
    auth.login(world.admin)
    edit = client.get(f"/admin/request-categories/{category.id}/rename", headers=HX).get_data(as_text=True)
    assert edit.lstrip().startswith("<tr") and "New name" in edit
    response = client.post(
        f"/admin/request-categories/{category.id}/rename",
        data={"label": "Name Change", "behaviour": "general"},
        headers=HX,
    )
    assert response.status_code == 200 and "Name Change" in response.get_data(as_text=True)
    empty = client.post(f"/admin/request-categories/{category.id}/rename", data={"label": ""}, headers=HX)
    assert empty.status_code == 422 and "Enter a name." in empty.get_data(as_text=True)
    auth.logout()
    auth.login(world.agent)
    page = client.get("/bookings/AT10000001/raise-request").get_data(as_text=True)
    assert "Name Change" in page and "Name Correction" not in page


def test_admin_cannot_delete_a_used_category(client, auth, world, db):
    raise_service_request(db, world.booking, world.agent, "other")
    category = request_category(db, "other")
    auth.login(world.admin)
    response = client.post(f"/admin/request-categories/{category.id}/delete", headers=HX)
    assert response.status_code == 422 and "deactivate it instead" in response.get_data(as_text=True)
    response = client.post(f"/admin/request-categories/{category.id}/deactivate")
    assert response.status_code == 303
    db.session.refresh(category)
    assert not category.active
    # The old request still shows its category.
    auth.logout()
    auth.login(world.agent)
    assert "Other" in client.get("/requests/").get_data(as_text=True)


def test_admin_adds_and_moves_categories(client, auth, world, db):
    auth.login(world.admin)
    assert client.post("/admin/request-categories", data={"label": "Groups", "group": ""}).status_code == 303
    group = db.session.scalar(
        select(type(request_category(db))).where(type(request_category(db)).label == "Groups")
    )
    client.post(
        "/admin/request-categories",
        data={"label": "Split PNR", "group": str(group.id), "behaviour": "general"},
    )
    other = request_category(db, "other")
    client.post(f"/admin/request-categories/{other.id}/move", data={"group": str(group.id)})
    db.session.refresh(other)
    assert other.parent_id == group.id
    page = client.get("/admin/request-categories").get_data(as_text=True)
    assert page.index("Groups") < page.index("Split PNR")
    assert client.post("/admin/request-categories", data={"label": ""}).status_code == 422


def test_admin_manages_refund_reasons_and_the_claim_form_follows(client, auth, world, db):
    reason = db.session.scalar(select(RefundReason).where(RefundReason.code == "visa_refused"))
    auth.login(world.admin)
    page = client.get("/admin/refund-reasons").get_data(as_text=True)
    assert "Visa refused" in page
    client.post(
        f"/admin/refund-reasons/{reason.id}/rename", data={"label": "Visa denied", "involuntary": "y"}
    )
    client.post("/admin/refund-reasons", data={"label": "Airport strike"})
    hidden = db.session.scalar(select(RefundReason).where(RefundReason.code == "duplicate_booking"))
    client.post(f"/admin/refund-reasons/{hidden.id}/deactivate")
    db.session.refresh(reason)
    assert reason.label == "Visa denied" and reason.involuntary
    auth.logout()
    auth.login(world.agent)
    form = client.get("/bookings/AT10000001/refund-claim?coupon=P1.S1").get_data(as_text=True)
    assert "Visa denied" in form and "Airport strike" in form and "Duplicate booking" not in form


# --- CSRF ----------------------------------------------------------------------------------------


def test_request_posts_need_the_csrf_token(another_app, world, db):
    from tests.web.test_csrf import login, token_from

    client = another_app(WTF_CSRF_ENABLED=True).test_client()
    req = raise_service_request(db, world.booking, world.agent, "other")
    login(client, world.agent)
    refused = client.post(f"/requests/{req.number}/messages", data={"body": "no token"}, headers=HX)
    assert refused.status_code == 400
    page = client.get(f"/requests/{req.number}").get_data(as_text=True)
    header = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    accepted = client.post(
        f"/requests/{req.number}/messages", data={"body": "with token"}, headers={**HX, "X-CSRFToken": header}
    )
    assert accepted.status_code == 200
    form = client.post(
        "/bookings/AT10000001/raise-request",
        data={"category": cat_id(db, "name_correction"), "description": "x", "csrf_token": token_from(page)},
    )
    assert form.status_code == 303
    assert [m.body for m in db.session.scalars(select(RequestMessage))] == ["with token"]
