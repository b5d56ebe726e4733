"""Defects found by reviewing and attacking the agency API (issue #11): each test is what an agency's
system or an attacker sent, and what they must get back."""

import pytest

from tests.conftest import make_refund, quote_service_request, raise_service_request
from tests.web.test_api import assert_problem, bearer, key_for


@pytest.fixture
def agent_key(db, world):
    return key_for(db, world.agent)


def _json_posts(db, world) -> list[str]:
    req = raise_service_request(db, world.booking, world.agent)
    quote_service_request(db, req, world.ops)
    refund = make_refund(db, world.booking, world.agent)
    db.session.commit()
    return [
        "/api/v1/bookings/AT10000001/refund-quotes",
        "/api/v1/refunds",
        f"/api/v1/refunds/{refund.code}/follow-up",
        "/api/v1/requests",
        f"/api/v1/requests/{req.number}/messages",
        "/api/v1/baggage-orders",
        "/api/v1/bookings/AT10000001/schedule-changes/accept",
        "/api/v1/webhook-endpoints",
    ]


def test_a_json_body_nested_too_deeply_is_a_problem_not_a_500(client, db, world, agent_key):
    deep = '{"a":' * 5000 + "1" + "}" * 5000
    for path in _json_posts(db, world):
        for idempotency in ({}, {"Idempotency-Key": f"deep-{path}"}):
            response = client.post(
                path,
                data=deep,
                headers={**bearer(agent_key), **idempotency, "Content-Type": "application/json"},
            )
            body = assert_problem(response, 400)
            assert "JSON" in body["detail"], path


def test_a_user_moved_to_another_account_gets_no_replay_of_the_old_accounts_answers(client, db, world):
    """A stored answer belongs to the account it was given in: a user moved to another account (their
    keys revoked, a new key made) who sends the same Idempotency-Key and call again must not be shown the
    old account's booking, passengers or refund."""
    from portal.services.auth import update_user

    old_key = key_for(db, world.agent)
    call = {"json": {"passengers": ["P1"]}, "headers": {"Idempotency-Key": "nightly-quote-42"}}
    first = client.post(
        "/api/v1/bookings/AT10000001/refund-quotes",
        **{**call, "headers": {**call["headers"], **bearer(old_key)}},
    )
    assert first.status_code == 201
    update_user(
        world.agent, name=world.agent.name, role="agent", account_code="OTHER", active=True, by=world.admin
    )
    db.session.commit()
    new_key = key_for(db, world.agent, name="After the move")

    again = client.post(
        "/api/v1/bookings/AT10000001/refund-quotes",
        **{**call, "headers": {**call["headers"], **bearer(new_key)}},
    )
    assert "Idempotent-Replayed" not in again.headers
    assert first.get_json()["id"] not in again.get_data(as_text=True)
    assert "TAN" not in again.get_data(as_text=True)
    assert_problem(again, 404)
