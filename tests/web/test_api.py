"""The agency API (/api/v1): bearer keys only, problem documents, tenancy, validation, the rate limit and
the OpenAPI document."""

from datetime import timedelta

import pytest
from openapi_spec_validator import validate

from portal.clock import utcnow
from portal.services.api_keys import create_api_key, revoke_api_key
from tests.conftest import PASSWORD, make_refund, passenger_doc

PROBLEM = "application/problem+json"


def key_for(db, user, name="Mid-office"):
    _, secret = create_api_key(user, name, by=user)
    db.session.commit()
    return secret


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def assert_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status and body["type"] and body["title"] and body["detail"]
    return body


@pytest.fixture
def agent_key(db, world):
    return key_for(db, world.agent)


# --- authentication ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/bookings", "/api/v1/bookings/AT10000001"])
def test_a_call_without_a_key_is_401(client, world, path):
    body = assert_problem(client.get(path), 401)
    assert "Bearer" in body["detail"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer ptk_not-a-key",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "ptk_no_scheme",
        "Bearer " + "ptk_" + "x" * 500,
    ],
)
def test_a_bad_key_is_401(client, world, agent_key, header):
    assert_problem(client.get("/api/v1/bookings", headers={"Authorization": header}), 401)


def test_a_live_key_answers(client, world, agent_key):
    response = client.get("/api/v1/bookings", headers=bearer(agent_key))
    assert response.status_code == 200
    assert [b["order_number"] for b in response.get_json()["data"]] == ["AT10000001"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_revoked_key_is_401_at_once(client, db, world):
    key, secret = create_api_key(world.agent, "Old", by=world.agent)
    db.session.commit()
    assert client.get("/api/v1/bookings", headers=bearer(secret)).status_code == 200
    revoke_api_key(key, by=world.agent)
    db.session.commit()
    assert_problem(client.get("/api/v1/bookings", headers=bearer(secret)), 401)


def test_a_disabled_users_key_is_401_at_once(client, db, world, agent_key):
    assert client.get("/api/v1/bookings", headers=bearer(agent_key)).status_code == 200
    world.agent.active = False
    db.session.commit()
    assert_problem(client.get("/api/v1/bookings", headers=bearer(agent_key)), 401)


def test_a_disabled_accounts_key_is_401(client, db, world, agent_key):
    world.demo.active = False
    db.session.commit()
    assert_problem(client.get("/api/v1/bookings", headers=bearer(agent_key)), 401)


def test_a_browser_session_does_not_authenticate(client, auth, world):
    auth.login(world.agent)
    assert client.get("/bookings/").status_code == 200  # the session is live for pages
    assert_problem(client.get("/api/v1/bookings"), 401)
    assert_problem(client.get(f"/api/v1/bookings/{world.booking.order_number}"), 401)


def test_a_temporary_password_does_not_redirect_an_api_call(client, auth, db, world, agent_key):
    world.agent.must_change_password = True
    db.session.commit()
    auth.login(world.agent)
    assert client.get("/api/v1/bookings", headers=bearer(agent_key)).status_code == 200


def test_last_used_is_noted_at_most_once_a_minute(clock, client, db, world):
    from portal.models import ApiKey

    key, secret = create_api_key(world.agent, "Clocked", by=world.agent)
    db.session.commit()
    first = clock.now
    client.get("/api/v1/bookings", headers=bearer(secret))
    db.session.expire_all()
    assert db.session.get(ApiKey, key.id).last_used_at == first
    clock.advance(seconds=30)
    client.get("/api/v1/bookings", headers=bearer(secret))
    db.session.expire_all()
    assert db.session.get(ApiKey, key.id).last_used_at == first
    later = clock.advance(seconds=31)
    client.get("/api/v1/bookings", headers=bearer(secret))
    db.session.expire_all()
    assert db.session.get(ApiKey, key.id).last_used_at == later


# --- tenancy ----------------------------------------------------------------------------------------------

# Every API path that names an object: (method, path, kind of object[, JSON body]), generated into the 404
# test below. A kind whose value is a tuple fills several placeholders (a request's number and its quote).
OBJECT_PATHS = {
    "api.get_booking": ("GET", "/api/v1/bookings/{}", "booking"),
    "api.delete_webhook_endpoint": ("DELETE", "/api/v1/webhook-endpoints/{}", "webhook_endpoint"),
    "api.get_service_request": ("GET", "/api/v1/requests/{}", "request"),
    "api.post_request_message": ("POST", "/api/v1/requests/{}/messages", "request", {"body": "Any news?"}),
    "api.accept_request_quote": ("POST", "/api/v1/requests/{}/quotes/{}/accept", "request_quote"),
    "api.decline_request_quote": ("POST", "/api/v1/requests/{}/quotes/{}/decline", "request_quote"),
    "api.baggage_options": ("GET", "/api/v1/bookings/{}/baggage-options", "booking"),
    "api.accept_schedule_changes": (
        "POST",
        "/api/v1/bookings/{}/schedule-changes/accept",
        "changed_booking",
    ),
    "api.create_refund_quote": (
        "POST",
        "/api/v1/bookings/{}/refund-quotes",
        "booking",
        {"passengers": ["P1"]},
    ),
    "api.get_refund": ("GET", "/api/v1/refunds/{}", "refund"),
    "api.follow_up_refund": ("POST", "/api/v1/refunds/{}/follow-up", "refund", {}),
}


def _object_body(world, kind: str):
    """The JSON body a call on the own object needs to succeed (sent on the other account's too)."""
    if kind == "changed_booking":
        return {"changes": [c.id for c in world.booking.schedule_changes]}
    return None


def _schedule_change(booking):
    """An open airline change on the booking's first segment (as a re-import records it)."""
    from portal.models import ScheduleChange

    segment = booking.segments[0]
    booking.schedule_changes.append(
        ScheduleChange(
            segment=segment,
            kind="time_changed",
            old_departure_at=segment.departure_at,
            old_departure_offset=segment.departure_offset,
            new_departure_at=segment.departure_at,
            new_departure_offset=segment.departure_offset,
            old_arrival_at=segment.arrival_at,
            old_arrival_offset=segment.arrival_offset,
            new_arrival_at=segment.arrival_at,
            new_arrival_offset=segment.arrival_offset,
            old_status=segment.status,
            new_status=segment.status,
        )
    )
    booking.action_required = True


def _object_value(world, kind: str, own: bool):
    """The URL value of the own (`own`) or the other account's object of this kind."""
    from portal.extensions import db
    from portal.services.scope import Scope
    from portal.services.webhooks import create_endpoint
    from tests.conftest import quote_service_request, raise_service_request

    if kind == "booking":
        return (world.booking if own else world.other_booking).order_number
    if kind in ("request", "request_quote"):
        booking, agent = (world.booking, world.agent) if own else (world.other_booking, world.other_agent)
        req = raise_service_request(db, booking, agent)
        if kind == "request":
            return req.number
        return req.number, quote_service_request(db, req, world.ops).id
    if kind == "changed_booking":
        booking = world.booking if own else world.other_booking
        _schedule_change(booking)
        return booking.order_number
    if kind == "refund":  # 22 days old: it may be followed up
        booking, agent = (world.booking, world.agent) if own else (world.other_booking, world.other_agent)
        return make_refund(db, booking, agent, now=utcnow() - timedelta(days=22)).code
    agent = world.agent if own else world.other_agent
    endpoint, _ = create_endpoint(agent, Scope.of(agent), "https://example.com/hooks", ["refund.credited"])
    return endpoint.id


def test_every_object_path_is_listed(app):
    named = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.arguments
    }
    assert named == set(OBJECT_PATHS)


