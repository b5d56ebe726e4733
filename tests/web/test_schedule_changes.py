"""Schedule changes through the web: Action required on the booking and in My Bookings, Accept change,
Free refund (involuntary, no fees), and the operations list across accounts."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from portal.models import Booking, Refund, ScheduleChange
from tests.conftest import booking_doc, cancelled_by_airline, passenger_doc, rescheduled

HX = {"HX-Request": "true"}


def changes(db):
    db.session.expire_all()
    return db.session.scalars(select(ScheduleChange).order_by(ScheduleChange.id)).all()


def booking(db, order_number="SC10000001"):
    db.session.expire_all()
    return db.session.scalar(select(Booking).where(Booking.order_number == order_number))


@pytest.fixture
def changed(make, world):
    """A DEMO booking re-imported with its outbound moved 3 hours later."""
    doc = booking_doc(
        order_number="SC10000001", account="DEMO", passengers=[passenger_doc(ticket="618-2400000061")]
    )
    doc["segments"] = [
        {
            **s,
            "departure": f"2031-03-{14 + 7 * i}T10:05:00+08:00",
            "arrival": f"2031-03-{14 + 7 * i}T11:35:00+07:00",
        }
        for i, s in enumerate(doc["segments"])
    ]
    make.import_bookings(doc)
    make.import_bookings(rescheduled(doc, segment=0, hours=3))
    return doc


def row(page: str, order_number: str) -> str:
    """The table row of the booking `order_number` in `page`."""
    start = page.rindex("<tr>", 0, page.index(f">{order_number}</a>"))
    return page[start : page.index("</tr>", start)]


def change_ids(page: str) -> list[str]:
    return re.findall(r'name="change" value="(\d+)"', page)


def test_the_booking_shows_action_required_with_old_and_new_times(client, auth, world, changed):
    auth.login(world.agent)
    page = client.get("/bookings/SC10000001").get_data(as_text=True)
    assert "Action required" in page
    notice = page[page.index('id="action-required"') :]
    notice = notice[: notice.index("</aside>")]
    assert "14 Mar 2031 10:05 (UTC+08:00) → 14 Mar 2031 11:35 (UTC+07:00)" in notice  # was
    assert "14 Mar 2031 13:05 (UTC+08:00) → 14 Mar 2031 14:35 (UTC+07:00)" in notice  # now
    assert "Accept change" in notice and "Free refund" in notice


def test_my_bookings_counts_and_filters_action_required(client, auth, world, make, changed):
    make.booking(order_number="AT10000002", passengers=[passenger_doc(ticket="618-2400000052")])
    other_doc = booking_doc(
        "OT20000001", account="OTHER", passengers=[passenger_doc("P1", "LIM", "HUI LING", "618-2400009999")]
    )
    make.import_bookings(cancelled_by_airline(other_doc))  # another account's change is not counted
    auth.login(world.agent)
    page = client.get("/bookings/").get_data(as_text=True)
    assert "Action required: 1" in page
    filtered = client.get("/bookings/?status=action_required", headers=HX).get_data(as_text=True)
    assert "SC10000001" in filtered and "OT20000001" not in filtered
    assert "AT10000001" not in filtered and "AT10000002" not in filtered
    assert "Showing 1–1 of 1 booking" in filtered

    auth.logout()
    auth.login(world.ops)
    assert "Action required: 2" in client.get("/bookings/").get_data(as_text=True)


def test_accept_change_records_it_and_clears_action_required(client, auth, world, changed, db):
    auth.login(world.agent)
    page = client.get("/bookings/SC10000001").get_data(as_text=True)
    response = client.post(
        "/bookings/SC10000001/schedule-changes/accept", data={"change": change_ids(page)}, headers=HX
    )
    assert response.status_code == 200
    part = response.get_data(as_text=True)
    assert "<header" not in part and "Schedule change accepted" in part and "Accept change" not in part
    [change] = changes(db)
    assert change.resolution == "accepted" and change.acknowledged_by_id == world.agent.id
    assert booking(db).action_required is False

    page = client.get("/bookings/").get_data(as_text=True)
    assert "Action required:" not in page
    details = client.get("/bookings/SC10000001").get_data(as_text=True)
    assert 'id="action-required"' in details and "Accept change" not in details
    assert "Accepted" in details  # in the booking's schedule-change history

    # A second click (another tab) changes nothing and says so.
    again = client.post(
        "/bookings/SC10000001/schedule-changes/accept", data={"change": change_ids(page) or [change.id]}
    )
    assert again.status_code == 303
    assert "already answered" in client.get("/bookings/SC10000001").get_data(as_text=True)


def test_without_javascript_accept_change_redirects_with_a_message(client, auth, world, changed, db):
    auth.login(world.agent)
    ids = change_ids(client.get("/bookings/SC10000001").get_data(as_text=True))
    response = client.post("/bookings/SC10000001/schedule-changes/accept", data={"change": ids})
    assert response.status_code == 303 and response.headers["Location"] == "/bookings/SC10000001"
    assert "Schedule change accepted" in client.get("/bookings/SC10000001").get_data(as_text=True)


def test_accepting_another_bookings_change_is_refused(client, auth, world, make, changed, db):
    make.booking(order_number="AT10000002", passengers=[passenger_doc(ticket="618-2400000052")])
    auth.login(world.agent)
    [change] = changes(db)
    response = client.post(
        "/bookings/AT10000002/schedule-changes/accept", data={"change": [change.id]}, headers=HX
    )
    assert response.status_code == 422 and "not on this booking" in response.get_data(as_text=True)
    assert changes(db)[0].acknowledged_at is None


def test_free_refund_opens_the_operator_refund_step_involuntary_with_no_fees(
    client, auth, world, changed, db
):
    auth.login(world.agent)
    response = client.get("/bookings/SC10000001/schedule-changes/free-refund")
    assert response.status_code == 303
    target = urlsplit(response.headers["Location"])
    assert target.path == "/bookings/SC10000001/cancel-refund/operator"
    assert parse_qs(target.query) == {"coupon": ["P1.S1", "P1.S2"], "involuntary": ["1"]}

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="involuntary" checked' in page
    # base 420.00 + all taxes 85.50; no cancellation fee, no service fee (DEMO's is 15.00)
    assert "SGD 505.50" in page and "15.00" not in page and "150.00" not in page
    fingerprint = re.search(r'name="fingerprint" value="([^"]*)"', page).group(1)
    created = client.post(
        "/bookings/SC10000001/cancel-refund/operator",
        data={"coupon": ["P1.S1", "P1.S2"], "involuntary": "1", "fingerprint": fingerprint},
        headers=HX,
    )
    assert created.status_code == 204
    [refund] = db.session.scalars(select(Refund)).all()
    assert (
        refund.involuntary and str(refund.estimated_amount) == "505.50" and str(refund.service_fee) == "0.00"
    )
    [change] = changes(db)
    assert change.resolution == "refund" and change.refund_id == refund.id
    assert booking(db).action_required is False
    details = client.get("/bookings/SC10000001").get_data(as_text=True)
    assert (
        "Accept change" not in details and f'Free refund</span> <span class="mono">{refund.code}' in details
    )
    history = client.get("/bookings/SC10000001/request-history").get_data(as_text=True)
    # The change's lines are text; the refund's events link to Refund Info.
    assert re.search(rf"<li><time>[^<]*</time> — Free refund {refund.code} started for the change", history)
    assert f'#refund-{refund.code}">{refund.code}</a>' in history
    auth.logout()
    auth.login(world.ops)
    answered = client.get("/operations/schedule-changes", query_string={"state": "refund"}).text
    assert f'Free refund</span> <span class="mono">{refund.code}' in row(answered, "SC10000001")


def test_free_refund_with_nothing_left_to_refund_explains(client, auth, world, changed, db):
    from portal.domain.refunds import RefundPath
    from portal.services.refunds import create_refund, parse_coupon_keys

    b = booking(db)
    create_refund(
        b, parse_coupon_keys(b, ["P1.S1", "P1.S2"]), path=RefundPath.INSTANT_QUOTE, user=world.agent
    )
    db.session.commit()
    auth.login(world.agent)
    response = client.get("/bookings/SC10000001/schedule-changes/free-refund")
    assert response.status_code == 303 and response.headers["Location"] == "/bookings/SC10000001"
    assert "Nothing is left to refund" in client.get("/bookings/SC10000001").get_data(as_text=True)


def test_operations_see_open_changes_across_accounts(client, auth, world, make, changed, db):
    other_doc = booking_doc(
        "OT20000002", account="OTHER", passengers=[passenger_doc("P1", "LIM", "HUI LING", "618-2400009998")]
    )
    make.import_bookings(other_doc)
    make.import_bookings(cancelled_by_airline(other_doc, segment=1))
    auth.login(world.ops)
    page = client.get("/operations/schedule-changes").get_data(as_text=True)
    assert "SC10000001" in page and "OT20000002" in page and "Cancelled by the airline" in page
    assert "Showing 1–2 of 2 schedule changes" in page
    # Each row says what the airline did to its own flight: new times, or a cancellation (no new times).
    moved, cancelled = row(page, "SC10000001"), row(page, "OT20000002")
    assert "New times" in moved and "Cancelled" not in moved and "arr." in moved.split("</td>")[6]
    assert "Cancelled by the airline" in cancelled and "New times" not in cancelled
    assert "<td>Cancelled</td>" in cancelled
    only_other = client.get(f"/operations/schedule-changes?account={world.other.id}", headers=HX)
    part = only_other.get_data(as_text=True)
    assert "<header" not in part and "OT20000002" in part and "SC10000001" not in part

    [mine, _] = changes(db)
    auth.logout()
    auth.login(world.agent)
    client.post("/bookings/SC10000001/schedule-changes/accept", data={"change": [mine.id]})
    auth.logout()
    auth.login(world.ops)
    still_open = client.get("/operations/schedule-changes").get_data(as_text=True)
    assert "SC10000001" not in still_open and "OT20000002" in still_open
    accepted = client.get("/operations/schedule-changes?state=accepted").get_data(as_text=True)
    assert "SC10000001" in accepted and "Accepted" in accepted and "Test User" in accepted


def test_operations_list_query_count_is_fixed(client, auth, world, make, changed, count_queries):
    auth.login(world.ops)
    client.get("/operations/schedule-changes")
    with count_queries() as one:
        client.get("/operations/schedule-changes?state=any")
    for n in range(2, 6):
        doc = booking_doc(f"AT1000000{n}", passengers=[passenger_doc(ticket=f"618-24000000{n}0")])
        make.import_bookings(doc)
        make.import_bookings(cancelled_by_airline(doc))
    with count_queries() as five:
        client.get("/operations/schedule-changes?state=any")
    assert one.count == five.count, five.statements


@pytest.mark.csrf
def test_accept_change_needs_the_csrf_token(another_app, world, changed, db):
    from tests.web.test_csrf import login

    client = another_app(WTF_CSRF_ENABLED=True).test_client()
    login(client, world.agent)
    page = client.get("/bookings/SC10000001").get_data(as_text=True)
    ids = change_ids(page)
    refused = client.post("/bookings/SC10000001/schedule-changes/accept", data={"change": ids})
    assert refused.status_code == 400 and changes(db)[0].acknowledged_at is None
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    accepted = client.post(
        "/bookings/SC10000001/schedule-changes/accept", data={"change": ids, "csrf_token": token}
    )
    assert accepted.status_code == 303 and changes(db)[0].resolution == "accepted"


@pytest.mark.csrf
def test_add_baggage_form_carries_the_csrf_token(another_app, world, db):
    from tests.web.test_csrf import login, token_from

    client = another_app(WTF_CSRF_ENABLED=True).test_client()
    login(client, world.agent)
    page = client.get("/bookings/AT10000001/baggage").get_data(as_text=True)
    option = re.search(r'name="option" value="(\d+)"', page).group(1)
    data = {"passenger": "P1", "segment": "S1", "option": option}
    assert client.post("/bookings/AT10000001/baggage", data=data).status_code == 400
    response = client.post("/bookings/AT10000001/baggage", data={**data, "csrf_token": token_from(page)})
    assert response.status_code == 303


def test_an_accepted_change_gives_no_free_refund(client, auth, world, make, db):
    """Accepting the change answers it: the agent cannot then refund the whole trip free of fees."""
    import copy
    import re
    from datetime import datetime, timedelta

    from sqlalchemy import select

    from portal.models import Refund, ScheduleChange
    from tests.conftest import booking_doc, passenger_doc

    doc = booking_doc(
        "FR00000001",
        passengers=[passenger_doc(ticket="618-2400000888", refundable=False, cancellation_fee="0.00")],
    )
    make.import_bookings(doc)
    moved = copy.deepcopy(doc)
    for field in ("departure", "arrival"):
        moved["segments"][1][field] = (
            datetime.fromisoformat(moved["segments"][1][field]) + timedelta(minutes=5)
        ).isoformat()
    make.import_bookings(moved)
    change = db.session.scalar(select(ScheduleChange))
    auth.login(world.agent)
    free_step = client.get(
        "/bookings/FR00000001/cancel-refund/operator",
        query_string={"coupon": ["P1.S1", "P1.S2"], "involuntary": "1"},
    ).get_data(as_text=True)
    assert "505.50" in free_step  # while the change is open, the free refund is offered
    client.post("/bookings/FR00000001/schedule-changes/accept", data={"change": str(change.id)})
    step = client.get(
        "/bookings/FR00000001/cancel-refund/operator",
        query_string={"coupon": ["P1.S1", "P1.S2"], "involuntary": "1"},
    )
    fingerprint = re.search(r'name="fingerprint" value="([^"]*)"', step.get_data(as_text=True))
    response = client.post(
        "/bookings/FR00000001/cancel-refund/operator",
        data={
            "coupon": ["P1.S1", "P1.S2"],
            "involuntary": "1",
            "fingerprint": fingerprint.group(1) if fingerprint else "",
        },
    )
    refund = db.session.scalar(select(Refund))
    assert refund is None or not refund.involuntary
    assert response.status_code in (303, 409, 422)


def test_the_empty_list_says_what_to_do_for_the_filter_chosen(client, auth, world, changed):
    auth.login(world.ops)
    other = client.get(f"/operations/schedule-changes?account={world.other.id}").get_data(as_text=True)
    assert "No schedule changes match. Every change was answered; set Status to Any" in other
    refunded = client.get("/operations/schedule-changes?state=refund").get_data(as_text=True)
    assert "No schedule changes match. Try another status, or All accounts." in refunded
    assert "Every change was answered" not in refunded
