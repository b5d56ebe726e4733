"""The bell, the notification list, and the overdue badge in the operations queue."""

from datetime import timedelta

from portal import jobs
from portal.clock import utcnow


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
