"""Issue 12: every amount a person types goes through one parser: exponents, more digits than the column
holds and more decimals than the currency has are refused with a message, never a 500, never rounded."""

import pytest
from sqlalchemy import func, select

from portal.models import Account, LedgerEntry, Refund, RequestQuote
from tests.conftest import portal_today, raise_service_request

HOSTILE = ["1e100", "99999999999999999999.99", "1.005", "NaN", "-Infinity", "12,34.5.6"]


@pytest.mark.parametrize("raw", HOSTILE)
def test_record_airline_refund(client, auth, world, db, make, raw):
    refund = make.refund(world.booking, world.agent, status="submitted", by=world.ops)
    auth.login(world.ops)
    response = client.post(
        f"/operations/refunds/{refund.id}/record_airline_refund",
        data={"amount": raw, "refunded_on": portal_today().isoformat(), "reference": "AIR-9"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).airline_amount is None


@pytest.mark.parametrize("raw", HOSTILE)
def test_ledger_adjustment(client, auth, world, db, raw):
    auth.login(world.admin)
    response = client.post(
        f"/finance/statement/adjustments?account={world.demo.id}", data={"amount": raw, "reason": "Test"}
    )
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


@pytest.mark.parametrize("raw", HOSTILE)
def test_operations_quote(client, auth, world, db, raw):
    req = raise_service_request(db, world.booking, world.agent)
    auth.login(world.ops)
    response = client.post(
        f"/operations/requests/{req.number}/quote",
        data={"amount-P1": raw, "valid_until": portal_today().isoformat()},
    )
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert db.session.scalar(select(func.count()).select_from(RequestQuote)) == 0


@pytest.mark.parametrize("raw", [*HOSTILE, "1.001"])
def test_account_service_fee(client, auth, world, db, raw):
    auth.login(world.admin)
    response = client.post(
        "/admin/accounts", data={"code": "FEE1", "name": "Fee Travel", "currency": "SGD", "service_fee": raw}
    )
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert db.session.scalar(select(Account.id).where(Account.code == "FEE1")) is None


def test_a_service_fee_with_two_decimals_is_kept_exactly(client, auth, world, db):
    auth.login(world.admin)
    response = client.post(
        "/admin/accounts",
        data={"code": "FEE2", "name": "Fee Travel", "currency": "SGD", "service_fee": "1.01"},
    )
    assert response.status_code == 303
    assert str(db.session.scalar(select(Account.service_fee).where(Account.code == "FEE2"))) == "1.01"
