"""The bell, the notification list, and the overdue badge in the operations queue."""

import re
from datetime import timedelta

from portal import jobs
from portal.clock import utcnow
from tests.conftest import portal_today


def test_status_change_notifies_the_agency_and_the_bell_counts_it(client, auth, world, make):
    refund = make.refund(world.booking, world.agent)
    auth.login(world.ops)
    client.post(f"/operations/refunds/{refund.id}/mark_submitted_to_airline", data={"reference": "SQ1"})
    client.post("/logout")

    auth.login(world.agent)
    page = client.get("/bookings/").get_data(as_text=True)
    assert 'aria-label="Notifications: 1 unread"' in page
    bell = client.get("/notifications/bell", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<span class="bell-count">1</span>' in bell and "<header" not in bell
    listing = client.get("/notifications/").get_data(as_text=True)
    assert f"Refund {refund.code} for order AT10000001: Submitted to airline." in listing
    client.post("/notifications/read", headers={"HX-Request": "true"})
    assert 'aria-label="Notifications: 0 unread"' in client.get("/bookings/").get_data(as_text=True)


def test_notifications_are_private(client, auth, world, db):
    from portal.services.notifications import notify

    notify([world.agent], "test", "Secret for DEMO")
    db.session.commit()
    auth.login(world.other_agent)
    assert "Secret for DEMO" not in client.get("/notifications/").get_data(as_text=True)


def test_overdue_refunds_come_first_in_red(app, client, auth, world, make, db):
    old = make.refund(world.booking, world.agent, now=utcnow() - timedelta(hours=6))
    newer = make.refund(make.booking(order_number="NW00000001"), world.agent, coupons=["P1.S1"])
    jobs.run_job("overdue-refunds")
    auth.login(world.ops)
    page = client.get("/operations/refunds").get_data(as_text=True)
    assert page.index(old.code) < page.index(newer.code)
    row = page[page.index(f'id="refund-row-{old.id}"') - 200 : page.index(old.code) + 200]
    assert "overdue" in row and "Overdue by 2 h" in row
    only = client.get("/operations/refunds", query_string={"deadline": "overdue"}).get_data(as_text=True)
    assert old.code in only and newer.code not in only
    assert "Refund " + old.code in client.get("/notifications/").get_data(as_text=True)


def test_notifications_are_listed_newest_first_by_when_they_happened(client, auth, world, db):
    """A job or a backdated action may write an older notification after a newer one: the list goes by
    the time each happened, not by the order they were written."""
    from portal.services.notifications import notify

    now = utcnow()
    notify([world.agent], "test", "Middle news", now=now - timedelta(hours=2))
    notify([world.agent], "test", "Newest news", now=now)
    notify([world.agent], "test", "Oldest news", now=now - timedelta(days=1))
    db.session.commit()
    auth.login(world.agent)
    page = client.get("/notifications/").get_data(as_text=True)
    positions = [page.index(text) for text in ("Newest news", "Middle news", "Oldest news")]
    assert positions == sorted(positions)


def _refund_through_three_steps(client, auth, world, make):
    refund = make.refund(world.booking, world.agent)
    auth.login(world.ops)
    client.post(f"/operations/refunds/{refund.id}/mark_submitted_to_airline", data={"reference": "SQ1"})
    client.post(
        f"/operations/refunds/{refund.id}/record_airline_refund",
        data={"amount": "100.00", "refunded_on": portal_today().isoformat(), "reference": "SQ1"},
    )
    client.post(f"/operations/refunds/{refund.id}/credit_balance")
    client.post("/logout")
    return refund


def test_a_refunds_notices_are_one_entry_with_its_earlier_updates(client, auth, world, make, db):
    from portal.services.notifications import notify

    refund = _refund_through_three_steps(client, auth, world, make)
    notify([world.agent], "test", "Something else happened")
    db.session.commit()
    auth.login(world.agent)
    page = client.get("/bookings/").get_data(as_text=True)
    assert 'aria-label="Notifications: 2 unread"' in page  # the refund (three notices) and the other one
    listing = client.get("/notifications/").get_data(as_text=True)
    assert listing.count(f"Refund {refund.code} for order") == 3  # the latest, and two folded under it
    assert "2 earlier updates" in listing
    latest = listing.index(f"Refund {refund.code} for order AT10000001: Refunded.")
    assert latest < listing.index("2 earlier updates") < listing.index("Submitted to airline.")
    # Mark read on the refund's entry reads all three.
    entry = re.search(r'action="/notifications/(\d+)/read"', listing[latest:]).group(1)
    client.post(f"/notifications/{entry}/read", headers={"HX-Request": "true"})
    assert 'aria-label="Notifications: 1 unread"' in client.get("/bookings/").get_data(as_text=True)


def test_the_bell_opens_the_latest_notices_and_marks_them_read(client, auth, world, db):
    from portal.services.notifications import notify

    now = utcnow()
    for i in range(12):
        notify([world.agent], "test", f"News number {i}", now=now - timedelta(minutes=60 - i))
    db.session.commit()
    auth.login(world.agent)
    page = client.get("/bookings/").get_data(as_text=True)
    assert '<details class="bell-menu">' in page and 'href="/notifications/"' in page  # works without JS
    assert client.get("/notifications/menu").status_code == 302  # a direct visit: the list instead
    menu = client.get("/notifications/menu", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<header" not in menu
    shown = [int(n) for n in re.findall(r"News number (\d+)", menu)]
    assert shown == list(range(11, 3, -1))  # the latest eight, newest first
    one = re.search(r'action="/notifications/(\d+)/read"', menu).group(1)
    after = client.post(
        f"/notifications/{one}/read", data={"view": "menu"}, headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert 'hx-swap-oob="true"' in after and 'aria-label="Notifications: 11 unread"' in after
    after = client.post("/notifications/read", data={"view": "menu"}, headers={"HX-Request": "true"})
    assert 'aria-label="Notifications: 0 unread"' in after.get_data(as_text=True)


def test_the_full_list_is_paged(client, auth, world, db):
    from portal.services.notifications import notify

    now = utcnow()
    for i in range(30):
        notify([world.agent], "test", f"Item {i:02d}.", now=now - timedelta(minutes=60 - i))
    db.session.commit()
    auth.login(world.agent)
    first = client.get("/notifications/").get_data(as_text=True)
    assert "Item 29." in first and "Item 05." in first and "Item 04." not in first
    assert "Page 1 of 2" in first
    second = client.get("/notifications/?page=2").get_data(as_text=True)
    assert "Item 04." in second and "Item 00." in second and "Item 05." not in second


def test_no_notifications_says_what_will_appear(client, auth, world):
    auth.login(world.agent)
    assert "You are told here when something you follow changes" in client.get("/notifications/").get_data(
        as_text=True
    )
