"""Admin lists and forms (issue 13, item 11): one name once per group, whatever its case and spacing;
deleting asks first, as a plain form step; every error under its own field."""

import re

from sqlalchemy import func, select

from portal.models import RefundReason, RequestCategory, User
from tests.conftest import request_category

HX = {"HX-Request": "true"}


def error_under(page: str, field_id: str) -> str | None:
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]+)</p>', page)
    return match.group(1) if match else None


def categories(db) -> int:
    return db.session.scalar(select(func.count()).select_from(RequestCategory))


def test_a_category_name_is_refused_twice_in_one_group_whatever_its_case_and_spacing(client, auth, world, db):
    other = request_category(db, "other")
    before = categories(db)
    auth.login(world.admin)
    response = client.post(
        "/admin/request-categories",
        data={"label": "  name   CORRECTION ", "group": str(other.parent_id), "behaviour": "general"},
    )
    assert response.status_code == 422
    message = error_under(response.get_data(as_text=True), "label")
    assert message and "already has Name Correction" in message
    assert categories(db) == before
    # A group of its own is another list: the same name is fine there.
    assert client.post("/admin/request-categories", data={"label": "Extras", "group": ""}).status_code == 303
    extras = db.session.scalar(select(RequestCategory).where(RequestCategory.label == "Extras"))
    response = client.post(
        "/admin/request-categories",
        data={"label": "Name Correction", "group": str(extras.id), "behaviour": "general"},
    )
    assert response.status_code == 303
    # Groups among themselves, too.
    again = client.post("/admin/request-categories", data={"label": "extras", "group": ""})
    assert again.status_code == 422 and "already has Extras" in error_under(
        again.get_data(as_text=True), "label"
    )


def test_renaming_or_moving_onto_a_name_the_group_has_is_refused(client, auth, world, db):
    other = request_category(db, "other")
    auth.login(world.admin)
    response = client.post(f"/admin/request-categories/{other.id}/rename", data={"label": "Name correction"})
    assert response.status_code == 422 and "already has Name Correction" in response.get_data(as_text=True)
    db.session.refresh(other)
    assert other.label == "Other"
    # Renaming to its own name in another case is no duplicate.
    assert (
        client.post(f"/admin/request-categories/{other.id}/rename", data={"label": "OTHER"}).status_code
        == 303
    )


def test_a_refund_reason_name_is_refused_twice(client, auth, world, db):
    reasons = db.session.scalar(select(func.count()).select_from(RefundReason))
    auth.login(world.admin)
    response = client.post("/admin/refund-reasons", data={"label": "visa  REFUSED"})
    assert response.status_code == 422
    assert "already has Visa refused" in error_under(response.get_data(as_text=True), "label")
    assert db.session.scalar(select(func.count()).select_from(RefundReason)) == reasons
    first = db.session.scalar(select(RefundReason).where(RefundReason.code == "duplicate_booking"))
    renamed = client.post(f"/admin/refund-reasons/{first.id}/rename", data={"label": "Visa Refused"})
    assert renamed.status_code == 422 and "already has Visa refused" in renamed.get_data(as_text=True)


def test_delete_asks_for_confirmation_first(client, auth, world, db):
    auth.login(world.admin)
    client.post("/admin/request-categories", data={"label": "Unused group", "group": ""})
    group_id = db.session.scalar(select(RequestCategory.id).where(RequestCategory.label == "Unused group"))
    listing = client.get("/admin/request-categories").get_data(as_text=True)
    delete_url = f"/admin/request-categories/{group_id}/delete"
    # The row offers Delete as a link to the confirmation, not as a form that deletes.
    assert f'<a href="{delete_url}"' in listing
    assert f'action="{delete_url}"' not in listing

    for headers, marker in ((HX, "<tr"), ({}, "<h1>Delete Unused group</h1>")):
        confirm = client.get(delete_url, headers=headers)
        page = confirm.get_data(as_text=True)
        assert confirm.status_code == 200 and marker in page
        assert "Delete the group <strong>Unused group</strong>?" in page
        assert f'action="{delete_url}"' in page and ">Delete</button>" in page and ">Cancel</a>" in page
        assert "confirm(" not in page and "hx-confirm" not in page
    assert db.session.get(RequestCategory, group_id) is not None  # nothing deleted by asking

    assert client.post(delete_url).status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(RequestCategory.id).where(RequestCategory.id == group_id)) is None


def test_an_agent_without_a_client_account_is_told_under_client_account(client, auth, world, db):
    users = db.session.scalar(select(func.count()).select_from(User))
    auth.login(world.admin)
    response = client.post(
        "/admin/users",
        data={"email": "new-agent@demo.example", "name": "New Agent", "role": "agent", "password": "x" * 12},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert error_under(page, "account") == "An agent must belong to a client account."
    assert error_under(page, "email") is None
    taken = client.post(
        "/admin/users",
        data={
            "email": world.agent.email,
            "name": "Again",
            "role": "agent",
            "account": "DEMO",
            "password": "x" * 12,
        },
    )
    assert "already exists" in error_under(taken.get_data(as_text=True), "email")
    staff = client.post(
        "/admin/users",
        data={
            "email": "ops2@host.example",
            "name": "Ops",
            "role": "operations",
            "account": "DEMO",
            "password": "x" * 12,
        },
    )
    assert "belong to the host" in error_under(staff.get_data(as_text=True), "account")
    assert db.session.scalar(select(func.count()).select_from(User)) == users


def test_account_errors_go_under_their_fields(client, auth, world):
    auth.login(world.admin)
    response = client.post("/admin/accounts", data={"code": "KW1", "name": "Kuwait", "currency": "KWD"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert error_under(page, "currency") and error_under(page, "code") is None
