"""Login required everywhere, roles checked on the server, and another account's object is a 404.

The routes come from `app.url_map`; tests/web/urls.py classifies each one (access level, which object fills
each URL argument, the status the permitted user gets). Every check runs for every rule and method.
"""

import io
import re
import tempfile
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from portal.clock import utcnow
from portal.models import BaggageOption, Booking, Notification, RefundReason, ScheduleChange, WebhookDelivery
from portal.services.api_keys import create_api_key
from portal.services.catalogues import add_category
from portal.services.documents import save_document
from portal.services.notifications import notify
from portal.services.refunds import compute_quote, parse_coupon_keys, quote_fingerprint
from portal.services.requests import post_message
from portal.services.scope import Scope
from portal.services.webhooks import create_endpoint, emit
from tests.conftest import (
    booking_doc,
    make_refund_batch,
    order_baggage,
    passenger_doc,
    portal_today,
    quote_service_request,
    raise_service_request,
    request_category,
    rescheduled,
)
from tests.web.urls import (
    ADMIN,
    AGENCY,
    AGENT,
    PERMITTED,
    PUBLIC,
    REFUSED,
    ROUTES,
    STAFF,
    TENANT_OBJECTS,
    Fixed,
    Route,
)

HX = {"HX-Request": "true"}
METHODS = ("GET", "POST")


class Upload:
    def __init__(self, content: bytes, filename: str):
        self.stream, self.filename = io.BytesIO(content), filename

    def close(self):
        self.stream.close()


# --- the rules of the app ---------------------------------------------------------------------------------


def _rules():
    """(rule, method) for every rule of an app built like the test app (no database needed)."""
    from portal import create_app

    scratch = tempfile.mkdtemp(prefix="portal-url-map-")
    app: Flask = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", "UPLOAD_DIR": scratch},
        instance_path=scratch,
    )
    return [
        (rule, method)
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
        for method in METHODS
        if method in rule.methods
    ]


RULES = _rules()


def _cases(access=None, tenant_only=False, method=None):
    out = []
    for rule, m in RULES:
        route = ROUTES.get(rule.endpoint)
        if route is None or (access is not None and route.access not in access) or (method and m != method):
            continue
        if tenant_only and not _tenant_args(route):
            continue
        out.append(pytest.param(rule, m, route, id=f"{m} {rule.rule}"))
    return out


def _tenant_args(route: Route) -> list[str]:
    names = {**route.args, **route.query}
    return [
        name
        for name, placeholder in names.items()
        if not isinstance(placeholder, Fixed) and set(_alternatives(placeholder)) & TENANT_OBJECTS
    ]


def _alternatives(placeholder) -> tuple:
    return placeholder if isinstance(placeholder, tuple) else (placeholder,)


def url_for_rule(rule, route: Route, world, other: frozenset = frozenset(), pick: int = 0) -> str:
    """The URL of this very rule, its arguments filled from the world: own objects, except the names in
    `other`, which get the other account's. `pick` chooses among alternative placeholders."""

    def value(name, placeholder):
        if isinstance(placeholder, Fixed):
            return placeholder.value
        alternatives = _alternatives(placeholder)
        return world.value(alternatives[min(pick, len(alternatives) - 1)], own=name not in other)

    values = {name: value(name, p) for name, p in route.args.items() if name in rule.arguments}
    missing = rule.arguments - set(values) - set(rule.defaults or {})
    assert not missing, (
        f"{rule.endpoint}: no placeholder for URL argument(s) {sorted(missing)} in tests/web/urls.py"
    )
    _, path = rule.build(values, append_unknown=False)
    query = "&".join(f"{name}={value(name, p)}" for name, p in route.query.items())
    return f"{path}?{query}" if query else path


# --- the test world: one object of each kind per account ---------------------------------------------------


