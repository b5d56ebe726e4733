"""Issue 12's holes at the edge: control characters in any input, redirects that leave the site, and the
transport headers behind HTTPS. Each input is the exact one that broke the portal before."""

import io

import pytest
from sqlalchemy import func, select

from portal.models import Document, RequestMessage
from tests.conftest import raise_service_request

HX = {"HX-Request": "true"}
REFUSED = "invisible control character"


def _refused(response):
    body = response.get_data(as_text=True)
    assert response.status_code == 400, body[:300]
    assert REFUSED in body
    return body


def test_a_nul_in_the_login_email_is_refused_not_a_server_error(client, world):
    _refused(client.post("/login", data={"email": "a@b.example\x00", "password": "x"}))


@pytest.mark.parametrize(
    "url",
    [
        "/requests/new?order_number=AT%00",
        "/bookings/AT10000001%00",
        "/bookings/?q=TAN%00",
        "/finance/refunds?q=%01",
        "/requests/?q%00=1",
    ],
)
def test_a_control_character_in_a_url_is_refused(client, auth, world, url):
    auth.login(world.agent)
    _refused(client.get(url))
    _refused(client.get(url, headers=HX))


def test_a_nul_in_a_message_saves_nothing(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent)
    auth.login(world.agent)
    _refused(client.post(f"/requests/{req.number}/messages", data={"body": "Hello\x00there"}))
    assert db.session.scalar(select(func.count()).select_from(RequestMessage)) == 0


def test_line_breaks_and_tabs_in_a_message_are_kept(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent)
    auth.login(world.agent)
    response = client.post(f"/requests/{req.number}/messages", data={"body": "Line one\r\n\tLine two"})
    assert response.status_code == 303
    assert db.session.scalar(select(RequestMessage.body)) == "Line one\r\n\tLine two"


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/admin/accounts", {"code": "NUL", "name": "Nul\x00 Travel", "currency": "SGD", "service_fee": "0"}),
        ("/admin/users", {"email": "x@y.example", "name": "X\x00", "role": "agent", "password": "p" * 12}),
        ("/admin/request-categories", {"label": "Odd\x00", "group": "", "behaviour": "general"}),
        ("/admin/refund-reasons", {"label": "Odd\x07"}),
    ],
)
def test_admin_fields_refuse_control_characters(client, auth, world, url, data):
    auth.login(world.admin)
    _refused(client.post(url, data=data))


def test_an_attachment_named_with_a_nul_is_refused_and_nothing_is_stored(client, auth, world, db):
    req = raise_service_request(db, world.booking, world.agent)
    auth.login(world.agent)
    response = client.post(
        f"/requests/{req.number}/messages",
        data={"body": "Proof", "attachments": (io.BytesIO(b"%PDF-1.4 x"), "x.pdf\x00.html")},
        content_type="multipart/form-data",
    )
    _refused(response)
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


@pytest.mark.parametrize(
    "target",
    ["/\t/evil.example", "/\n/evil.example", "//evil.example", "/\\evil.example", "https://evil.example/"],
)
def test_mark_read_never_redirects_off_the_site(client, auth, world, target):
    auth.login(world.agent)
    response = client.post("/notifications/read", data={"next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/notifications/"


def test_mark_read_goes_back_to_a_page_of_the_site(client, auth, world):
    auth.login(world.agent)
    response = client.post("/notifications/read", data={"next": "/bookings/?q=TAN"})
    assert response.headers["Location"] == "/bookings/?q=TAN"


def test_login_next_never_leaves_the_site(client, world):
    response = client.post(
        "/login?next=/%09/evil.example",
        data={"email": world.agent.email, "password": "correct horse battery"},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/bookings/"


def test_behind_https_the_cookie_is_host_prefixed_and_hsts_is_sent(monkeypatch, another_app, world):
    monkeypatch.setenv("PORTAL_SECURE_COOKIES", "1")
    app = another_app()
    client = app.test_client()
    response = client.post("/login", data={"email": world.agent.email, "password": "correct horse battery"})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=") and "Secure" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=63072000")


def test_plain_http_setups_keep_their_cookie_and_send_no_hsts(client, world):
    response = client.post("/login", data={"email": world.agent.email, "password": "correct horse battery"})
    assert response.headers["Set-Cookie"].startswith("session=")
    assert "Strict-Transport-Security" not in response.headers
