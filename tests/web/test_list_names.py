"""What each role calls the bookings and requests lists (issue 15.3): agents read their own account's "My
Bookings" and "My Requests" (the seed's labels); operations and admins, who see every account, read
"Bookings" and "Requests" in the header, the page's title and heading, the crumbs and the guide. One home
decides it (links.list_name); templates ask."""

import ast
import re
from pathlib import Path

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


PORTAL = Path(__file__).resolve().parents[2] / "portal"
OWN_NAMES = re.compile(r"My (Bookings|Requests)")


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes of `tree`'s module, classes and functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _written_in_code() -> set[tuple[str, str]]:
    """(module, function) of every string in the code (docstrings and comments aside) that names a list
    "My Bookings" or "My Requests" itself."""
    found = set()
    for path in PORTAL.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for scope in ast.walk(tree):
            name = scope.name if isinstance(scope, ast.FunctionDef) else "<module>"
            children = scope.body if isinstance(scope, ast.FunctionDef | ast.Module) else []
            for child in children:
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    continue  # walked as a scope of its own
                for node in ast.walk(child):
                    if (
                        isinstance(node, ast.Constant)
                        and isinstance(node.value, str)
                        and id(node) not in docs
                        and OWN_NAMES.search(node.value)
                    ):
                        found.add((str(path.relative_to(PORTAL.parent)), name))
    return found


def test_no_page_names_the_lists_itself():
    """Every "My Bookings" / "My Requests" a page shows comes from links.list_name (staff read "Bookings" and
    "Requests"); the only other place that writes one is Home's hint for an agency's people, which staff
    never see (their Home is operations' queues)."""
    in_templates = []
    for path in sorted((PORTAL / "templates").rglob("*.html")):
        text = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.S)
        in_templates += [f"{path.relative_to(PORTAL)}: {m.group(0)}" for m in OWN_NAMES.finditer(text)]
    assert in_templates == []
    assert _written_in_code() == {
        ("portal/links.py", "<module>"),  # LIST_NAMES, the one home
        ("portal/services/dashboard.py", "_agency_section"),  # agents only
    }


def test_staff_home_never_says_my(client, auth, world):
    for role in ("ops", "admin"):
        auth.login(getattr(world, role))
        home = client.get("/home")
        assert home.status_code == 200 and "Baggage to confirm" in home.text  # operations' queues
        assert not OWN_NAMES.search(home.text), role
        auth.logout()
