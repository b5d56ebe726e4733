"""A search term picks its plan by how common it is (issue 14): a rare term's bookings are read by id
from its keys, a frequent one is probed per booking in the list's order. Both must show the same rows, in
the same order, with the same count, to the same account only."""

import re
from datetime import timedelta

import pytest

from portal.clock import utcnow
from portal.services import search
from tests.conftest import passenger_doc

ROW = re.compile(r'<a href="/bookings/(\w+)">')


@pytest.fixture
def namesakes(make, world):
    """Seven DEMO bookings with a passenger called PLANTEST (issued one day apart), two with a second
    passenger of that name, and one OTHER booking with that name too."""
    now = utcnow()
    for n in range(7):
        passengers = [passenger_doc("P1", "PLANTEST", f"PAX {chr(65 + n)}", f"618-27{n:08d}")]
        if n < 2:
            passengers.append(passenger_doc("P2", "PLANTEST", "SECOND", f"618-29{n:08d}"))
        make.booking(
            order_number=f"PL{n:08d}",
            passengers=passengers,
            issued_at=(now - timedelta(days=n + 1)).isoformat(),
            departure=now + timedelta(days=30 + n),
        )
    make.booking(
        order_number="PLOTHER001",
        account="OTHER",
        passengers=[passenger_doc("P1", "PLANTEST", "ELSEWHERE", "618-2799999999")],
    )
    return world


def shown(client, **query) -> tuple[list[str], str]:
    page = client.get("/bookings/", query_string=query).get_data(as_text=True)
    count = re.search(r"Showing [^<]*?bookings?|No bookings match", page).group(0)
    return ROW.findall(page), " ".join(count.split())


@pytest.mark.parametrize(
    "query",
    [
        {"q": "PLANTEST"},
        {"q": "plantest pax"},
        {"q": "PLANTEST", "sort": "departure", "dir": "asc"},
        {"q": "PLANTEST", "payment_channel": "deposit"},
        {"q": "PLANTEST", "page": "2"},
    ],
)
def test_a_frequent_term_shows_what_a_rare_one_does(client, auth, namesakes, monkeypatch, query):
    monkeypatch.setitem(client.application.config, "PER_PAGE", 3)
    auth.login(namesakes.agent)
    rare = shown(client, **query)
    monkeypatch.setattr(search, "FEW_KEYS", 1)
    frequent = shown(client, **query)
    assert frequent == rare
    assert rare[0] and "PLOTHER001" not in rare[0]


def test_the_rare_plan_is_exact_and_stays_in_the_account(client, auth, namesakes, monkeypatch):
    monkeypatch.setitem(client.application.config, "PER_PAGE", 3)
    auth.login(namesakes.agent)
    rows, count = shown(client, q="PLANTEST")
    assert rows == ["PL00000000", "PL00000001", "PL00000002"]  # newest issued first
    assert count == "Showing 1–3 of 7 bookings"
    auth.logout()
    auth.login(namesakes.other_agent)
    assert shown(client, q="PLANTEST") == (["PLOTHER001"], "Showing 1–1 of 1 booking")


def test_staff_see_every_account_in_both_plans(client, auth, namesakes, monkeypatch):
    auth.login(namesakes.ops)
    rare = shown(client, q="PLANTEST")
    monkeypatch.setattr(search, "FEW_KEYS", 1)
    assert shown(client, q="PLANTEST") == rare
    assert "PLOTHER001" in rare[0] and rare[1] == "Showing 1–8 of 8 bookings"


@pytest.mark.parametrize(
    ("window", "cap", "expected"),
    [
        (100, 1_000, "Showing 1–3 of 7 bookings"),  # the window holds every key: exact
        (3, 1_000, "Showing 1–3 of 7 bookings"),  # a full window of few bookings: counted whole
        (100, 5, "Showing 1–3 of 5+ bookings"),  # more bookings than the cap: capped
        (3, 5, "Showing 1–3 of 5+ bookings"),  # a full window, then counted up to the cap
    ],
)
def test_a_frequent_terms_count(client, auth, namesakes, monkeypatch, window, cap, expected):
    from portal.services import bookings as bookings_service

    monkeypatch.setitem(client.application.config, "PER_PAGE", 3)
    monkeypatch.setattr(search, "FEW_KEYS", 1)
    monkeypatch.setattr(search, "COUNT_WINDOW", window)
    monkeypatch.setattr(bookings_service, "LIST_COUNT_CAP", cap)
    auth.login(namesakes.agent)
    assert shown(client, q="PLANTEST")[1] == expected
