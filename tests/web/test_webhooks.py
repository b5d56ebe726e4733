"""Webhooks (issue 11): endpoints over the API (secret shown once, 422s naming the field, tenancy 404,
private addresses refused), events written in the same transaction as the change, and delivery by the
job runner to a REAL HTTP receiver on 127.0.0.1 that checks the signature as an agency would, with
retries in event order."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from portal.jobs import deliver_webhooks, run_job
from portal.models import Refund, WebhookDelivery, WebhookEndpoint, WebhookEvent
from portal.services.refunds import apply_action
from portal.services.requests import change_status, post_message
from tests.conftest import raise_service_request
from tests.web.test_api import assert_problem, bearer, key_for

URL = "/api/v1/webhook-endpoints"
TOLERANCE = 300  # seconds: how old a signature the receiver accepts


class Receiver:
    """An agency's webhook receiver: verifies Portal-Signature with the endpoint's secret exactly as the
    README tells agencies to, and answers with the next of `answers` (then 200)."""

    def __init__(self):
        self.secret: str | None = None
        self.answers: list[int] = []
        self.received: list[dict] = []  # verified bodies, in arrival order
        self.refused: list[str] = []
        self.clock = time.time  # the agency's clock (a test with a frozen portal clock shares it)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.answers.pop(0) if receiver.answers else 200
                problem = receiver.verify(self.headers.get("Portal-Signature", ""), raw)
                if problem:
                    receiver.refused.append(problem)
                    status = 400
                elif 200 <= status < 300:
                    receiver.received.append(json.loads(raw))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def verify(self, header: str, raw: bytes) -> str | None:
        parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
        if "t" not in parts or "v1" not in parts:
            return "no signature"
        expected = hmac.new(
            self.secret.encode(), parts["t"].encode() + b"." + raw, hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, parts["v1"]):
            return "bad signature"
        if abs(self.clock() - int(parts["t"])) > TOLERANCE:
            return "too old"
        return None

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def agent_key(db, world):
    return key_for(db, world.agent)


def make_endpoint(client, key, url, events=("refund.status_changed", "refund.credited")):
    response = client.post(URL, json={"url": url, "events": list(events)}, headers=bearer(key))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def deliveries(db):
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


# --- endpoints over the API -------------------------------------------------------------------------------


def test_an_endpoint_is_made_with_its_secret_shown_once_and_listed_without_it(client, db, world, agent_key):
    made = make_endpoint(client, agent_key, "https://example.com/hooks")
    assert made["secret"].startswith("whsec_") and made["events"] == [
        "refund.status_changed",
        "refund.credited",
    ]
    stored = db.session.get(WebhookEndpoint, made["id"])
    assert made["secret"] not in stored.secret_encrypted  # encrypted at rest
    listed = client.get(URL, headers=bearer(agent_key)).get_json()
    assert [e["id"] for e in listed["data"]] == [made["id"]] and "secret" not in listed["data"][0]
    assert listed["next_cursor"] is None


def test_the_list_is_paged_by_cursor(client, world, agent_key):
    ids = [make_endpoint(client, agent_key, f"https://example.com/{n}")["id"] for n in range(3)]
    first = client.get(URL + "?limit=2", headers=bearer(agent_key)).get_json()
    second = client.get(f"{URL}?limit=2&cursor={first['next_cursor']}", headers=bearer(agent_key)).get_json()
    assert [e["id"] for e in first["data"] + second["data"]] == ids[::-1]
    assert second["next_cursor"] is None
    assert_problem(client.get(URL + "?cursor=nonsense", headers=bearer(agent_key)), 422)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://example.com/h", "events": ["refund.exploded"]}, "events"),
        ({"url": "https://example.com/h", "events": []}, "events"),
        ({"url": "ftp://example.com/h", "events": ["refund.credited"]}, "url"),
        ({"url": "not a url", "events": ["refund.credited"]}, "url"),
        ({"url": "https://" + "a" * 600 + ".com", "events": ["refund.credited"]}, "url"),
        ({"url": "https://example.com/h", "events": ["refund.credited"], "colour": "red"}, "colour"),
        ({"events": ["refund.credited"]}, "url"),
        ({"url": "https://example.com/h", "events": "refund.credited"}, "events"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client, db, world, agent_key, body, field):
    problem = assert_problem(client.post(URL, json=body, headers=bearer(agent_key)), 422)
    assert field in [e["field"] for e in problem["errors"]]
    assert db.session.scalar(select(func.count(WebhookEndpoint.id))) == 0


def test_another_accounts_endpoint_is_a_404_and_not_listed(client, db, world, agent_key):
    theirs = make_endpoint(client, key_for(db, world.other_agent, "Theirs"), "https://example.com/theirs")
    assert client.get(URL, headers=bearer(agent_key)).get_json()["data"] == []
    assert_problem(client.delete(f"{URL}/{theirs['id']}", headers=bearer(agent_key)), 404)
    assert db.session.get(WebhookEndpoint, theirs["id"]).deleted_at is None
    ours = make_endpoint(client, agent_key, "https://example.com/ours")
    assert client.delete(f"{URL}/{ours['id']}", headers=bearer(agent_key)).status_code == 204
    assert client.get(URL, headers=bearer(agent_key)).get_json()["data"] == []
    assert_problem(client.delete(f"{URL}/{ours['id']}", headers=bearer(agent_key)), 404)


@pytest.fixture
def strict(app):
    app.config["ALLOW_HTTP_WEBHOOKS"] = False
    yield
    app.config["ALLOW_HTTP_WEBHOOKS"] = True


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hooks",  # plain http
        "https://127.0.0.1/hooks",  # loopback
        "https://localhost/hooks",  # resolves to loopback
        "https://10.1.2.3/hooks",  # private
        "https://192.168.0.10/hooks",
        "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
        "https://[::1]/hooks",
        "https://[::ffff:10.0.0.1]/hooks",  # private, written as IPv6
        "https://0.0.0.0/hooks",
    ],
)
def test_private_loopback_and_link_local_targets_are_refused_with_the_setting_off(
    client, db, world, agent_key, strict, url
):
    problem = assert_problem(
        client.post(URL, json={"url": url, "events": ["refund.credited"]}, headers=bearer(agent_key)), 422
    )
    assert problem["errors"][0]["field"] == "url"
    assert db.session.scalar(select(func.count(WebhookEndpoint.id))) == 0


def test_a_public_https_target_is_accepted_with_the_setting_off(client, world, agent_key, strict):
    # 93.184.215.14 is a global address; an IP literal needs no name resolution in the test.
    make_endpoint(client, agent_key, "https://93.184.215.14/hooks")


def test_a_delivery_is_not_sent_once_the_target_is_refused(
    client, db, world, make, agent_key, receiver, strict
):
    """Each try checks the target again (the setting turned off, or a host name now resolving inside)."""
    strict_off = client.application.config
    strict_off["ALLOW_HTTP_WEBHOOKS"] = True
    receiver.secret = make_endpoint(client, agent_key, receiver.url)["secret"]
    make.refund(world.booking, world.agent, status="received", by=world.ops)
    strict_off["ALLOW_HTTP_WEBHOOKS"] = False
    assert deliver_webhooks() == {"delivered": 0, "failed": 1}
    delivery, waiting = deliveries(db)
    assert receiver.received == [] and delivery.status == "pending" and "https://" in delivery.last_error
    assert waiting.attempts == 0


# --- events in the same transaction ------------------------------------------------------------------------


def test_the_event_commits_with_the_change_and_a_refused_action_writes_none(
    client, auth, db, world, make, agent_key
):
    make_endpoint(client, agent_key, "https://example.com/hooks")
    refund = make.refund(world.booking, world.agent, status="submitted", by=world.ops)
    before = db.session.scalar(select(func.max(WebhookEvent.id)))
    auth.login(world.ops)
    refused = client.post(f"/operations/refunds/{refund.id}/reject", data={"reason": ""})
    assert refused.status_code in (303, 422)  # refused: the reason is missing
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).status == "submitted"
    assert db.session.scalar(select(func.max(WebhookEvent.id))) == before
    done = client.post(f"/operations/refunds/{refund.id}/reject", data={"reason": "The airline refused."})
    assert done.status_code in (200, 303)
    db.session.expire_all()
    (event,) = db.session.scalars(select(WebhookEvent).where(WebhookEvent.id > before))
    body = json.loads(event.body)
    assert body["type"] == "refund.status_changed" and body["id"].startswith("evt_")
    assert body["data"]["refund_code"] == refund.code and body["data"]["status"] == "rejected"
    assert body["data"]["previous_status"] == "submitted" and body["data"]["order_number"] == "AT10000001"
    assert body["created_at"].endswith("Z")


def test_no_event_is_written_for_an_account_without_endpoints(db, world, make):
    make.refund(world.booking, world.agent, status="refunded")
    assert db.session.scalar(select(func.count(WebhookEvent.id))) == 0


def test_request_events_status_and_public_messages_only(client, db, world, agent_key):
    make_endpoint(
        client, agent_key, "https://example.com/r", events=["request.status_changed", "request.message_added"]
    )
    req = raise_service_request(db, world.booking, world.agent)
    post_message(req, user=world.ops, body="Internal only.", internal=True)
    post_message(req, user=world.ops, body="We are on it.")
    change_status(req, "start", user=world.ops)
    db.session.commit()
    bodies = [json.loads(e.body) for e in db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))]
    assert [b["type"] for b in bodies] == ["request.message_added", "request.status_changed"]
    assert bodies[0]["data"]["message"]["body"] == "We are on it."
    assert bodies[1]["data"]["request_number"] == req.number and bodies[1]["data"]["status"] == "in_process"


# --- delivery by the job runner ---------------------------------------------------------------------------


def test_a_credit_is_delivered_signed_to_a_real_receiver(client, db, world, make, agent_key, receiver):
    receiver.secret = make_endpoint(client, agent_key, receiver.url)["secret"]
    refund = make.refund(world.booking, world.agent, status="refunded", by=world.ops)
    result = run_job("deliver-webhooks")
    assert receiver.refused == []
    types = [b["type"] for b in receiver.received]
    assert types == ["refund.status_changed"] * 3 + ["refund.credited"]
    assert result == {"delivered": 4, "failed": 0}
    credited = receiver.received[-1]["data"]
    assert credited["refund_code"] == refund.code and credited["status"] == "refunded"
    assert credited["credited_amount"] == {"amount": "285.00", "currency": "SGD"}  # 300 less the 15 fee
    assert all(d.status == "delivered" and d.response_code == 200 and d.attempts == 1 for d in deliveries(db))


def test_a_wrong_secret_fails_verification(client, db, world, make, agent_key, receiver):
    make_endpoint(client, agent_key, receiver.url)
    receiver.secret = "whsec_not-the-one"
    make.refund(world.booking, world.agent, status="received", by=world.ops)
    deliver_webhooks()
    assert receiver.received == [] and receiver.refused
    first, waiting = deliveries(db)
    assert first.response_code == 400 and first.status == "pending" and waiting.attempts == 0


def test_a_failing_receiver_gets_retries_with_backoff_in_event_order(
    clock, client, db, world, make, agent_key, receiver
):
    receiver.clock = lambda: clock.now.timestamp()
    receiver.secret = make_endpoint(client, agent_key, receiver.url)["secret"]
    start = clock.now
    make.refund(world.booking, world.agent, status="refunded", by=world.ops)
    receiver.answers = [500]
    assert deliver_webhooks(start) == {"delivered": 0, "failed": 1}
    first, *rest = deliveries(db)
    assert first.status == "pending" and first.response_code == 500 and first.last_error == "HTTP 500"
    assert first.attempts == 1 and first.next_attempt_at == start + timedelta(minutes=1)
    assert all(d.attempts == 0 for d in rest)  # the later events wait behind the first: nothing sent
    assert deliver_webhooks(start + timedelta(seconds=30)) == {"delivered": 0, "failed": 0}  # not due yet
    assert deliver_webhooks(start + timedelta(minutes=1)) == {"delivered": 4, "failed": 0}
    statuses = [b["data"]["status"] for b in receiver.received]
    assert statuses == ["submitted", "received", "refunded", "refunded"]  # in event order
    assert [d.attempts for d in deliveries(db)] == [2, 1, 1, 1]


def test_retries_back_off_exponentially_and_stop_after_a_day(clock, client, db, world, make, agent_key):
    make_endpoint(client, agent_key, "http://127.0.0.1:9/closed")  # nothing listens on the discard port
    start = clock.now
    make.refund(world.booking, world.agent, status="requested", by=world.ops)
    apply_action(
        db.session.scalar(select(Refund)), "mark_submitted_to_airline", user=world.ops, reference="A"
    )
    db.session.commit()
    now, waits = start, []
    while True:
        deliver_webhooks(now)
        (delivery, *_) = deliveries(db)
        if delivery.status != "pending":
            break
        waits.append(delivery.next_attempt_at - now)
        now = delivery.next_attempt_at
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)] and max(waits) == timedelta(hours=1)
    assert delivery.status == "failed" and now - start >= timedelta(hours=23)
    assert delivery.response_code is None and delivery.last_error


def test_one_in_flight_per_endpoint(clock, client, db, world, make, agent_key, receiver):
    from portal.services.webhooks import claim_delivery, due_heads

    receiver.secret = make_endpoint(client, agent_key, receiver.url)["secret"]
    make.refund(world.booking, world.agent, status="received", by=world.ops)
    heads = due_heads(clock.now)
    assert len(heads) == 1  # one endpoint: only its oldest event
    assert claim_delivery(heads[0], clock.now) is True
    assert claim_delivery(heads[0], clock.now) is False  # a second sender does not get it
    later = deliveries(db)[1].id
    assert claim_delivery(later, clock.now) is False  # nor the next event while the first is in flight
    db.session.rollback()


def test_an_event_is_undone_with_its_change(client, db, world, make, agent_key):
    """The outbox row lives in the change's transaction: a refusal after it rolls both back."""
    from portal.domain.errors import DomainError
    from portal.uow import attempt

    make_endpoint(client, agent_key, "https://example.com/hooks")
    refund = make.refund(world.booking, world.agent, status="submitted", by=world.ops)
    before = db.session.scalar(select(func.count(WebhookEvent.id)))
    with attempt() as outcome:
        apply_action(refund, "reject", user=world.ops, reason="No.")
        assert db.session.scalar(select(func.count(WebhookEvent.id))) == before + 1
        raise DomainError("Refused after the change.")
    assert outcome.failed
    assert db.session.scalar(select(func.count(WebhookEvent.id))) == before
    assert db.session.scalar(select(func.count(WebhookDelivery.id))) == before


