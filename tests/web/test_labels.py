"""Every form field on every page has a <label> (SPEC 7), for agents, operations and admins."""

from html.parser import HTMLParser

import pytest

from portal.domain.refunds import RefundPath
from portal.services.refunds import create_refund, parse_coupon_keys
from tests.conftest import raise_service_request


class Fields(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields: list[dict] = []
        self.labelled: set[str] = set()
        self._label_depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label":
            self._label_depth += 1
            if attrs.get("for"):
                self.labelled.add(attrs["for"])
        if tag in ("input", "select", "textarea"):
            if attrs.get("type") in ("hidden", "submit", "button"):
                return
            self.fields.append({**attrs, "_tag": tag, "_wrapped": self._label_depth > 0})

    def handle_endtag(self, tag):
        if tag == "label" and self._label_depth:
            self._label_depth -= 1

    def unlabelled(self):
        return [
            f
            for f in self.fields
            if not f["_wrapped"] and not f.get("aria-label") and f.get("id") not in self.labelled
        ]


AGENT_PAGES = [
    "/bookings/",
    "/bookings/AT10000001/refund",
    "/bookings/AT10000001/cancel-refund",
    "/bookings/AT10000001/refund-claim?coupon=P1.S1",
    "/bookings/AT10000001/raise-request",
    "/requests/",
    "/requests/new",
    "/finance/refunds",
    "/finance/refunds/agent",
    "/finance/statement",
    "/bookings/AT10000001/baggage",
]
STAFF_PAGES = [
    "/operations/refunds",
    "/operations/requests",
    "/operations/baggage",
    "/operations/schedule-changes",
]
ADMIN_PAGES = [
    "/admin/users",
    "/admin/accounts",
    "/admin/import",
    "/admin/request-categories",
    "/admin/refund-reasons",
]


@pytest.fixture
def busy_world(world, db):
    create_refund(
        world.booking,
        parse_coupon_keys(world.booking, ["P1.S2"]),
        path=RefundPath.INSTANT_QUOTE,
        user=world.agent,
    )
    db.session.commit()
    world.request = raise_service_request(db, world.booking, world.agent, category="other")
    return world


@pytest.mark.parametrize(
    ("who", "url"),
    [("agent", u) for u in AGENT_PAGES]
    + [("ops", u) for u in STAFF_PAGES]
    + [("admin", u) for u in ADMIN_PAGES],
)
def test_every_field_has_a_label(client, auth, busy_world, who, url):
    auth.login(getattr(busy_world, who))
    response = client.get(url)
    if response.status_code in (301, 302, 308):
        response = client.get(response.headers["Location"])
    assert response.status_code in (200, 422), (url, response.status_code)
    parser = Fields()
    parser.feed(response.get_data(as_text=True))
    assert parser.fields, f"{url} has no form fields: the page did not render what it should"
    assert parser.unlabelled() == [], url


def test_request_page_fields_are_labelled(client, auth, busy_world):
    for who in ("agent", "ops"):
        auth.login(getattr(busy_world, who))
        parser = Fields()
        parser.feed(client.get(f"/requests/{busy_world.request.number}").get_data(as_text=True))
        assert parser.unlabelled() == [], who
        client.post("/logout")
