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


def test_a_host_name_that_resolves_inside_after_the_check_gets_no_delivery(
    app, client, db, make, world, agent_key, monkeypatch
):
    """DNS rebinding: the name resolves to a public address when the delivery is checked, and to the
    portal's own loopback when the sender connects. The delivery must go where the check looked, or
    nowhere: never to the inside address."""
    import socket
    import threading

    from portal.jobs import deliver_webhooks
    from portal.models import WebhookDelivery

    inside = socket.socket()
    inside.bind(("127.0.0.1", 0))
    inside.listen(5)
    inside.settimeout(0.2)
    port = inside.getsockname()[1]
    reached = []
    stop = threading.Event()

    def listen():
        while not stop.is_set():
            try:
                conn, _ = inside.accept()
            except OSError:
                continue
            reached.append(True)
            conn.close()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    real_getaddrinfo = socket.getaddrinfo
    answers = {"given": 0}

    def rebinding(host, *args, **kwargs):
        if host != "hooks.rebind.example":
            return real_getaddrinfo(host, *args, **kwargs)
        answers["given"] += 1
        address = "93.184.215.14" if answers["given"] == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = f"https://hooks.rebind.example:{port}/hooks"
    created = client.post(
        "/api/v1/webhook-endpoints",
        json={"url": url, "events": ["refund.status_changed"]},
        headers=bearer(agent_key),
    )
    assert created.status_code == 201
    make.refund(world.booking, world.agent, status="received", by=world.ops)
    app.config["ALLOW_HTTP_WEBHOOKS"] = False
    answers["given"] = 0
    try:
        result = deliver_webhooks()
    finally:
        app.config["ALLOW_HTTP_WEBHOOKS"] = True
        stop.set()
        listener.join()
        inside.close()
    assert reached == []
    assert result == {"delivered": 0, "failed": 1}
    first = db.session.query(WebhookDelivery).order_by(WebhookDelivery.id).first()
    assert "127.0.0.1" in first.last_error
