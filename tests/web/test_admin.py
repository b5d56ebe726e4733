"""Admin pages: users, client accounts, and the booking import page."""

import io
import json

from sqlalchemy import func, select

from portal.models import Account, Booking, User
from tests.conftest import AIRLINES, booking_doc, cancelled_by_airline, rescheduled


def test_admin_creates_an_agent(client, auth, world, db):
    auth.login(world.admin)
    response = client.post(
        "/admin/users",
        data={
            "email": "New.Agent@Demo.example",
            "name": "New Agent",
            "role": "agent",
            "account": "DEMO",
            "password": "a long enough password",
        },
    )
    assert response.status_code == 303
    user = db.session.scalar(select(User).where(User.email == "new.agent@demo.example"))
    assert user.account.code == "DEMO" and user.role == "agent"
    assert "new.agent@demo.example" in client.get("/admin/users").get_data(as_text=True)


def test_bad_user_input_gets_messages_and_creates_nothing(client, auth, world, db):
    auth.login(world.admin)
    before = db.session.scalar(select(func.count()).select_from(User))
    cases = [
        (
            {
                "email": "not-an-email",
                "name": "X",
                "role": "agent",
                "account": "DEMO",
                "password": "long enough pw",
            },
            "Invalid email address.",
        ),
        (
            {
                "email": "a@b.example",
                "name": "X",
                "role": "agent",
                "account": "",
                "password": "long enough pw",
            },
            "An agent must belong to a client account.",
        ),
        (
            {
                "email": "a@b.example",
                "name": "X",
                "role": "operations",
                "account": "DEMO",
                "password": "long enough pw",
            },
            "Operations and admin users belong to the host",
        ),
        (
            {"email": "a@b.example", "name": "X", "role": "agent", "account": "DEMO", "password": "short"},
            "The password must have at least 10 characters.",
        ),
        (
            {
                "email": world.agent.email,
                "name": "X",
                "role": "agent",
                "account": "DEMO",
                "password": "long enough pw",
            },
            "already exists",
        ),
    ]
    for data, message in cases:
        response = client.post("/admin/users", data=data)
        assert response.status_code == 422, data
        page = response.get_data(as_text=True)
        assert message in page, message
        assert 'value="X"' in page  # what was typed is kept
    assert db.session.scalar(select(func.count()).select_from(User)) == before


def test_admin_creates_and_disables_an_account(client, auth, world, db):
    auth.login(world.admin)
    response = client.post(
        "/admin/accounts",
        data={"code": "acme", "name": "Acme Tours", "currency": "myr", "service_fee": "12.50"},
    )
    assert response.status_code == 303
    account = db.session.scalar(select(Account).where(Account.code == "ACME"))
    assert account.currency == "MYR" and str(account.service_fee) == "12.50"
    duplicate = client.post("/admin/accounts", data={"code": "ACME", "name": "Again", "currency": "SGD"})
    assert duplicate.status_code == 422 and "already exists" in duplicate.get_data(as_text=True)
    negative = client.post(
        "/admin/accounts", data={"code": "NEG", "name": "Neg", "currency": "SGD", "service_fee": "-1"}
    )
    assert "Cannot be negative." in negative.get_data(as_text=True)


def _upload(client, content: bytes, name="bookings.json"):
    return client.post(
        "/admin/import", data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data"
    )


def test_import_page_imports_a_file(client, auth, world, db):
    auth.login(world.admin)
    doc = {"format": "portal-bookings/1", "airlines": AIRLINES, "bookings": [booking_doc("IMP0000001")]}
    response = _upload(client, json.dumps(doc).encode())
    assert response.status_code == 200
    assert "1 booking(s) created" in response.get_data(as_text=True)
    assert db.session.scalar(select(Booking.id).where(Booking.order_number == "IMP0000001"))


def test_import_page_names_the_schedule_changes_a_reimport_found(client, auth, world, db):
    auth.login(world.admin)
    moved, cancelled = booking_doc("IMP0000002"), booking_doc("IMP0000003")
    doc = {"format": "portal-bookings/1", "airlines": AIRLINES, "bookings": [moved, cancelled]}
    _upload(client, json.dumps(doc).encode())
    doc["bookings"] = [rescheduled(moved, segment=0), cancelled_by_airline(cancelled, segment=1)]
    page = _upload(client, json.dumps(doc).encode()).get_data(as_text=True)
    assert "2 schedule change(s) recorded" in page
    flights = [moved["segments"][0]["flight_number"], cancelled["segments"][1]["flight_number"]]
    assert f"IMP0000002 {flights[0]}: new times" in page
    assert f"IMP0000003 {flights[1]}: cancelled by the airline" in page


def test_import_page_lists_every_error_and_imports_nothing(client, auth, world, db):
    auth.login(world.admin)
    first = booking_doc("IMP0000001")
    second = booking_doc("IMP0000002", account="NOPE")
    second["passengers"][0]["ticket_number"] = "618-9999999999"
    second["passengers"][0]["fare"]["base"] = 420.0
    response = _upload(
        client,
        json.dumps(
            {"format": "portal-bookings/1", "airlines": AIRLINES, "bookings": [first, second]}
        ).encode(),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was imported — 2 errors" in page
    assert "bookings[1] (IMP0000002): account: no client account with code NOPE" in page
    assert "bookings[1] (IMP0000002): passengers[0].fare.base: must be an amount string such as" in page
    assert db.session.scalar(select(Booking.id).where(Booking.order_number == "IMP0000001")) is None


def test_import_page_refuses_unreadable_files(client, auth, world):
    auth.login(world.admin)
    assert "file: not valid JSON" in _upload(client, b"{not json").get_data(as_text=True)
    assert "file: not UTF-8 text" in _upload(client, b"\xff\xfe\x00garbage").get_data(as_text=True)
    assert "file: is empty" in _upload(client, b"").get_data(as_text=True)
    missing = client.post("/admin/import", data={}, content_type="multipart/form-data")
    assert "Choose a JSON file to import." in missing.get_data(as_text=True)
