"""Issue 13, service requests through the pages and the 72-hour job: an open quote is not auto-completed
before it expires (page and job agree); a request whose refund exists cannot be cancelled; an Agent &
Passenger Initiated Refund needs no description; operations quotes are prefilled and bounded."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import jobs
from portal.domain.requests import quote_expires_at
from portal.filters import user_time
from portal.models import Refund, RequestQuote, ServiceRequest
from portal.services.requests import RequestError, change_status, create_request
from tests.conftest import (
    passenger_doc,
    portal_today,
    quote_service_request,
    raise_service_request,
    request_category,
)

HX = {"HX-Request": "true"}


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


# --- Item 1: the 72-hour job against an open quote --------------------------------------------------


def test_an_open_quote_is_not_auto_completed_before_it_expires(clock, client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent)
    quote = quote_service_request(db, req, world.ops, valid_until=clock.today() + timedelta(days=7))
    number = req.number
    assert req.status == "processed" and req.processed_at == clock.now

    clock.advance(hours=72)
    assert jobs.run_job("auto-complete-requests") == []
    auth.login(world.agent)
    page = client.get(f"/requests/{number}").get_data(as_text=True)
    assert ">Accept</button>" in page and ">Decline</button>" in page
    due = quote_expires_at(quote.valid_until) + timedelta(hours=72)
    assert f"<dt>Completes automatically</dt><dd>{user_time(due)} if there is no reply</dd>" in page

    # Expired, the page asks for a reply instead, and the agency has the usual 72 hours for it.
    clock.set(due - timedelta(seconds=1))
    assert jobs.run_job("auto-complete-requests") == []
    page = client.get(f"/requests/{number}").get_data(as_text=True)
    assert "This quote has expired." in page and ">Accept</button>" not in page

    clock.set(due)
    assert [r.number for r in jobs.run_job("auto-complete-requests")] == [number]
    db.session.expire_all()
    assert db.session.scalar(select(ServiceRequest.status).where(ServiceRequest.number == number)) == (
        "completed"
    )


def test_without_an_open_quote_the_72_hours_count_from_processing(clock, db, world):
    req = raise_service_request(db, world.booking, world.agent)
    quote = quote_service_request(db, req, world.ops, valid_until=clock.today() + timedelta(days=7))
    from portal.services.requests import decline_quote

    decline_quote(req, quote, user=world.agent)
    change_status(req, "mark_processed", user=world.ops)
    db.session.commit()
    processed = req.processed_at
    assert req.auto_completes_at == processed + timedelta(hours=72)
    clock.set(processed + timedelta(hours=72))
    assert [r.number for r in jobs.run_job("auto-complete-requests")] == [req.number]


# --- Item 6: a request whose refund exists cannot be cancelled -----------------------------------------


def test_a_request_that_created_its_refund_offers_no_cancel_and_says_why(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent, "agent_refund")
    [refund] = db.session.scalars(select(Refund)).all()
    assert req.status == "new"
    auth.login(world.agent)
    page = client.get(f"/requests/{req.number}").get_data(as_text=True)
    assert "Cancel request" not in page
    assert f"refund {refund.code} was submitted from it" in page and "cannot be withdrawn" in page
    assert refund.code in page.split("<dt>Refunds</dt>")[1].split("</div>")[0]  # linked on the page

    forced = client.post(f"/requests/{req.number}/cancel")
    assert forced.status_code == 409
    assert f"refund {refund.code} was submitted from it" in forced.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ServiceRequest, req.id).status == "new"
    assert db.session.get(Refund, refund.id).status == "submitted"


def test_the_service_refuses_the_cancel_too(db, world):
    req = raise_service_request(db, world.booking, world.agent, "agent_refund")
    with pytest.raises(Exception, match="cannot be withdrawn") as refused:
        change_status(req, "cancel", user=world.agent)
    assert refused.value.__class__.__name__ == "CancelRefused"


def test_a_request_without_a_refund_still_offers_cancel(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent, "cancel_refund")
    auth.login(world.agent)
    page = client.get(f"/requests/{req.number}").get_data(as_text=True)
    assert ">Cancel request</button>" in page and "cannot be withdrawn" not in page


def test_a_follow_ups_request_only_links_the_refund_and_stays_cancellable(client, auth, world, db, make):
    """A follow-up links an existing refund to a new Cancel & Refund request; it did not create it."""
    refund = make.refund(world.booking, world.agent)
    refund.created_at -= timedelta(days=22)
    db.session.commit()
    auth.login(world.agent)
    response = client.post(f"/refunds/{refund.code}/follow-up", data={"message": "Any news?"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ">Cancel request</button>" in page


# --- Item 12: Agent & Passenger Initiated Refund without a description ----------------------------------


def test_agent_refund_can_be_submitted_without_a_description(client, auth, world, db):
    auth.login(world.agent)
    response = client.post(
        "/bookings/AT10000001/raise-request",
        headers=HX,
        data={
            "category": str(request_category(db, "agent_refund").id),
            "description": "",
            "passenger": ["P1"],
        },
    )
    assert response.status_code == 204, response.get_data(as_text=True)
    [req] = db.session.scalars(select(ServiceRequest)).all()
    assert req.description == "" and count(db, Refund) == 1
    page = client.get(f"/requests/{req.number}").get_data(as_text=True)
    assert "No description" in page


def test_other_categories_still_need_a_description_under_the_field(client, auth, world, db):
    auth.login(world.agent)
    response = client.post(
        "/bookings/AT10000001/raise-request",
        headers=HX,
        data={
            "category": str(request_category(db, "cancel_refund").id),
            "description": " ",
            "passenger": ["P1"],
        },
    )
    assert response.status_code == 422
    assert '<p class="error" id="description-error">Describe the issue.</p>' in response.get_data(
        as_text=True
    )
    assert count(db, ServiceRequest) == 0


def test_the_service_makes_the_same_choice(db, world):
    req = create_request(
        world.booking,
        request_category(db, "agent_refund"),
        user=world.agent,
        description="",
        passenger_refs=["P1"],
    )
    assert req.description == ""
    with pytest.raises(RequestError, match="Describe the issue") as refused:
        create_request(
            world.booking, request_category(db, "other"), user=world.agent, description="", passenger_refs=[]
        )
    assert refused.value.field == "description"


# --- Item 5: operations quotes have guard rails ------------------------------------------------------


@pytest.fixture
def two_pax(make, world):
    return make.booking(
        order_number="RQ10000001",
        passengers=[
            passenger_doc("P1", "TAN", "WEI MING", "618-2400000011"),
            passenger_doc("P2", "TAN", "HUI LING", "618-2400000012"),
        ],
    )


def quote_url(req) -> str:
    return f"/operations/requests/{req.number}/quote"


def valid_until() -> str:
    return (portal_today() + timedelta(days=7)).isoformat()


def test_the_quote_form_is_prefilled_with_the_computed_quote(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent)
    auth.login(world.ops)
    page = client.get(f"/requests/{req.number}").get_data(as_text=True)
    # 420.00 fare − 150.00 cancellation fee + 60.00 refundable taxes − 15.00 service fee, as the Refund
    # button quotes it; at most 420.00 + 85.50 taxes.
    assert 'name="amount-P1" inputmode="decimal" value="315.00"' in page
    assert "Computed quote SGD 315.00; at most SGD 505.50 (fare and taxes)" in page


def test_a_quote_above_fare_and_taxes_is_refused_under_that_passengers_amount(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent)
    auth.login(world.ops)
    response = client.post(quote_url(req), data={"amount-P1": "999,999.00", "valid_until": valid_until()})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert re.search(
        r'<p class="error" id="amount-P1-error">Enter at most SGD 505.50 for TAN/WEI MING \w+: a refund '
        r"cannot exceed the fare and taxes",
        body,
    )
    assert 'value="999,999.00"' in body  # what was typed is kept
    assert count(db, RequestQuote) == 0
    ok = client.post(quote_url(req), data={"amount-P1": "505.50", "valid_until": valid_until()})
    assert ok.status_code == 303 and count(db, RequestQuote) == 1


def test_bad_amounts_and_dates_show_under_their_fields(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent)
    auth.login(world.ops)
    body = client.post(quote_url(req), data={"amount-P1": "abc", "valid_until": valid_until()}).get_data(
        as_text=True
    )
    assert '<p class="error" id="amount-P1-error">Enter the amount for TAN/WEI MING' in body
    past = (portal_today() - timedelta(days=2)).isoformat()
    body = client.post(quote_url(req), data={"amount-P1": "300", "valid_until": past}).get_data(as_text=True)
    assert (
        '<p class="error" id="valid_until-error">The quote&#39;s validity date cannot be in the past.' in body
    )


def test_passengers_in_a_live_refund_are_left_out_of_the_quote(client, auth, world, db, make, two_pax):
    req = raise_service_request(db, two_pax, world.agent, passengers=("P1", "P2"))
    refund = make.refund(two_pax, world.agent, passengers=["P1"])
    auth.login(world.ops)
    page = client.get(f"/requests/{req.number}").get_data(as_text=True)
    assert f"not quoted, already in refund {refund.code}" in page
    assert 'name="amount-P1"' not in page and 'name="amount-P2" inputmode="decimal" value="315.00"' in page

    forced = client.post(
        quote_url(req), data={"amount-P1": "300.00", "amount-P2": "300.00", "valid_until": valid_until()}
    )
    assert forced.status_code == 422
    body = forced.get_data(as_text=True)
    assert re.search(
        rf'<p class="error" id="amount-P1-error">TAN/WEI MING \w+ is already in refund {refund.code}', body
    )
    assert count(db, RequestQuote) == 0

    posted = client.post(quote_url(req), data={"amount-P2": "300.00", "valid_until": valid_until()})
    assert posted.status_code == 303
    [quote] = db.session.scalars(select(RequestQuote)).all()
    assert [line.passenger.ref for line in quote.lines] == ["P2"]
    # The agency's accept refunds P2 alone, with the posted amount.
    from portal.services.requests import accept_quote

    db.session.refresh(req)
    second = accept_quote(req, quote, user=world.agent)
    assert {line.passenger.ref for line in second.passengers} == {"P2"}


def test_a_quote_with_everyone_in_a_refund_is_refused_naming_the_refund(db, world, make):
    from portal.services.requests import QuoteError, post_quote

    req = raise_service_request(db, world.booking, world.agent)
    refund = make.refund(world.booking, world.agent)
    with pytest.raises(QuoteError, match=f"already in a refund \\({refund.code}\\)"):
        post_quote(req, user=world.ops, amounts={}, valid_until=portal_today() + timedelta(days=7))
    with pytest.raises(QuoteError, match=f"already in refund {refund.code}") as refused:
        post_quote(
            req, user=world.ops, amounts={"P1": "1.00"}, valid_until=portal_today() + timedelta(days=7)
        )
    assert refused.value.field == "amount-P1"