class ObjectWorld:
    """The shared `world` plus, per account, one object of every kind a URL can name, each made the first
    time a test asks for it (`w.refund`, `w.other_refund`), so a test pays only for what it uses."""

    def __init__(self, base, db, make):
        self.__dict__.update(vars(base))
        self._db, self._make = db, make
        self.today = portal_today()

    PER_ACCOUNT = (
        "document",
        "changed_booking",
        "schedule_change",
        "refund",
        "service_request",
        "quote",
        "request_document",
        "plain_request",
        "batch",
        "baggage",
        "notification",
        "api_key",
        "webhook",
        "webhook_delivery",
    )
    SHARED = (
        "category",
        "unused_category",
        "category_other",
        "category_free",
        "extra_group",
        "reason",
        "baggage_option",
    )

    def __getattr__(self, name):
        own = not name.startswith("other_")
        kind = name.removeprefix("other_")
        if kind not in self.PER_ACCOUNT and not (own and kind in self.SHARED):
            raise AttributeError(name)
        made = getattr(self, f"_{kind}")(*self._owner(own))
        self._db.session.commit()
        setattr(self, name, made)
        return made

    def _owner(self, own):
        if own:
            return self.demo, self.agent, self.booking, ""
        return self.other, self.other_agent, self.other_booking, "other_"

    # --- per account ---

    def _document(self, account, agent, booking, prefix):
        return save_document(
            Upload(b"%PDF-1.4 proof", "proof.pdf"), account_id=account.id, uploaded_by_id=agent.id
        )

    def _changed_booking(self, account, agent, booking, prefix):
        """A second booking whose outbound the airline moved by three hours."""
        doc = booking_doc(
            order_number=f"{account.code[:2]}30000001",
            account=account.code,
            passengers=[passenger_doc(ticket=f"618-24000001{len(prefix):02d}")],
        )
        self._make.import_bookings(doc)
        self._make.import_bookings(rescheduled(doc, segment=0, hours=3))
        return self._db.session.scalar(select(Booking).where(Booking.order_number == doc["order_number"]))

    def _schedule_change(self, account, agent, booking, prefix):
        changed = getattr(self, f"{prefix}changed_booking")
        return self._db.session.scalar(select(ScheduleChange).where(ScheduleChange.booking_id == changed.id))

    def _refund(self, account, agent, booking, prefix):
        """The changed booking's return flight, submitted 22 days ago (so it can be followed up)."""
        changed = getattr(self, f"{prefix}changed_booking")
        return self._make.refund(changed, agent, coupons=["P1.S2"], now=utcnow() - timedelta(days=22))

    def _service_request(self, account, agent, booking, prefix):
        """A Cancel & Refund request."""
        return raise_service_request(self._db, booking, agent)

    def _quote(self, account, agent, booking, prefix):
        return quote_service_request(self._db, getattr(self, f"{prefix}service_request"), self.ops)

    def _request_document(self, account, agent, booking, prefix):
        req = getattr(self, f"{prefix}service_request")
        post_message(
            req, user=agent, body="Ticket copy attached.", files=[Upload(b"%PDF-1.4 t", "ticket.pdf")]
        )
        return req.attachments[-1].document

    def _plain_request(self, account, agent, booking, prefix):
        """A New request in a general category."""
        return raise_service_request(self._db, booking, agent, category="other")

    def _batch(self, account, agent, booking, prefix):
        """A refund batch whose one row names no order (it creates nothing)."""
        return make_refund_batch(self._db, agent, "ZZ00000000")

    def _baggage(self, account, agent, booking, prefix):
        return order_baggage(self._db, booking, agent)

    def _api_key(self, account, agent, booking, prefix):
        key, _ = create_api_key(agent, f"{account.code} mid-office", by=agent)
        return key

    def _webhook(self, account, agent, booking, prefix):
        endpoint, _ = create_endpoint(
            agent, Scope.of(agent), "https://example.com/hooks", ["refund.credited"]
        )
        return endpoint

    def _webhook_delivery(self, account, agent, booking, prefix):
        """A delivered event (so it may be redelivered)."""
        getattr(self, f"{prefix}webhook")
        event = emit(account.id, "refund.credited", {"refund_code": "RF00000000"})
        self._db.session.flush()
        delivery = self._db.session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.event_id == event.id)
        )
        delivery.status = "delivered"
        return delivery

    def _notification(self, account, agent, booking, prefix):
        notify([agent], "test", f"Private to {account.code}")
        self._db.session.flush()
        return self._db.session.scalars(
            select(Notification).where(Notification.user_id == agent.id).order_by(Notification.id.desc())
        ).first()

    # --- no tenant (admin pages, form choices) ---

    def _category(self, *owner):
        return request_category(self._db, "name_correction")  # in the middle of its group

    def _unused_category(self, *owner):
        return request_category(self._db, "voluntary_change")

    def _category_other(self, *owner):
        return request_category(self._db, "other")

    def _category_free(self, *owner):
        return request_category(self._db, "involuntary_change")  # no open request: one can be raised

    def _extra_group(self, *owner):
        return add_category("Travel documents", "", "general")

    def _reason(self, *owner):
        return self._db.session.scalar(select(RefundReason).where(RefundReason.code == "medical"))

    def _baggage_option(self, *owner):
        return self._db.session.scalar(select(BaggageOption).where(BaggageOption.code == "XBAG10"))

    # --- placeholders ---

    def value(self, name: str, own: bool = True):
        """The value a placeholder of tests/web/urls.py stands for, of this or the other account."""
        prefix = "" if own else "other_"
        if name in ("order", "typed_order"):
            return getattr(self, f"{prefix}booking").order_number
        if name == "changed_order":
            return getattr(self, f"{prefix}changed_booking").order_number
        if name == "refund_code":
            return getattr(self, f"{prefix}refund").code
        if name in ("request", "plain_request"):
            return getattr(self, f"{prefix}{'service_request' if name == 'request' else name}").number
        if name == "account":
            return (self.demo if own else self.other).id
        if name == "user":
            return self.other_agent.id
        if name == "agency_user":
            return (self.agent if own else self.other_agent).id
        if name in ("category", "unused_category", "reason"):
            return getattr(self, name).id
        return getattr(self, f"{prefix}{name}").id

    def fingerprint(self, booking, *keys):
        """The fingerprint of the quote the slide-out would show for these coupons."""
        selection = parse_coupon_keys(booking, list(keys))
        quote = compute_quote(booking, selection, path="instant_quote", involuntary=False, now=utcnow())
        return quote_fingerprint(quote)

    def every_object(self):
        for kind in self.PER_ACCOUNT:
            getattr(self, kind), getattr(self, f"other_{kind}")
        for kind in self.SHARED:
            getattr(self, kind)
        return self