# --- the API keys page -------------------------------------------------------------------------------------

PAGE = "/account/api-keys"


def test_an_agent_adds_an_endpoint_on_the_page_and_sees_its_secret_once(client, auth, db, world):
    auth.login(world.agent)
    page = client.get(PAGE).get_data(as_text=True)
    assert "Webhook endpoints" in page and "No webhook endpoints yet." in page
    added = client.post(
        PAGE + "/webhooks",
        data={"url": "https://example.com/hooks", "events": ["refund.credited", "request.message_added"]},
    )
    text = added.get_data(as_text=True)
    assert added.status_code == 200 and "whsec_" in text and "shown once" in text
    endpoint = db.session.scalar(select(WebhookEndpoint))
    assert endpoint.events == ["refund.credited", "request.message_added"]
    again = client.get(PAGE).get_data(as_text=True)
    assert "https://example.com/hooks" in again and "whsec_" not in again


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"url": "https://example.com/hooks"}, "Choose at least one event."),
        ({"url": "", "events": ["refund.credited"]}, "Enter the URL the events go to."),
        ({"url": "ftp://example.com/hooks", "events": ["refund.credited"]}, "Only https:// URLs"),
    ],
)
def test_bad_page_input_is_shown_under_its_field(client, auth, db, world, data, message):
    auth.login(world.agent)
    response = client.post(PAGE + "/webhooks", data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(WebhookEndpoint.id))) == 0


