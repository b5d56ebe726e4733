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
