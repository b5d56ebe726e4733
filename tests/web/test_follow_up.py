"""Follow up: disabled before day 21 with its date, enforced by the server, once a day, into a request."""

from datetime import timedelta

from sqlalchemy import select

from portal import jobs
from portal.clock import utcnow
from portal.models import Refund, RefundFollowUp, ServiceRequest
from portal.services.requests import change_status
from tests.conftest import FROZEN_AT, quote_service_request, raise_service_request


def refund_of(world, make, age_days=0):
    """An operator refund of the whole booking, submitted `age_days` ago."""
    return make.refund(world.booking, world.agent, now=utcnow() - timedelta(days=age_days))


def follow_up_control(page: str, code: str) -> str:
    """The Follow up form of one refund on a page."""
    start = page.index(f'action="/refunds/{code}/follow-up"')
    return page[start : page.index("</form>", start)]


def test_follow_up_opens_on_day_21_with_the_date_shown_before(clock, client, auth, world, db, make):
    refund = make.refund(world.booking, world.agent)  # submitted at the frozen 15 Jun 2026 02:00 UTC
    assert refund.created_at == FROZEN_AT
    day_21 = FROZEN_AT + timedelta(days=21)  # 6 Jul 2026 10:00 in Singapore

    clock.set(day_21 - timedelta(seconds=1))
    auth.login(world.agent)
    control = follow_up_control(
        client.get("/bookings/AT10000001/refund-info").get_data(as_text=True), refund.code
    )
    assert f'disabled aria-describedby="fu-{refund.code}">Follow up</button>' in control
    assert f'<small class="muted" id="fu-{refund.code}">Available from 06 Jul 2026</small>' in control
    forged = client.post(f"/refunds/{refund.code}/follow-up", follow_redirects=True)
    assert (
        f"Refund {refund.code} can be followed up 21 days after submission. Available from 06 Jul 2026."
        in forged.get_data(as_text=True)
    )
    assert db.session.scalars(select(RefundFollowUp)).all() == []

    clock.set(day_21)
    control = follow_up_control(
        client.get("/bookings/AT10000001/refund-info").get_data(as_text=True), refund.code
    )
    assert 'class="small" >Follow up</button>' in control and "disabled" not in control
    assert "Follow-up available" in control and "Available from" not in control
    response = client.post(f"/refunds/{refund.code}/follow-up")
    assert response.status_code == 303 and response.headers["Location"].startswith("/requests/SR")
    assert len(db.session.scalars(select(RefundFollowUp)).all()) == 1


def test_follow_up_after_day_21_opens_a_linked_cancel_and_refund_request(client, auth, world, db, make):
    refund = refund_of(world, make, age_days=22)
    auth.login(world.agent)
    cancel_page = client.get("/bookings/AT10000001/cancel-refund").get_data(as_text=True)
    assert 'class="small" >Follow up</button>' in cancel_page and "Follow-up available" in cancel_page
    response = client.post(f"/refunds/{refund.code}/follow-up", data={"message": "Any news from SQ?"})
    assert response.status_code == 303
    req = db.session.scalar(select(ServiceRequest))
    assert req.category.code == "cancel_refund"
    db.session.refresh(refund)
    assert refund.request_id == req.id
    thread = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Follow-up on refund {refund.code}" in thread and "Any news from SQ?" in thread
    again = client.post(f"/refunds/{refund.code}/follow-up", follow_redirects=True)
    assert "already followed up today" in again.get_data(as_text=True)
    assert len(db.session.scalars(select(RefundFollowUp)).all()) == 1


def test_follow_up_goes_to_the_refunds_own_request_and_reopens_it(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent, passengers=("P1",))
    quote_service_request(db, req, world.ops)
    auth.login(world.agent)
    quote = req.quotes[-1]
    client.post(f"/requests/{req.number}/quotes/{quote.id}/accept")
    refund = db.session.scalar(select(Refund))
    assert refund is not None and refund.request_id == req.id
    db.session.refresh(req)
    if req.status == "in_process":
        change_status(req, "mark_processed", user=world.ops)
    assert req.status == "processed"
    refund.created_at = refund.created_at - timedelta(days=25)
    db.session.commit()
    response = client.post(f"/refunds/{refund.code}/follow-up")
    assert response.status_code == 303 and req.number in response.headers["Location"]
    db.session.refresh(req)
    assert req.status == "in_process"
    assert db.session.scalar(select(ServiceRequest.id).where(ServiceRequest.id != req.id)) is None


def test_other_accounts_refund_cannot_be_followed_up(client, auth, world, make):
    refund = refund_of(world, make, age_days=30)
    auth.login(world.other_agent)
    assert client.post(f"/refunds/{refund.code}/follow-up").status_code == 404


def test_the_72_hour_job_completes_processed_requests_once(app, db, world):
    req = raise_service_request(db, world.booking, world.agent, category="other")
    change_status(req, "start", user=world.ops)
    change_status(req, "mark_processed", user=world.ops)
    db.session.commit()
    processed = req.processed_at
    assert jobs.run_job("auto-complete-requests", processed + timedelta(hours=71, minutes=59)) == []
    done = jobs.run_job("auto-complete-requests", processed + timedelta(hours=72))
    assert [r.number for r in done] == [req.number]
    assert jobs.run_job("auto-complete-requests", processed + timedelta(hours=80)) == []
    db.session.expire_all()
    assert db.session.get(ServiceRequest, req.id).status == "completed"