@pytest.mark.parametrize("endpoint", sorted(OBJECT_PATHS))
def test_another_accounts_object_is_404(client, db, world, agent_key, endpoint):
    method, path, kind, *body = OBJECT_PATHS[endpoint]
    own_value, other_value = _object_value(world, kind, True), _object_value(world, kind, False)
    db.session.commit()

    def url(value):
        return path.format(*value) if isinstance(value, tuple) else path.format(value)

    json = body[0] if body else _object_body(world, kind)
    other = client.open(url(other_value), method=method, headers=bearer(agent_key), json=json)
    body = assert_problem(other, 404)
    assert world.other_booking.order_number not in other.get_data(as_text=True)
    assert "LIM" not in other.get_data(as_text=True)
    assert body["title"] == "Not Found"
    own = client.open(url(own_value), method=method, headers=bearer(agent_key), json=json)
    assert own.status_code in (200, 201, 204), own.get_data(as_text=True)


def test_the_list_holds_only_the_keys_account(client, world, agent_key):
    data = client.get("/api/v1/bookings?q=LIM", headers=bearer(agent_key)).get_json()["data"]
    assert data == []


def test_an_unknown_api_path_is_a_problem(client, world, agent_key):
    assert_problem(client.get("/api/v1/no-such-thing", headers=bearer(agent_key)), 404)
    assert_problem(client.post("/api/v1/bookings", headers=bearer(agent_key)), 405)


