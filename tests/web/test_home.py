"""Home: each role lands on counts of what waits on it; each count opens the list it counts."""

import re
from datetime import timedelta
from html import unescape

from portal import jobs
from portal.clock import utcnow
from tests.conftest import (
    booking_doc,
    order_baggage,
    passenger_doc,
    quote_service_request,
    raise_service_request,
    rescheduled,
)


def tiles(page: str) -> dict[str, tuple[int, str]]:
    """tile key -> (its count, its link)."""
    found = re.findall(
        r'<a class="tile[^"]*" id="tile-([\w-]+)" href="([^"]+)">\s*<span class="tile-count">(\d+)</span>',
        page,
    )
    return {key: (int(count), unescape(href)) for key, href, count in found}


def listed_codes(page: str, pattern: str) -> set[str]:
    return set(re.findall(pattern, page))


def test_an_agent_lands_on_what_waits_on_the_agency(client, auth, world, make, db):
    make.refund(world.booking, world.agent, coupons=["P1.S1"], status="rejected")
    make.refund(world.booking, world.agent, coupons=["P1.S2"], now=utcnow() - timedelta(days=22))
    make.refund(make.booking(order_number="NW10000001"), world.agent)  # too recent to follow up
    quoted = make.booking(order_number="QU10000001", passengers=[passenger_doc(ticket="618-2400000071")])
    quote_service_request(db, raise_service_request(db, quoted, world.agent), world.ops)
    raise_service_request(db, world.booking, world.agent, category="other")  # no quote: not counted
    doc = booking_doc(order_number="SC10000001", passengers=[passenger_doc(ticket="618-2400000061")])
    make.import_bookings(doc)
    make.import_bookings(rescheduled(doc, segment=0, hours=3))
    # The other account's refund is never counted.
    make.refund(world.other_booking, world.other_agent, status="rejected")

    auth.login(world.agent)
    page = client.get("/home").get_data(as_text=True)
    counts = tiles(page)
    assert {k: c for k, (c, _) in counts.items()} == {
        "quotes": 1,
        "follow-ups": 1,
        "action-required": 1,
        "rejected": 1,
    }
    assert "Balance" in page and "SGD" in page and "Last batches" in page
    # Each count opens the list that shows exactly those.
    requests_page = client.get(counts["quotes"][1]).get_data(as_text=True)
    assert "QU10000001" in requests_page and "1 request" in requests_page
    rejected = client.get(counts["rejected"][1]).get_data(as_text=True)
    assert len(listed_codes(rejected, r">(RF\d{8})<")) == 1
    follow_ups = client.get(counts["follow-ups"][1]).get_data(as_text=True)
    assert "Follow-up available" in follow_ups and len(listed_codes(follow_ups, r">(RF\d{8})<")) == 1
    assert "SC10000001" in client.get(counts["action-required"][1]).get_data(as_text=True)


def test_an_agent_with_nothing_waiting_is_told_how_refunds_start(client, auth, world):
    auth.login(world.agent)
    page = client.get("/home").get_data(as_text=True)
    assert "Nothing waits on you" in page and "press Refund" in page
    assert "No batch uploads yet" in page and "Download File Template" in page


def test_operations_see_overdue_refunds_first_with_the_four_hour_clock(client, auth, world, make, db):
    make.refund(world.booking, world.agent, coupons=["P1.S1"], now=utcnow() - timedelta(hours=6))
    make.refund(world.other_booking, world.other_agent)
    jobs.run_job("overdue-refunds")
    raise_service_request(db, make.booking(order_number="RQ10000001"), world.agent, category="other")
    order_baggage(db, make.booking(order_number="BG10000001"), world.agent)

    auth.login(world.ops)
    page = client.get("/home").get_data(as_text=True)
    counts = tiles(page)
    assert list(counts)[0] == "overdue"
    assert {k: c for k, (c, _) in counts.items()} == {
        "overdue": 1,
        "to-submit": 2,
        "requests": 1,
        "baggage": 1,
        "schedule-changes": 0,
    }
    assert "Oldest overdue by 2 h" in page
    assert 'class="tile tile-urgent" id="tile-overdue"' in page
    assert "imports" not in counts and "users" not in counts  # admins only
    queue = client.get(counts["overdue"][1]).get_data(as_text=True)
    assert len(listed_codes(queue, r'id="refund-row-(\d+)"')) == 1
    to_submit = client.get(counts["to-submit"][1]).get_data(as_text=True)
    assert len(listed_codes(to_submit, r'id="refund-row-(\d+)"')) == 2
    assert "RQ10000001" in client.get(counts["requests"][1]).get_data(as_text=True)


def test_admins_also_see_imports_and_users(client, auth, world, make):
    auth.login(world.admin)
    counts = tiles(client.get("/home").get_data(as_text=True))
    assert counts["imports"][0] == 2  # the world's two bookings were imported just now
    assert counts["users"][0] == 5  # agents of both accounts, the agency admin, ops, admin
    assert "overdue" in counts


def test_the_tiles_refresh_alone_by_polling_and_cost_one_query_each(client, auth, world, count_queries):
    auth.login(world.ops)
    client.get("/home")
    with count_queries() as counted:
        part = client.get("/home", headers={"HX-Request": "true"})
    assert part.status_code == 200
    body = part.get_data(as_text=True)
    assert (
        body.strip().startswith('<div id="tiles"')
        and "<header" not in body
        and 'hx-trigger="every 60s"' in body
    )
    assert counted.count <= 5 + 2  # five tiles, the user and its session check


def test_the_bell_and_home_are_where_a_login_goes(client, world):
    from tests.conftest import PASSWORD

    response = client.post("/login", data={"email": world.ops.email, "password": PASSWORD})
    assert response.headers["Location"] == "/home"
    assert "Refunds to submit" in client.get("/home").get_data(as_text=True)


def test_empty_lists_say_what_to_do_next(client, auth, world):
    auth.login(world.agent)
    refunds = client.get("/finance/refunds").get_data(as_text=True)
    assert "No refunds match. Try fewer filters; refunds start from a booking" in refunds
    booking = client.get(f"/bookings/{world.booking.order_number}/refund-info").get_data(as_text=True)
    assert "Press Refund for an instant quote" in booking
    requests = client.get("/requests/").get_data(as_text=True)
    assert "ask operations with New Request" in requests


def test_every_page_has_the_loading_bar_for_htmx_actions(client, auth, world):
    auth.login(world.agent)
    page = client.get("/bookings/").get_data(as_text=True)
    assert '<div id="loading" class="loading-bar" role="status" hidden>' in page
