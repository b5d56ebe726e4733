"""Accessibility checked, not assumed (issue 15, item 8): axe-core (axe-playwright-python) scans every page
each role may open, and the slide-outs open as dialogs, and finds no serious or critical violation.

"Every page" is read from the route table the access tests walk (tests/web/urls.py): each GET route a role
may use that answers 200 with a whole HTML document is scanned with the objects of the access tests' world,
so a new page is scanned the day its route is classified."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.web.test_access import RULES, ObjectWorld, url_for_rule
from tests.web.urls import ADMIN, AGENCY, AGENCY_ADMIN, AGENT, PUBLIC, ROUTES, STAFF

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright").expect
Axe = pytest.importorskip("axe_playwright_python.sync_playwright", reason="needs axe-playwright-python").Axe

BLOCKING = ("serious", "critical")
# Who logs in, and the access levels of tests/web/urls.py their pages have.
ROLES = {
    "anonymous": (None, {PUBLIC}),
    "agent": ("agent@demo.example", {AGENT, AGENCY}),
    "agency_admin": ("boss@demo.example", {AGENT, AGENCY, AGENCY_ADMIN}),
    "operations": ("ops@host.example", {AGENT, STAFF}),
    "admin": ("admin@host.example", {AGENT, STAFF, ADMIN}),
}
SLIDEOUTS = ("Refund", "Raise a Request", "Add Baggage")
# The vendored Swagger UI of /api/docs is a third party's widget (its own contrast and nested controls);
# the page around it is scanned.
NOT_OURS = {"exclude": [["#swagger-ui"]]}


@pytest.fixture(scope="module")
def axe():
    return Axe()


@pytest.fixture
def objects(world, db, make):
    """The access tests' world: one object of every kind a URL names, for each account."""
    return ObjectWorld(world, db, make).every_object()


def page_urls(access: set[str], objects) -> list[str]:
    """Every GET route of these access levels that answers its user 200, with its URL filled in."""
    urls = []
    for rule, method in RULES:
        route = ROUTES.get(rule.endpoint)
        if method == "GET" and route and route.access in access and route.ok.get("GET") == 200:
            urls.append(url_for_rule(rule, route, objects))
    return urls


def blocking_violations(axe, page, where: str) -> list[str]:
    results = axe.run(page, context=NOT_OURS)
    return [
        f"{where}: {v['id']} ({v['impact']}) {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_a_role_has_no_serious_accessibility_violation(page, objects, axe, role):
    email, access = ROLES[role]
    if email:
        log_in(page, email)
    found, scanned = [], []
    for url in page_urls(access, objects):
        # Asked first with the page's cookies: a download or a fragment is no page to open and scan.
        answer = page.request.get(url)
        assert answer.status == 200, f"{url} answered {answer.status}"
        if not answer.text().lstrip().lower().startswith("<!doctype html"):
            continue
        page.goto(url, wait_until="load")
        scanned.append(url)
        found += blocking_violations(axe, page, url)
    assert len(scanned) >= 3, scanned  # the role's pages were reached, not a login page over and over
    assert not found, "\n".join(found)


def test_the_slideouts_open_as_dialogs_have_no_serious_accessibility_violation(page, world, axe):
    log_in(page, "agent@demo.example")
    page.goto("/bookings/AT10000001", wait_until="load")
    found = []
    for name in SLIDEOUTS:
        page.get_by_role("link", name=name, exact=True).click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text(name)
        found += blocking_violations(axe, page, f"the {name} slide-out")
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
    assert not found, "\n".join(found)