def test_the_page_refuses_a_private_address_with_the_setting_off(client, auth, db, world, strict):
    auth.login(world.agent)
    response = client.post(
        PAGE + "/webhooks", data={"url": "https://10.0.0.5/h", "events": ["refund.credited"]}
    )
    assert response.status_code == 422 and "private, loopback or link-local" in response.get_data(
        as_text=True
    )


def test_the_delivery_log_shows_each_attempt_and_redelivers(
    client, auth, db, world, make, agent_key, receiver
):
    made = make_endpoint(client, agent_key, receiver.url)
    receiver.secret = made["secret"]
    make.refund(world.booking, world.agent, status="submitted", by=world.ops)
    receiver.answers = [503]
    deliver_webhooks()
    auth.login(world.agent)
    log = client.get(f"{PAGE}/webhooks/{made['id']}").get_data(as_text=True)
    assert "refund.status_changed" in log and "503" in log and "HTTP 503" in log and "Pending" in log
    assert "Redeliver" not in log  # it is still being retried
    (delivery,) = deliveries(db)
    db.session.execute(
        WebhookDelivery.__table__.update().values(
            next_attempt_at=delivery.next_attempt_at - timedelta(hours=1)
        )
    )
    db.session.commit()
    deliver_webhooks()
    log = client.get(f"{PAGE}/webhooks/{made['id']}").get_data(as_text=True)
    assert "Delivered" in log and "Redeliver" in log
    done = client.post(f"{PAGE}/webhook-deliveries/{delivery.id}/redeliver")
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/webhooks/{made['id']}")
    deliver_webhooks()
    assert len(receiver.received) == 2 and receiver.received[0] == receiver.received[1]  # the same event
    assert deliveries(db)[0].attempts == 3