# --- the booking --------------------------------------------------------------------------------------------


def test_booking_details_carry_refs_tickets_money_and_coupons(client, db, make, world, agent_key):
    make.refund(world.booking, world.agent, coupons=["P1.S1"])
    body = client.get("/api/v1/bookings/AT10000001", headers=bearer(agent_key)).get_json()
    passenger = body["passengers"][0]
    assert passenger["ref"] == "P1" and passenger["ticket_number"]
    assert set(passenger["base_fare"]) == {"amount", "currency"}
    assert isinstance(passenger["base_fare"]["amount"], str) and passenger["base_fare"]["currency"] == "SGD"
    assert "." in passenger["base_fare"]["amount"]
    assert body["total"]["currency"] == "SGD"
    segment = body["segments"][0]
    assert segment["ref"] == "S1"
    assert segment["departure_at"].endswith("+08:00")  # Singapore's offset, as imported
    assert body["issued_at"].endswith("Z")
    states = {(c["passenger"], c["segment"]): c for c in body["coupons"]}
    assert states[("P1", "S1")]["state"] == "in_refund" and states[("P1", "S1")]["refund_code"]
    assert states[("P1", "S2")]["state"] == "refundable" and states[("P1", "S2")]["refund_code"] is None


# --- lists, cursors and bad input ---------------------------------------------------------------------------


def test_the_cursor_walks_every_booking_once(client, make, world, agent_key):
    for n in range(2, 6):
        make.booking(
            order_number=f"AT1000000{n}",
            account="DEMO",
            passengers=[passenger_doc("P1", "TAN", "WEI", f"618-240000000{n}")],
        )
    seen, cursor = [], None
    for _ in range(5):
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/api/v1/bookings?{query}", headers=bearer(agent_key)).get_json()
        seen += [b["order_number"] for b in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"AT1000000{n}" for n in range(1, 6)] and len(seen) == 5


