"""What each role calls the bookings and requests lists (issue 15.3): agents read their own account's "My
Bookings" and "My Requests" (the seed's labels); operations and admins, who see every account, read
"Bookings" and "Requests" in the header, the page's title and heading, the crumbs and the guide. One home
decides it (links.list_name); templates ask."""

import re

import pytest

from portal.links import list_name
from tests.conftest import raise_service_request

ROLES = {
    "agent": ("My Bookings", "My Requests"),
    "agency_admin": ("My Bookings", "My Requests"),
    "ops": ("Bookings", "Requests"),
    "admin": ("Bookings", "Requests"),
}


def title(html: str) -> str:
    return re.search(r"<title>(.*?) · ", html).group(1)


def crumbs(html: str) -> str:
    return re.sub(r"<[^>]+>", "", re.search(r'<p class="crumbs">(.*?)</p>', html, re.S).group(1))


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reads_its_own_name_of_the_bookings_list(client, auth, world, role):
    bookings, _ = ROLES[role]
    auth.login(getattr(world, role))
    page = client.get("/bookings/").text
    assert title(page) == bookings
    assert f"<h1>{bookings}</h1>" in page
    assert f'href="/bookings/" aria-current="page">{bookings}<' in page  # the header says the same
    order = world.booking.order_number
    assert crumbs(client.get(f"/bookings/{order}").text) == f"{bookings} › Booking Details"
    assert crumbs(client.get(f"/bookings/{order}/cancel-refund").text).startswith(
        f"{bookings} › Booking {order}"
    )
    guide = client.get("/help/refund").text
    assert f'Open <strong class="ui">{bookings}</strong>' in guide
    if bookings == "Bookings":
        assert "My Bookings" not in page and "My Bookings" not in guide


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reads_its_own_name_of_the_requests_list(client, auth, world, db, role):
    _, requests_list = ROLES[role]
    request = raise_service_request(db, world.booking, world.agent, "other")
    auth.login(getattr(world, role))
    page = client.get("/requests/").text
    assert title(page) == requests_list and f"<h1>{requests_list}</h1>" in page
    assert (
        f'Follow it on <strong class="ui">{requests_list}</strong>'
        in client.get("/help/service-requests").text
    )
    back = crumbs(client.get(f"/requests/{request.number}").text)
    # Staff go back to the queue they work requests from; agents to their list.
    assert (
        back == f"{'Request queue' if role in ('ops', 'admin') else requests_list} › Request {request.number}"
    )


def test_the_name_comes_from_one_place():
    class Agent:
        is_staff = False

    class Staff:
        is_staff = True

    assert list_name(Agent(), "bookings") == "My Bookings" and list_name(Staff(), "bookings") == "Bookings"
    assert list_name(Agent(), "requests") == "My Requests" and list_name(Staff(), "requests") == "Requests"
    assert list_name(object(), "bookings") == "My Bookings"  # nobody logged in: the agents' wording