class StubWorld:
    """Placeholder values for requests that must be refused before any object is looked up."""

    def value(self, name, own=True):
        return {
            "order": "AT10000001",
            "changed_order": "AT10000001",
            "typed_order": "AT10000001",
            "refund_code": "RF00000001",
            "request": "SR00000001",
            "plain_request": "SR00000001",
        }.get(name, 1)


@pytest.fixture
def world(world, db, make):
    return ObjectWorld(world, db, make)


def send(client, rule, method, url, *, world=None, route=None, htmx=False):
    data = route.data.get(method)(world) if route and world and method in route.data else None
    return client.open(url, method=method, data=data, headers=HX if htmx else {})


def login_as(auth, world, role):
    people = {"agent": world.agent, "ops": world.ops, "admin": world.admin}
    people["agency_admin"] = world.agency_admin
    auth.login(people[role])


# --- the table covers the app -----------------------------------------------------------------------------


def test_every_route_is_classified():
    endpoints = {rule.endpoint for rule, _ in RULES}
    unclassified = sorted(endpoints - set(ROUTES))
    assert not unclassified, (
        f"Routes not classified in tests/web/urls.py ROUTES: {', '.join(unclassified)}. Add each with its "
        "access level (public/agent/agency/staff/admin), the object filling each URL argument and its status."
    )
    assert not sorted(set(ROUTES) - endpoints), "ROUTES names endpoints the app no longer has"
    for rule, method in RULES:
        route = ROUTES[rule.endpoint]
        assert method in route.ok, f"{rule.endpoint}: no documented status for {method} in ROUTES"


