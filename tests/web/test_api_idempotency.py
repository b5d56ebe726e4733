"""Idempotency-Key on the API's POSTs (API.md): the same key with the same call answers what the first
call answered, also when ten replays race; with another call it is a 422; a refused call is not kept;
keys are per user, sealed at rest, and forgotten after a day."""

import threading
import time

import pytest
from sqlalchemy import func, select

from portal.blueprints.api import webhook_endpoints as endpoints_view
from portal.jobs import run_job
from portal.models import IdempotentRequest, WebhookEndpoint
from tests.web.test_api import assert_problem, bearer, key_for

URL = "/api/v1/webhook-endpoints"
BODY = {"url": "https://example.com/hooks", "events": ["refund.credited"]}


@pytest.fixture
def agent_key(db, world):
    return key_for(db, world.agent)


def post(client, key, body=BODY, idempotency_key="order-42-refund", path=URL):
    headers = bearer(key)
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return client.post(path, json=body, headers=headers)


def endpoint_count(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(WebhookEndpoint))


def test_a_replay_answers_the_first_answer_and_changes_nothing(client, db, world, agent_key):
    first = post(client, agent_key)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = post(client, agent_key)
    assert again.status_code == 201
    assert again.get_json() == first.get_json()  # the same endpoint, with the same secret shown
    assert again.headers["Idempotent-Replayed"] == "true"
    assert endpoint_count(db) == 1


def test_the_same_json_spelled_differently_is_the_same_call(client, db, world, agent_key):
    first = post(client, agent_key)
    headers = {**bearer(agent_key), "Idempotency-Key": "order-42-refund", "Content-Type": "application/json"}
    spaced = '{ "events" : ["refund.credited"],\n "url": "https://example.com/hooks" }'
    again = client.post(URL, data=spaced, headers=headers)
    assert again.status_code == 201 and again.get_json()["id"] == first.get_json()["id"]
    assert endpoint_count(db) == 1


def test_the_same_key_with_another_body_is_a_422(client, db, world, agent_key):
    assert post(client, agent_key).status_code == 201
    other = post(client, agent_key, body={**BODY, "url": "https://example.com/other"})
    body = assert_problem(other, 422)
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert "another call" in body["detail"]
    assert endpoint_count(db) == 1


def test_without_a_key_every_call_makes_its_own(client, db, world, agent_key):
    post(client, agent_key, idempotency_key=None)
    post(client, agent_key, idempotency_key=None)
    assert endpoint_count(db) == 2


def test_a_refused_call_is_not_kept_and_may_be_sent_again(client, db, world, agent_key):
    refused = post(client, agent_key, body={**BODY, "url": "ftp://example.com/hooks"})
    assert_problem(refused, 422)
    fixed = post(client, agent_key)
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers
    assert endpoint_count(db) == 1


def test_keys_are_per_user(client, db, world, agent_key):
    other_agents = key_for(db, world.other_agent)
    mine, theirs = post(client, agent_key), post(client, other_agents)
    assert mine.status_code == theirs.status_code == 201
    assert mine.get_json()["id"] != theirs.get_json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers


@pytest.mark.parametrize("value", ["x" * 256, "has space", "tab\there", ""])
def test_a_bad_key_is_a_422_naming_the_header(client, db, world, agent_key, value):
    body = assert_problem(post(client, agent_key, idempotency_key=value), 422)
    assert [e["field"] for e in body["errors"]] == ["Idempotency-Key"]
    assert endpoint_count(db) == 0


def test_the_longest_key_is_accepted(client, db, world, agent_key):
    assert post(client, agent_key, idempotency_key="k" * 255).status_code == 201


def test_the_answer_is_sealed_at_rest(client, db, world, agent_key):
    secret = post(client, agent_key).get_json()["secret"]
    stored = db.session.scalar(select(IdempotentRequest))
    assert stored.status == 201
    assert secret not in stored.body_sealed and "example.com" not in stored.body_sealed


def test_a_key_is_forgotten_after_a_day(clock, client, db, world, agent_key):
    first = post(client, agent_key)
    clock.advance(hours=23, minutes=59)
    run_job("sweep-idempotency-keys")
    assert post(client, agent_key).get_json()["id"] == first.get_json()["id"]
    clock.advance(minutes=2)
    assert run_job("sweep-idempotency-keys") == 1
    again = post(client, agent_key)
    assert again.status_code == 201 and again.get_json()["id"] != first.get_json()["id"]
    assert endpoint_count(db) == 2


def test_ten_racing_replays_make_one_endpoint_and_one_answer(app, client, db, world, agent_key, monkeypatch):
    original = endpoints_view.create_endpoint

    def slow_create(*args, **kwargs):
        # Hold the first call open so the others arrive while it runs.
        made = original(*args, **kwargs)
        time.sleep(0.2)
        return made

    monkeypatch.setattr(endpoints_view, "create_endpoint", slow_create)
    start = threading.Barrier(10)
    answers = []

    def call():
        start.wait(timeout=10)
        response = post(app.test_client(), agent_key)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=call) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [status for status, _ in answers] == [201] * 10, answers
    assert len({body["id"] for _, body in answers}) == 1
    assert len({body["secret"] for _, body in answers}) == 1
    assert endpoint_count(db) == 1


def test_every_post_of_the_api_documents_the_header(client, world):
    spec = client.get("/api/v1/openapi.json").get_json()
    posts = {path: ops["post"] for path, ops in spec["paths"].items() if "post" in ops}
    assert posts
    for path, operation in posts.items():
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        assert [h["name"] for h in headers] == ["Idempotency-Key"], path
        assert headers[0]["schema"]["maxLength"] == 255


def test_a_multipart_replay_raises_one_request_and_other_files_are_another_call(client, db, world, agent_key):
    import io

    from portal.models import Document, ServiceRequest
    from tests.web.test_api_requests import PDF

    def raise_with(content: bytes):
        return client.post(
            "/api/v1/requests",
            data={
                "order_number": "AT10000001",
                "category": "cancel_refund",
                "description": "Please cancel.",
                "passengers": ["P1"],
                "attachments": [(io.BytesIO(content), "passport.pdf")],
            },
            content_type="multipart/form-data",
            headers={**bearer(agent_key), "Idempotency-Key": "cancel-AT10000001"},
        )

    first, again = raise_with(PDF), raise_with(PDF)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    other_file = raise_with(PDF + b"%% another scan\n")
    assert_problem(other_file, 422)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ServiceRequest)) == 1
    assert db.session.scalar(select(func.count()).select_from(Document)) == 1


def test_ten_racing_replays_of_a_refund_make_one_refund(app, client, db, world, agent_key):
    """The money path: ten replays of POST /refunds with one Idempotency-Key, racing, make one refund
    and answer all ten with it (none a 409 for the quote already used)."""
    from portal.models import Refund

    quote = client.post(
        "/api/v1/bookings/AT10000001/refund-quotes", json={"passengers": ["P1"]}, headers=bearer(agent_key)
    ).get_json()
    start = threading.Barrier(10)
    answers = []

    def call():
        start.wait(timeout=10)
        response = post(
            app.test_client(),
            agent_key,
            body={"quote_id": quote["id"]},
            idempotency_key="refund-1",
            path="/api/v1/refunds",
        )
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=call) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [status for status, _ in answers] == [201] * 10, answers
    assert len({body["code"] for _, body in answers}) == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 1