def test_the_search_is_my_bookings_prefix_search(client, make, world, agent_key):
    make.booking(
        order_number="AT10000002",
        account="DEMO",
        passengers=[passenger_doc("P1", "KOH", "MEI", "618-2400000002")],
    )
    data = client.get("/api/v1/bookings?q=ko", headers=bearer(agent_key)).get_json()["data"]
    assert [b["order_number"] for b in data] == ["AT10000002"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("status=lost", "status"),
        ("departure_from=2025-13-01", "departure_from"),
        ("departure_from=2025-03-02&departure_to=2025-03-01", "departure_to"),
        ("q=" + "A" * 81, "q"),
        ("colour=blue", "colour"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=" + "QUJD" * 10, "cursor"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_field(client, world, agent_key, query, field):
    body = assert_problem(client.get(f"/api/v1/bookings?{query}", headers=bearer(agent_key)), 422)
    assert field in [e["field"] for e in body["errors"]], body
    assert all(e["message"] for e in body["errors"])


# --- the rate limit -----------------------------------------------------------------------------------------


def test_over_the_limit_is_429_with_retry_after(clock, app, client, db, world, agent_key):
    app.config["API_RATE_LIMIT"] = 3
    try:
        clock.set(clock.now.replace(second=15, microsecond=0))
        for _ in range(3):
            assert client.get("/api/v1/bookings", headers=bearer(agent_key)).status_code == 200
        refused = client.get("/api/v1/bookings", headers=bearer(agent_key))
        assert_problem(refused, 429)
        assert refused.headers["Retry-After"] == "45"
        # Another key of the same user has a count of its own.
        assert (
            client.get("/api/v1/bookings", headers=bearer(key_for(db, world.agent, "B"))).status_code == 200
        )
        clock.advance(seconds=45)  # the next minute
        assert client.get("/api/v1/bookings", headers=bearer(agent_key)).status_code == 200
    finally:
        app.config["API_RATE_LIMIT"] = 600


def test_the_count_is_shared_by_every_worker(clock, another_app, app, client, db, world, agent_key):
    """Two app instances (two workers) on one database share a key's count."""
    app.config["API_RATE_LIMIT"] = 2
    other = another_app(API_RATE_LIMIT=2)
    try:
        clock.set(clock.now.replace(second=0, microsecond=0))
        assert client.get("/api/v1/bookings", headers=bearer(agent_key)).status_code == 200
        assert other.test_client().get("/api/v1/bookings", headers=bearer(agent_key)).status_code == 200
        assert_problem(client.get("/api/v1/bookings", headers=bearer(agent_key)), 429)
    finally:
        app.config["API_RATE_LIMIT"] = 600


# --- the OpenAPI document -----------------------------------------------------------------------------------


def test_the_openapi_document_is_valid_and_needs_no_key(client, world):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    validate(spec)
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key: ptk_…",
    }
    assert {"bearerAuth": []} in spec["security"]
    assert set(spec["components"]["schemas"]["Problem"]["properties"]) >= {
        "type",
        "title",
        "status",
        "detail",
    }
    assert {"/api/v1/bookings", "/api/v1/bookings/{order_number}"} <= set(spec["paths"])
    money = spec["components"]["schemas"]["Money"]["properties"]["amount"]
    assert money["type"] == "string"


def test_a_password_does_not_open_the_api(client, world):
    response = client.get("/api/v1/bookings", headers={"Authorization": f"Bearer {PASSWORD}"})
    assert_problem(response, 401)


def _counted(db) -> int:
    from sqlalchemy import func, select

    from portal.models import ApiCallCounter

    db.session.expire_all()
    return db.session.scalar(select(func.coalesce(func.sum(ApiCallCounter.calls), 0)))


def test_a_worker_takes_calls_from_the_shared_count_ten_at_a_time(clock, app, client, db, world, agent_key):
    """At the default 600 a minute, 25 calls write the count three times (leases of 10), not 25 times."""
    clock.set(clock.now.replace(second=0, microsecond=0))
    for _ in range(25):
        assert client.get("/api/v1/bookings", headers=bearer(agent_key)).status_code == 200
    assert _counted(db) == 30


def test_leases_never_let_more_than_the_limit_through_two_workers(
    clock, another_app, app, client, db, world, agent_key
):
    app.config["API_RATE_LIMIT"] = 120  # leases of 2
    other = another_app(API_RATE_LIMIT=120).test_client()
    try:
        clock.set(clock.now.replace(second=0, microsecond=0))
        admitted = 0
        for n in range(140):
            worker = client if n % 3 else other
            admitted += worker.get("/api/v1/bookings", headers=bearer(agent_key)).status_code == 200
        # Never more than the limit; at most a lease per worker left unspent.
        assert 116 <= admitted <= 120
        assert _counted(db) >= admitted
    finally:
        app.config["API_RATE_LIMIT"] = 600


def test_every_schema_has_its_own_name(app):
    """Two schemas of one name would be renamed silently in the document (QuoteLine1…); each is distinct."""
    import warnings

    from portal import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spare = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    names = spare.test_client().get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert not [n for n in names if n[-1].isdigit()]


# Every POST that names an object in its body (not its path): another account's object is a 404 naming
# the field, exactly as an unknown one, and nothing is written.
BODY_OBJECTS = {
    "/api/v1/requests": (
        "order_number",
        {"category": "other", "description": "Any news?", "passengers": ["P1"]},
    ),
    "/api/v1/baggage-orders": ("order_number", {"passenger": "P1", "segment": "S1", "option": 1}),
}


@pytest.mark.parametrize("path", sorted(BODY_OBJECTS))
@pytest.mark.parametrize("order", ["OT20000001", "ZZ99999999"], ids=["other-account", "unknown"])
def test_another_accounts_object_named_in_a_body_is_a_404_naming_the_field(
    client, db, world, agent_key, path, order
):
    from sqlalchemy import func, select

    from portal.models import BaggageOrder, ServiceRequest

    field, rest = BODY_OBJECTS[path]
    response = client.post(path, json={field: order, **rest}, headers=bearer(agent_key))
    body = assert_problem(response, 404)
    assert [e["field"] for e in body["errors"]] == [field]
    assert "LIM" not in response.get_data(as_text=True)
    for model in (ServiceRequest, BaggageOrder):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0
