"""Issue 13, the refund paths and what they show: a passenger who gets nothing never blocks the others
(item 3), the path a refund was started by (item 7), the slide-out when nothing is left (item 8), and the
queue's and Finance's small wrongs (item 12)."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.clock import utcnow
from portal.models import Refund
from portal.services.refunds import apply_action
from tests.conftest import booking_doc, passenger_doc, rescheduled

HX = {"HX-Request": "true"}


def fingerprint(page: str) -> str:
    return re.search(r'name="fingerprint" value="([^"]*)"', page).group(1)


def refunds(db):
    db.session.expire_all()
    return db.session.scalars(select(Refund).order_by(Refund.id)).all()


def checked(page: str) -> list[str]:
    """The passengers ticked in the slide-out."""
    return re.findall(r'name="passenger" value="(P\d)" id="pax-P\d"\s+checked', page)


def refund_button_disabled(page: str) -> bool:
    return bool(re.search(r'<button type="submit" class="primary"\s+disabled\s*>Refund</button>', page))


# --- Item 3: a family with an infant ------------------------------------------------------------------


@pytest.fixture
def family(make, world):
    """Two adults (315.00 each after the 15.00 service fee) and an infant whose 10.00 back (40.00 fare
    less a 30.00 cancellation fee, no refundable taxes) is all taken by the 15.00 service fee."""
    return make.booking(
        order_number="FM10000001",
        passengers=[
            passenger_doc("P1", "TAN", "WEI MING", "618-2400000071"),
            passenger_doc("P2", "TAN", "HUI LING", "618-2400000072"),
            passenger_doc(
                "P3",
                "TAN",
                "BABY",
                "618-2400000073",
                ptype="INF",
                base="40.00",
                taxes="12.00",
                refundable_taxes="0.00",
                cancellation_fee="30.00",
            ),
        ],
    )


def test_the_refund_button_works_as_it_opens_for_a_family_with_an_infant(client, auth, world, family, db):
    auth.login(world.agent)
    page = client.get("/bookings/FM10000001/refund", headers=HX).get_data(as_text=True)
    assert checked(page) == ["P1", "P2", "P3"]
    assert "Gets nothing: the service fee takes all that would come back" in page
    assert 'id="quote-nothing-for"' in page  # says the infant goes into the refund for nothing
    assert "SGD 630.00" in page
    assert not refund_button_disabled(page)
    created = client.post(
        "/bookings/FM10000001/refund",
        headers=HX,
        data={"selection": "1", "passenger": ["P1", "P2", "P3"], "fingerprint": fingerprint(page)},
    )
    assert created.status_code == 204
    [refund] = refunds(db)
    assert refund.path == "instant_quote" and str(refund.estimated_amount) == "630.00"
    # The infant is charged the 10.00 that came back, not the whole 15.00: the adults' refunds pay no
    # part of the infant's fee when Credit balance deducts the refund's fees.
    assert str(refund.service_fee) == "40.00"
    infant = [line for line in refund.passengers if line.passenger.ref == "P3"][0]
    assert infant.quote_case == "non_refundable" and str(infant.amount) == "0.00"
    assert len(refund.coupons) == 6  # the infant's coupons are in the refund too


def test_a_changed_fee_still_shows_the_quote_again(client, auth, world, family, db):
    """The fingerprint still guards the quote the family saw."""
    from portal.models import Account

    auth.login(world.agent)
    page = client.get("/bookings/FM10000001/refund").get_data(as_text=True)
    db.session.get(Account, world.demo.id).service_fee = 10
    db.session.commit()
    response = client.post(
        "/bookings/FM10000001/refund",
        data={"selection": "1", "passenger": ["P1", "P2", "P3"], "fingerprint": fingerprint(page)},
    )
    assert response.status_code == 409 and "The quote changed" in response.get_data(as_text=True)
    assert refunds(db) == []


def test_unticking_the_last_passenger_ticks_nobody(client, auth, world, family, db):
    auth.login(world.agent)
    # What htmx sends when every box is unticked: the form's hidden fields and no passenger.
    page = client.get(
        "/bookings/FM10000001/refund", query_string={"selection": "1", "fingerprint": ""}, headers=HX
    )
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert checked(body) == []
    assert refund_button_disabled(body)
    assert "Select at least one passenger to refund." in body
    assert "notice-error" not in body
    forged = client.post("/bookings/FM10000001/refund", data={"selection": "1", "fingerprint": ""})
    assert forged.status_code == 422 and refunds(db) == []


def test_ticking_one_passenger_quotes_only_that_one(client, auth, world, family, db):
    auth.login(world.agent)
    page = client.get(
        "/bookings/FM10000001/refund", query_string={"selection": "1", "passenger": "P2"}, headers=HX
    ).get_data(as_text=True)
    assert checked(page) == ["P2"] and "SGD 315.00" in page and "Gets nothing" not in page


def test_only_the_infant_gets_nothing_so_there_is_nothing_to_confirm(client, auth, world, family, db):
    auth.login(world.agent)
    page = client.get(
        "/bookings/FM10000001/refund", query_string={"selection": "1", "passenger": "P3"}
    ).get_data(as_text=True)
    assert "Gets nothing" in page and refund_button_disabled(page)
    assert "Nothing would be refunded to the selected passengers" in page
    forged = client.post(
        "/bookings/FM10000001/refund",
        data={"selection": "1", "passenger": ["P3"], "fingerprint": fingerprint(page)},
    )
    assert forged.status_code == 422 and refunds(db) == []


# --- Item 7: the path the agent actually used -----------------------------------------------------------


def test_an_operator_refund_from_cancel_and_refund_is_recorded_as_such(client, auth, world, db):
    auth.login(world.agent)
    step = client.get(
        "/bookings/AT10000001/cancel-refund/operator", query_string={"coupon": ["P1.S1", "P1.S2"]}
    ).get_data(as_text=True)
    created = client.post(
        "/bookings/AT10000001/cancel-refund/operator",
        data={"coupon": ["P1.S1", "P1.S2"], "fingerprint": fingerprint(step)},
    )
    assert created.status_code == 303
    [refund] = refunds(db)
    assert refund.path == "cancel_refund" and not refund.involuntary and refund.status == "requested"
    info = client.get("/bookings/AT10000001/refund-info").get_data(as_text=True)
    assert "Cancel &amp; Refund (operator refund) · Atlas Initiated" in info
    assert "Refund button (instant quote)" not in info
    assert "Started by Cancel &amp; Refund (operator refund)." in info  # the history's first event
    history = client.get("/bookings/AT10000001/request-history").get_data(as_text=True)
    assert "Refund button (instant quote)" not in history

    auth.logout()
    auth.login(world.ops)
    queue = client.get("/operations/refunds").get_data(as_text=True)
    assert "<td>Cancel &amp; Refund (operator refund)</td>" in queue
    only = client.get("/operations/refunds", query_string={"path": "cancel_refund"}).get_data(as_text=True)
    assert refund.code in only
    assert refund.code not in client.get("/operations/refunds", query_string={"path": "instant_quote"}).text
    operator_tab = client.get("/finance/refunds/operator").get_data(as_text=True)
    assert refund.code in operator_tab
    assert refund.code not in client.get("/finance/refunds/agent").get_data(as_text=True)


@pytest.fixture
def changed(make, world):
    """A DEMO booking whose outbound the airline moved 3 hours later (Action required)."""
    doc = booking_doc(
        order_number="SC10000009", account="DEMO", passengers=[passenger_doc(ticket="618-2400000069")]
    )
    make.import_bookings(doc)
    make.import_bookings(rescheduled(doc, segment=0, hours=3))
    return doc


def test_a_free_refund_after_a_schedule_change_is_recorded_as_a_free_refund(client, auth, world, changed, db):
    auth.login(world.agent)
    step_url = client.get("/bookings/SC10000009/schedule-changes/free-refund").headers["Location"]
    step = client.get(step_url).get_data(as_text=True)
    created = client.post(
        "/bookings/SC10000009/cancel-refund/operator",
        data={"coupon": ["P1.S1", "P1.S2"], "involuntary": "1", "fingerprint": fingerprint(step)},
    )
    assert created.status_code == 303
    [refund] = refunds(db)
    assert refund.path == "free_refund" and refund.involuntary and str(refund.service_fee) == "0.00"
    info = client.get("/bookings/SC10000009/refund-info").get_data(as_text=True)
    assert "Free refund (airline schedule change) · Atlas Initiated" in info
    assert "Refund button (instant quote)" not in info

    auth.logout()
    auth.login(world.ops)
    assert "<td>Free refund (airline schedule change)</td>" in client.get("/operations/refunds").text
    assert refund.code in client.get("/finance/refunds/operator").get_data(as_text=True)


def test_the_refund_button_still_records_the_instant_quote(client, auth, world, db):
    auth.login(world.agent)
    page = client.get("/bookings/AT10000001/refund").get_data(as_text=True)
    client.post(
        "/bookings/AT10000001/refund",
        data={"selection": "1", "passenger": ["P1"], "fingerprint": fingerprint(page)},
    )
    [refund] = refunds(db)
    assert refund.path == "instant_quote"


# --- Item 8: nothing left to refund ---------------------------------------------------------------------


def test_a_fully_refunded_booking_says_nothing_is_left_to_refund(client, auth, world, make, db):
    make.refund(world.booking, world.agent)  # its only passenger, every segment
    auth.login(world.agent)
    response = client.get("/bookings/AT10000001/refund", headers=HX)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Nothing left to refund" in page
    assert "Every passenger&#39;s flights are already in a refund" in page
    assert "Select at least one passenger" not in page and "notice-error" not in page
    assert ">Refund</button>" not in page


def test_a_flown_booking_says_nothing_is_left_to_refund(client, auth, world, make, db):
    make.booking(order_number="FL10000009", departure=utcnow() - timedelta(days=10))
    auth.login(world.agent)
    page = client.get("/bookings/FL10000009/refund").get_data(as_text=True)
    assert "Nothing left to refund" in page and "Every flight has been flown." in page
    assert "Select at least one passenger" not in page


def test_a_cancelled_booking_offers_no_refund_button_and_its_url_says_why(client, auth, world, make):
    make.booking(order_number="CX10000001", status="cancelled")
    auth.login(world.agent)
    details = client.get("/bookings/CX10000001").get_data(as_text=True)
    actions = details[details.index('id="booking-actions"') :]
    actions = actions[: actions.index("</div>")]
    assert ">Refund</a>" not in actions and "Raise a Request" in actions
    ticketed = client.get("/bookings/AT10000001").get_data(as_text=True)
    assert ">Refund</a>" in ticketed  # the positive control
    response = client.get("/bookings/CX10000001/refund")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Nothing left to refund" in page and "This booking is cancelled." in page
    posted = client.post("/bookings/CX10000001/refund", data={"selection": "1", "passenger": ["P1"]})
    assert posted.status_code == 409 and "This booking is cancelled." in posted.get_data(as_text=True)


# --- Item 12: the queue's and Finance's small wrongs ----------------------------------------------------


def test_a_card_orders_last_step_says_close_paid_to_card(client, auth, world, make, db):
    booking = make.booking(order_number="VC10000001", payment_channel="vcc")
    refund = make.refund(booking, world.agent, status="received")
    auth.login(world.ops)
    queue = client.get("/operations/refunds").get_data(as_text=True)
    row = queue[queue.index(f'id="refund-row-{refund.id}"') :]
    row = row[: row.index("</tr>")]
    assert ">Close — paid to card</button>" in row and ">Credit balance</button>" not in row
    done = client.post(f"/operations/refunds/{refund.id}/credit_balance", headers=HX)
    assert done.status_code == 200 and "Refunded" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).credited_amount is None


def test_the_queue_column_says_who_received_the_refund_and_when(client, auth, world, make):
    received = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Singapore
    make.refund(world.booking, world.agent, now=received)
    auth.login(world.ops)
    queue = client.get("/operations/refunds").get_data(as_text=True)
    # The column's header (a sort link since issue 15).
    assert re.search(r'<th scope="col"[^>]*><a class="sort"[^>]*>Received by Atlas<', queue)
    assert '<td class="nowrap">02 Mar 2026 09:00</td>' in queue


def submitted_cell(page: str, code: str) -> str:
    """The Submitted cell of a refund's row on an agent's Finance → Refunds (order, passengers, submitted)."""
    row = page[page.index(f'<td class="mono">{code}</td>') :]
    return re.findall(r'<td(?: class="nowrap")?>(.*?)</td>', row[: row.index("</tr>")], re.S)[2]


def test_finance_submitted_is_when_it_went_to_the_airline(client, auth, world, make, db):
    created = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    waiting = make.refund(world.booking, world.agent, now=created)
    other = make.booking(order_number="AT10000008", passengers=[passenger_doc(ticket="618-2400000088")])
    sent = make.refund(other, world.agent, now=created)
    apply_action(
        sent, "mark_submitted_to_airline", user=world.ops, now=created + timedelta(days=3), reference="A1"
    )
    db.session.commit()
    auth.login(world.agent)
    page = client.get("/finance/refunds").get_data(as_text=True)
    assert submitted_cell(page, waiting.code).strip().startswith('<span class="muted"')  # empty: "—"
    assert "02 Mar 2026" not in submitted_cell(page, waiting.code)
    assert submitted_cell(page, sent.code).strip() == "05 Mar 2026"
    # The submitted-date filter reads the same date as the column.
    hit = client.get(
        "/finance/refunds", query_string={"submitted_from": "2026-03-05", "submitted_to": "2026-03-05"}
    )
    assert sent.code in hit.text and waiting.code not in hit.text
    miss = client.get(
        "/finance/refunds", query_string={"submitted_from": "2026-03-02", "submitted_to": "2026-03-02"}
    )
    assert sent.code not in miss.text and waiting.code not in miss.text
    # The export's Submitted column agrees.
    exported = client.get("/finance/refunds/all/export.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = {row["Refund code"]: row for row in csv.DictReader(io.StringIO(exported))}
    assert rows[waiting.code]["Submitted"] == "" and rows[sent.code]["Submitted"].startswith("2026-03-05")


def test_an_agent_refund_is_submitted_when_it_is_made(client, auth, world, make):
    made = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    refund = make.refund(world.booking, world.agent, path="agent_request", now=made)
    assert refund.submitted_at == made
    auth.login(world.agent)
    assert submitted_cell(client.get("/finance/refunds").text, refund.code).strip() == "02 Mar 2026"


@pytest.mark.parametrize("channel", ["vcc", "vcc_passthrough"])
def test_the_claim_refusal_on_a_card_order_reads_once(client, auth, world, make, channel):
    make.booking(order_number="VP10000001", payment_channel=channel)
    auth.login(world.agent)
    page = client.get("/bookings/VP10000001/cancel-refund").get_data(as_text=True)
    notice = re.search(r'<p class="notice notice-warn" id="claim-refusal">(.*?)</p>', page, re.S).group(1)
    assert notice.startswith("Refund Claim is not available for ")
    assert notice.count("not available") == 1