def test_the_agency_admin_sees_and_deletes_every_endpoint_of_its_account_only(
    client, auth, db, world, agent_key
):
    ours = make_endpoint(client, agent_key, "https://example.com/colleague")
    make_endpoint(client, key_for(db, world.other_agent, "Theirs"), "https://example.com/other-agency")
    auth.login(world.agency_admin)
    page = client.get(PAGE).get_data(as_text=True)
    assert "https://example.com/colleague" in page and "other-agency" not in page
    gone = client.post(f"{PAGE}/webhooks/{ours['id']}/delete")
    assert gone.status_code == 303
    assert db.session.get(WebhookEndpoint, ours["id"]).deleted_at is not None
    after = client.get(PAGE).get_data(as_text=True)
    assert (
        "deleted: it gets no more events" in after
        and "<code>https://example.com/colleague</code>" not in after
    )


def test_staff_see_no_webhook_section(client, auth, world):
    auth.login(world.ops)
    assert "Webhook endpoints" not in client.get(PAGE).get_data(as_text=True)


# --- the other events ------------------------------------------------------------------------------------


def _bodies(db, event_type):
    db.session.expire_all()
    return [
        json.loads(e.body)
        for e in db.session.scalars(select(WebhookEvent).where(WebhookEvent.type == event_type))
    ]