# --- anonymous users --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "method", "route"), _cases(access={AGENT, AGENCY, STAFF, ADMIN}))
def test_anonymous_users_are_sent_to_login(client, rule, method, route):
    url = url_for_rule(rule, route, StubWorld())
    for htmx in (False, True):
        response = send(client, rule, method, url, htmx=htmx)
        assert response.status_code == 302, f"{method} {url} (htmx={htmx})"
        assert response.headers["Location"].startswith("/login?next="), response.headers["Location"]


@pytest.mark.parametrize(("rule", "method", "route"), _cases(access={PUBLIC}))
def test_public_routes_need_no_login(client, rule, method, route):
    response = send(client, rule, method, url_for_rule(rule, route, StubWorld()))
    response.close()
    assert response.status_code == route.expected(method, False)
    if rule.endpoint == "auth.index":
        assert response.headers["Location"] == "/login"


# --- roles ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("access", "role"),
    [(access, role) for access, roles in REFUSED.items() for role in roles],
)
def test_roles_below_the_route_are_forbidden(client, auth, world, access, role):
    """Every rule of the access level, GET and POST, page and partial: 403 with the styled page."""
    login_as(auth, world, role)
    wrong = []
    for case in _cases(access={access}):
        rule, method, route = case.values
        url = url_for_rule(rule, route, world)
        for htmx in (False, True):
            response = send(client, rule, method, url, world=world, route=route, htmx=htmx)
            if response.status_code != 403 or "Not allowed" not in response.get_data(as_text=True):
                wrong.append(f"{method} {url} (htmx={htmx}): {response.status_code}")
    assert not wrong, f"{role} was not refused (403) on {access} routes:\n" + "\n".join(wrong)


# --- tenant isolation -------------------------------------------------------------------------------------


def _cross_account_cases(only_placeholders=None, skip_placeholders=()):
    """(rule, method, route, argument, pick): each tenant argument of each agent rule, alone set to the
    other account's object (the rest the agent's own), for each alternative placeholder."""
    out = []
    for case in _cases(access={AGENT, AGENCY}, tenant_only=True):
        rule, method, route = case.values
        placeholders = {**route.args, **route.query}
        for name in _tenant_args(route):
            if name not in rule.arguments and name not in route.query:
                continue
            for pick, placeholder in enumerate(_alternatives(placeholders[name])):
                if placeholder in skip_placeholders or (
                    only_placeholders and placeholder not in only_placeholders
                ):
                    continue
                out.append((rule, method, route, name, pick, f"{case.id} {name}={placeholder}"))
    return out


def _not_found_failures(client, world, cases):
    wrong = []
    for rule, method, route, name, pick, label in cases:
        url = url_for_rule(rule, route, world, other=frozenset({name}), pick=pick)
        for htmx in (False, True):
            response = send(client, rule, method, url, world=world, route=route, htmx=htmx)
            body = response.get_data(as_text=True)
            if response.status_code != 404:
                wrong.append(f"{label}: {method} {url} (htmx={htmx}) answered {response.status_code}")
            elif world.other_booking.order_number in body or "LIM" in body:
                wrong.append(f"{label}: {method} {url} (htmx={htmx}) shows the other account's data")
    return wrong


def test_another_accounts_object_is_not_found(client, auth, world):
    """Every agent rule with an object argument, GET and POST, page and partial: an agent naming the other
    account's object in any one argument gets 404 and nothing of the other account."""
    cases = _cross_account_cases()
    assert len(cases) > 30
    world.every_object()
    auth.login(world.agent)
    wrong = _not_found_failures(client, world, cases)
    assert not wrong, "Another account's object was not a 404:\n" + "\n".join(wrong)


