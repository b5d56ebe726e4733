"""Login required everywhere, roles checked on the server, and another account's object is a 404."""

import io

import pytest

from portal.domain.refunds import RefundPath
from portal.services.documents import save_document
from portal.services.refunds import create_refund, parse_coupon_keys
from portal.services.requests import post_message
from tests.conftest import make_refund_batch, quote_service_request, raise_service_request
from tests.web.urls import ADMIN_URLS, AGENT_URLS, CROSS_ACCOUNT_URLS, STAFF_URLS, fill


class Upload:
    def __init__(self, content: bytes, filename: str):
        self.stream, self.filename = io.BytesIO(content), filename

    def close(self):
        self.stream.close()


@pytest.fixture
def world(world, db):
    """The shared world plus one document and one refund per account, for the object URLs."""
    for suffix, agent in (("", world.agent), ("other_", world.other_agent)):
        setattr(
            world,
            f"{suffix}document",
            save_document(
                Upload(b"%PDF-1.4 proof", "proof.pdf"), account_id=agent.account_id, uploaded_by_id=agent.id
            ),
        )
    world.refund = create_refund(
        world.booking,
        parse_coupon_keys(world.booking, ["P1.S2"]),
        path=RefundPath.INSTANT_QUOTE,
        user=world.agent,
    )
    db.session.commit()
    # Service requests (issue 4): a quoted Cancel & Refund request with an attachment per account.
    for suffix, booking, agent in (
        ("", world.booking, world.agent),
        ("other_", world.other_booking, world.other_agent),
    ):
        req = raise_service_request(db, booking, agent)
        setattr(world, f"{suffix}service_request", req)
        setattr(world, f"{suffix}quote", quote_service_request(db, req, world.ops))
        post_message(
            req, user=agent, body="Ticket copy attached.", files=[Upload(b"%PDF-1.4 t", "ticket.pdf")]
        )
        setattr(world, f"{suffix}request_document", req.attachments[-1].document)
    db.session.commit()
    # Finance (issue 5): a refund batch per account (its one row names no order, so it creates nothing).
    world.batch = make_refund_batch(db, world.agent, "ZZ00000000")
    world.other_batch = make_refund_batch(db, world.other_agent, "ZZ00000000")
    return world


def request(client, method, url, **kwargs):
    return client.open(url, method=method, **kwargs)


@pytest.mark.parametrize(("method", "template"), AGENT_URLS + STAFF_URLS + ADMIN_URLS)
def test_anonymous_users_are_sent_to_login(client, world, method, template):
    response = request(client, method, fill(template, world))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(("method", "template"), CROSS_ACCOUNT_URLS)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "partial"])
def test_another_accounts_object_is_not_found(client, auth, world, method, template, htmx):
    auth.login(world.agent)
    headers = {"HX-Request": "true"} if htmx else {}
    own = request(client, method, fill(template, world, own=True), headers=headers)
    assert own.status_code != 404 and own.status_code < 500
    own.close()
    other = request(client, method, fill(template, world, own=False), headers=headers)
    assert other.status_code == 404
    body = other.get_data(as_text=True)
    assert world.other_booking.order_number not in body
    assert "LIM" not in body  # the other account's passenger


@pytest.mark.parametrize(("method", "template"), CROSS_ACCOUNT_URLS)
def test_staff_see_every_account(client, auth, world, method, template):
    auth.login(world.ops)
    response = request(client, method, fill(template, world, own=False))
    assert response.status_code != 404 and response.status_code < 500
    response.close()


@pytest.mark.parametrize(("method", "template"), STAFF_URLS)
def test_staff_pages_are_not_for_agents(client, auth, world, method, template):
    auth.login(world.agent)
    assert request(client, method, fill(template, world)).status_code == 403


@pytest.mark.parametrize(("method", "template"), ADMIN_URLS)
@pytest.mark.parametrize("role", ["agent", "ops"])
def test_admin_pages_are_for_admins_only(client, auth, world, method, template, role):
    auth.login(world.agent if role == "agent" else world.ops)
    response = request(client, method, fill(template, world))
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True)


def test_unknown_url_gets_styled_404(client, auth, world):
    auth.login(world.agent)
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Not found" in page and "<header" in page


def test_server_error_shows_no_stack_trace(app, client, auth, world, monkeypatch):
    from portal.blueprints.bookings import views

    def boom(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    auth.login(world.agent)
    monkeypatch.setattr(views, "search_bookings", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = client.get("/bookings/")
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    assert "secret internal detail" not in body and "Traceback" not in body


def test_security_headers(client, world):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_page_has_no_inline_script_or_style(client, auth, world):
    auth.login(world.agent)
    page = client.get(f"/bookings/{world.booking.order_number}").get_data(as_text=True)
    assert "<style" not in page
    assert "style=" not in page
    for tag in page.split("<script")[1:]:
        assert "src=" in tag.split(">")[0], "inline script would be blocked by the CSP"
