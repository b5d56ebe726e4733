"""Statements by e-mail (issue 15, item 7): the agency's own admin sets where and how often its statement
goes; an admin does the same on the account's page. Refusals name their field."""

from sqlalchemy import select

from portal import jobs
from portal.models import AuditEvent
from tests.integration.test_statement_mail import JULY_1, june, mail  # noqa: F401 (fixtures)


def test_the_agencys_admin_chooses_addresses_and_a_schedule(client, auth, world, db):
    auth.login(world.agency_admin)
    page = client.get("/agency/statements").get_data(as_text=True)
    assert "Statements by e-mail" in page and "No statement was e-mailed yet" in page
    response = client.post(
        "/agency/statements",
        data={"statement_emails": "Finance@Demo.example, owner@demo.example", "statement_schedule": "weekly"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert world.demo.statement_addresses == ["finance@demo.example", "owner@demo.example"]
    assert world.demo.statement_schedule == "weekly"
    assert world.other.statement_schedule == "off"
    page = client.get("/agency/statements").get_data(as_text=True)
    assert "finance@demo.example" in page
    assert '<option selected value="weekly">' in page
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.account_id == world.demo.id)).all()
    assert any("statements weekly" in (a.detail or "") for a in audit)


def test_a_schedule_needs_an_address_and_addresses_must_be_addresses(client, auth, world, db):
    auth.login(world.agency_admin)
    response = client.post("/agency/statements", data={"statement_emails": "", "statement_schedule": "daily"})
    assert response.status_code == 422
    assert 'id="statement_emails-error"' in response.get_data(as_text=True)
    assert "at least one address" in response.get_data(as_text=True)
    response = client.post(
        "/agency/statements", data={"statement_emails": "not-an-address", "statement_schedule": "daily"}
    )
    assert response.status_code == 422
    assert "is not an e-mail address" in response.get_data(as_text=True)
    response = client.post(
        "/agency/statements", data={"statement_emails": "a@demo.example", "statement_schedule": "hourly"}
    )
    assert response.status_code == 422
    assert 'id="statement_schedule-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert world.demo.statement_schedule == "off" and world.demo.statement_emails == ""


def test_an_agent_may_not_and_the_statement_page_links_only_the_agency_admin(client, auth, world):
    auth.login(world.agent)
    assert client.get("/agency/statements").status_code == 403
    assert "/agency/statements" not in client.get("/finance/statement").get_data(as_text=True)
    auth.logout()
    auth.login(world.agency_admin)
    assert "/agency/statements" in client.get("/finance/statement").get_data(as_text=True)


def test_an_admin_sets_the_schedule_on_the_accounts_page(client, auth, world, db):
    auth.login(world.admin)
    data = {
        "name": world.demo.name,
        "service_fee": "15.00",
        "statement_emails": "finance@demo.example",
        "statement_schedule": "monthly",
        "notice_emails": "",
    }
    assert client.post(f"/admin/accounts/{world.demo.id}", data=data).status_code == 303
    db.session.expire_all()
    assert world.demo.statement_schedule == "monthly"
    response = client.post(
        f"/admin/accounts/{world.demo.id}", data=dict(data, statement_emails="", name="Renamed")
    )
    assert response.status_code == 422 and "at least one address" in response.get_data(as_text=True)
    db.session.expire_all()
    assert world.demo.name != "Renamed"  # nothing changed when one input is refused


def test_the_page_lists_the_statements_sent(client, auth, world, db, june, mail):  # noqa: F811
    jobs.run_job("email-statements", JULY_1)
    auth.login(world.agency_admin)
    page = client.get("/agency/statements").get_data(as_text=True)
    assert "01 Jun 2026 to 30 Jun 2026" in page and "owner@demo.example" in page