def test_another_users_notification_is_not_found(client, auth, world):
    auth.login(world.agent)
    wrong = _not_found_failures(client, world, _cross_account_cases(only_placeholders={"notification"}))
    assert not wrong, "\n".join(wrong)


def test_staff_see_every_account(client, auth, world):
    """Operations open every agent page naming the other account's objects, with the agent's own status."""
    world.every_object()
    auth.login(world.ops)
    wrong = []
    for case in _cases(access={AGENT}, tenant_only=True, method="GET"):
        rule, method, route = case.values
        names = frozenset(_tenant_args(route))
        for pick in range(max(len(_alternatives({**route.args, **route.query}[n])) for n in names)):
            url = url_for_rule(rule, route, world, other=names, pick=pick)
            response = send(client, rule, method, url)
            response.close()
            if response.status_code != route.expected(method, False):
                wrong.append(
                    f"{method} {url}: {response.status_code}, documented {route.expected(method, False)}"
                )
    assert not wrong, "\n".join(wrong)


# --- positive controls: the permitted user gets the documented status ------------------------------------


def _explain(response) -> str:
    messages = re.findall(
        r'class="(?:error|field-error|notice|flash[^"]*)"[^>]*>\s*([^<]+)', response.get_data(as_text=True)
    )
    return " | ".join(m.strip() for m in messages)


@pytest.mark.parametrize("access", [AGENT, AGENCY, STAFF, ADMIN])
def test_permitted_users_get_the_documented_status_on_every_page(client, auth, world, access):
    """Every GET rule, page and partial, with the user's own objects (and each alternative object)."""
    login_as(auth, world, PERMITTED[access])
    wrong = []
    for case in _cases(access={access}, method="GET"):
        rule, method, route = case.values
        alternatives = max((len(_alternatives(p)) for p in route.args.values()), default=1)
        for pick in range(alternatives):
            url = url_for_rule(rule, route, world, pick=pick)
            for htmx in (False, True):
                response = send(client, rule, method, url, world=world, route=route, htmx=htmx)
                expected = route.expected(method, htmx)
                if response.status_code != expected:
                    wrong.append(
                        f"{method} {url} (htmx={htmx}): {response.status_code}, documented {expected}"
                    )
                response.close()
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "partial"])
@pytest.mark.parametrize(
    ("rule", "method", "route"), _cases(access={AGENT, AGENCY, STAFF, ADMIN}, method="POST")
)
def test_permitted_users_get_the_documented_status_on_every_post(
    client, auth, world, rule, method, route, htmx
):
    """Each POST in a world of its own (it changes things): the documented status, page and partial."""
    login_as(auth, world, PERMITTED[route.access])
    url = url_for_rule(rule, route, world)
    response = send(client, rule, method, url, world=world, route=route, htmx=htmx)
    expected = route.expected(method, htmx)
    assert response.status_code == expected, (
        f"{method} {url} (htmx={htmx}): {response.status_code}, documented {expected}: {_explain(response)}"
    )
    if expected == 204:
        assert response.headers["HX-Redirect"].startswith(route.goes_to or "/")
    if expected in (302, 303):
        assert response.headers["Location"].startswith(route.goes_to or "/")


# --- error pages and headers -----------------------------------------------------------------------------


def test_unknown_url_gets_styled_404(client, auth, world):
    auth.login(world.agent)
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Not found" in page and "<header" in page


def test_server_error_shows_no_stack_trace(app, client, auth, world, monkeypatch):
    from portal.blueprints.bookings import views

    def boom(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    auth.login(world.agent)
    monkeypatch.setattr(views, "search_bookings", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = client.get("/bookings/")
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    assert "secret internal detail" not in body and "Traceback" not in body


def test_security_headers(client, world):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_page_has_no_inline_script_or_style(client, auth, world):
    auth.login(world.agent)
    page = client.get(f"/bookings/{world.booking.order_number}").get_data(as_text=True)
    assert "<style" not in page
    assert "style=" not in page
    for tag in page.split("<script")[1:]:
        assert "src=" in tag.split(">")[0], "inline script would be blocked by the CSP"