def test_a_baggage_decision_is_an_event(client, db, world, agent_key):
    from portal.services.baggage import apply_baggage_action
    from tests.conftest import order_baggage

    make_endpoint(client, agent_key, "https://example.com/b", events=["baggage_order.status_changed"])
    order = order_baggage(db, world.booking, world.agent)
    assert _bodies(db, "baggage_order.status_changed") == []  # ordering is the agency's own act
    apply_baggage_action(order, "fail", user=world.ops, reason="Sold out.")
    db.session.commit()
    (body,) = _bodies(db, "baggage_order.status_changed")
    assert body["data"]["status"] == "failed" and body["data"]["failure_reason"] == "Sold out."
    assert body["data"]["baggage_order_code"] == order.code and body["data"]["price"]["currency"] == "SGD"


def test_a_refund_that_may_be_followed_up_is_an_event(clock, client, db, world, make, agent_key):
    make_endpoint(client, agent_key, "https://example.com/f", events=["follow_up.available"])
    refund = make.refund(world.booking, world.agent, status="submitted", by=world.ops)
    clock.advance(days=22)
    run_job("follow-up-eligible", clock.now)
    (body,) = _bodies(db, "follow_up.available")
    assert body["data"]["refund_code"] == refund.code and body["data"]["status"] == "submitted"
