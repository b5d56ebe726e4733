"""Every route of the app, classified once: who may use it, which object fills each URL argument, and the
exact status the permitted user gets. tests/web/test_access.py walks `app.url_map` against this table, so
a new route that is not classified here fails with its endpoint named.

Access levels:
  public  no login (login page, health check, static files)
  agent   any logged-in user; objects are tenant-scoped: an agent naming another account's object gets
          404; operations and admins see every account
  agency  logged-in agents only (the agency's own answers and uploads): operations and admins get 403
  staff   operations and admins: agents get 403
  admin   admins only: agents and operations get 403
  agency_admin  an agency's own admin only (its account's users): agents, operations and admins get 403;
          another agency's user is a 404 (tests/web/test_agency_admin.py)

args: URL argument (or query parameter, for `query`) -> placeholder. A placeholder names an object the
test world holds per account (`World.value(name, own)`); a tuple lists alternatives, each tested; a
`Fixed` value is the same for everyone (a tab, an action).
ok: method -> the exact status the permitted user gets with their own objects (page); ok_htmx the same
for an htmx request (HX-Request: true) where it differs. data: method -> form body builder(world).
goes_to: where a successful POST leads, where a refused one redirects too.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tests.conftest import PASSWORD

PUBLIC, AGENT, AGENCY, STAFF, ADMIN = "public", "agent", "agency", "staff", "admin"
AGENCY_ADMIN = "agency_admin"


@dataclass(frozen=True)
class Fixed:
    """A URL argument that is no object: the same value for every user."""

    value: str


# Placeholders naming an object that belongs to one client account (or one of its users): an agent asking
# for the other account's one must get 404.
TENANT_OBJECTS = frozenset(
    {
        "order",
        "changed_order",
        "refund_code",
        "document",
        "request_document",
        "request",
        "plain_request",
        "quote",
        "batch",
        "account",
        "notification",
        "api_key",
        "webhook",
        "webhook_delivery",
    }
)


@dataclass(frozen=True)
class Route:
    access: str
    args: Mapping[str, str | tuple[str, ...] | Fixed] = field(default_factory=dict)
    ok: Mapping[str, int] = field(default_factory=lambda: {"GET": 200})
    ok_htmx: Mapping[str, int] = field(default_factory=dict)
    data: Mapping[str, Callable] = field(default_factory=dict)
    query: Mapping[str, str | Fixed] = field(default_factory=dict)
    goes_to: str = ""  # where a successful POST redirects (Location or HX-Redirect starts with it)

    def expected(self, method: str, htmx: bool) -> int:
        return self.ok_htmx.get(method, self.ok[method]) if htmx else self.ok[method]


# --- form bodies for the positive controls ------------------------------------------------------------


def pdf(name="proof.pdf"):
    return (io.BytesIO(b"%PDF-1.4 proof"), name)


def _claim(w):
    return {
        "coupon": "P1.S1",
        "reason": "voluntary",
        "airline_fulfilled_on": w.today.isoformat(),
        "proof": pdf(),
    }


def _new_request(w):
    return {
        "order_number": w.booking.order_number,
        "category": str(w.category_free.id),
        "description": "Please check the new times.",
        "passenger": "P1",
    }


def _raise_request(w):
    return {"category": str(w.category_free.id), "description": "Please check.", "passenger": "P1"}


def _batch_upload(w):
    return {"file": (io.BytesIO(b"Order number\r\nZZ00000001\r\n"), "refunds.csv")}


POST_303 = {"GET": 200, "POST": 303}
# A POST whose success answers with redirect_after_post: 303, or 204 + HX-Redirect for htmx.
REDIRECT_AFTER_POST = {"POST": 204}

ROUTES: dict[str, Route] = {
    # --- public ---------------------------------------------------------------------------------------
    "auth.index": Route(PUBLIC, ok={"GET": 302}),  # to the login page
    "auth.login": Route(PUBLIC, ok={"GET": 200, "POST": 422}),  # an empty login form is refused
    "auth.forgot_password": Route(PUBLIC, ok={"GET": 200, "POST": 422}),  # no e-mail typed
    # A token no link has: 404 (used and expired links: tests/web/test_passwords.py).
    "auth.reset_password": Route(
        PUBLIC, args={"token": Fixed("no-such-token")}, ok={"GET": 404, "POST": 404}
    ),
    "healthz": Route(PUBLIC),
    # The code step of a login: with no login waiting for its code, back to Log in.
    "mfa.verify_code": Route(PUBLIC, ok={"GET": 302, "POST": 303}),
    "static": Route(PUBLIC, args={"filename": Fixed("portal.css")}),
    # The agency API: bearer keys only, so without one every call is a 401 problem document (this harness
    # sends no keys; keys, tenancy, validation and limits are tests/web/test_api.py). Its OpenAPI document
    # needs no key.
    "api-docs.openapi_json": Route(PUBLIC),
    "apidocs.docs": Route(PUBLIC),
    "api.list_bookings": Route(PUBLIC, ok={"GET": 401}),
    "api.get_booking": Route(PUBLIC, args={"order_number": "order"}, ok={"GET": 401}),
    # Webhook endpoints (tests/web/test_webhooks.py; DELETE is outside this harness: its tenancy 404 is
    # tests/web/test_api.py's generated test).
    "api.list_webhook_endpoints": Route(PUBLIC, ok={"GET": 401}),
    "api.create_webhook_endpoint": Route(PUBLIC, ok={"POST": 401}),
    # Service requests (tests/web/test_api_requests.py).
    "api.list_request_categories": Route(PUBLIC, ok={"GET": 401}),
    "api.create_service_request": Route(PUBLIC, ok={"POST": 401}),
    "api.list_service_requests": Route(PUBLIC, ok={"GET": 401}),
    "api.get_service_request": Route(PUBLIC, args={"number": "request"}, ok={"GET": 401}),
    "api.post_request_message": Route(PUBLIC, args={"number": "request"}, ok={"POST": 401}),
    "api.accept_request_quote": Route(
        PUBLIC, args={"number": "request", "quote_id": "quote"}, ok={"POST": 401}
    ),
    "api.decline_request_quote": Route(
        PUBLIC, args={"number": "request", "quote_id": "quote"}, ok={"POST": 401}
    ),
    # Baggage, schedule changes, balance and statement (tests/web/test_api_more.py).
    "api.baggage_options": Route(PUBLIC, args={"order_number": "order"}, ok={"GET": 401}),
    "api.order_baggage": Route(PUBLIC, ok={"POST": 401}),
    "api.list_schedule_changes": Route(PUBLIC, ok={"GET": 401}),
    "api.accept_schedule_changes": Route(PUBLIC, args={"order_number": "order"}, ok={"POST": 401}),
    "api.get_balance": Route(PUBLIC, ok={"GET": 401}),
    "api.get_statement": Route(PUBLIC, ok={"GET": 401}),
    # Refunds (tests/web/test_api_refunds.py).
    "api.create_refund_quote": Route(PUBLIC, args={"order_number": "order"}, ok={"POST": 401}),
    "api.create_refund_from_quote": Route(PUBLIC, ok={"POST": 401}),
    "api.create_refund_claim": Route(PUBLIC, ok={"POST": 401}),
    "api.list_refunds": Route(PUBLIC, ok={"GET": 401}),
    "api.get_refund": Route(PUBLIC, args={"code": "refund_code"}, ok={"GET": 401}),
    "api.follow_up_refund": Route(PUBLIC, args={"code": "refund_code"}, ok={"POST": 401}),
    # --- any logged-in user, tenant-scoped ------------------------------------------------------------
    "auth.logout": Route(AGENT, ok={"POST": 303}),
    "mfa.two_step": Route(AGENT),
    "mfa.start_enrolment": Route(
        AGENT, ok={"POST": 303}, ok_htmx=REDIRECT_AFTER_POST, goes_to="/account/two-step"
    ),
    "mfa.confirm_enrolment": Route(AGENT, ok={"POST": 422}),  # no code typed
    "mfa.disable_second_factor": Route(AGENT, ok={"POST": 422}),  # no password or code typed
    "auth.my_account": Route(
        AGENT,
        ok=POST_303,
        data={
            "POST": lambda w: {
                "current_password": PASSWORD,
                "new_password": "a fresh pass phrase 42",
                "confirm": "a fresh pass phrase 42",
            }
        },
        goes_to="/account",
    ),
    "api_keys.api_keys": Route(
        AGENT, ok={"GET": 200, "POST": 200}, data={"POST": lambda w: {"name": "Mid-office"}}
    ),  # the new key is shown on the answer itself, once
    # Another account's key, and another agent's of the same account, are 404 (tests/web/test_api_keys.py).
    "api_keys.revoke_key": Route(
        AGENT, args={"key_id": "api_key"}, ok={"POST": 303}, goes_to="/account/api-keys"
    ),
    # Webhook endpoints are the account's: every one of its people sees and runs them; staff have none (403).
    "api_keys.add_webhook": Route(
        AGENCY,
        ok={"POST": 200},
        data={"POST": lambda w: {"url": "https://example.com/hooks", "events": ["refund.credited"]}},
    ),  # the signing secret is shown on the answer itself, once
    "api_keys.delete_webhook": Route(
        AGENCY, args={"endpoint_id": "webhook"}, ok={"POST": 303}, goes_to="/account/api-keys"
    ),
    "api_keys.webhook_log": Route(AGENCY, args={"endpoint_id": "webhook"}),
    "api_keys.redeliver_webhook": Route(
        AGENCY,
        args={"delivery_id": "webhook_delivery"},
        ok={"POST": 303},
        goes_to="/account/api-keys/webhooks/",
    ),
    "bookings.my_bookings": Route(AGENT),
    "bookings.booking_details": Route(AGENT, args={"order_number": "order"}),
    "bookings.refund_info": Route(AGENT, args={"order_number": "order"}),
    "bookings.request_history": Route(AGENT, args={"order_number": "order"}),
    "refunds.refund_slideout": Route(
        AGENT,
        args={"order_number": "order"},
        ok=POST_303,
        ok_htmx=REDIRECT_AFTER_POST,
        data={
            "POST": lambda w: {"passenger": "P1", "fingerprint": w.fingerprint(w.booking, "P1.S1", "P1.S2")}
        },
    ),
    "refunds.cancel_refund": Route(AGENT, args={"order_number": "order"}),
    "refunds.operator_refund": Route(
        AGENT,
        args={"order_number": "order"},
        query={"coupon": Fixed("P1.S1")},
        ok=POST_303,
        ok_htmx=REDIRECT_AFTER_POST,
        data={"POST": lambda w: {"coupon": "P1.S1", "fingerprint": w.fingerprint(w.booking, "P1.S1")}},
    ),
    "refunds.refund_claim": Route(
        AGENT,
        args={"order_number": "order"},
        query={"coupon": Fixed("P1.S1")},
        ok=POST_303,
        ok_htmx=REDIRECT_AFTER_POST,
        data={"POST": _claim},
    ),
    # The refund is 22 days old: the follow-up is sent and the agent goes to its request.
    "refunds.follow_up_refund": Route(
        AGENT,
        args={"code": "refund_code"},
        ok={"POST": 303},
        ok_htmx=REDIRECT_AFTER_POST,
        goes_to="/requests/SR",
    ),
    "refunds.download_document": Route(AGENT, args={"document_id": ("document", "request_document")}),
    "baggage.add_baggage": Route(
        AGENT,
        args={"order_number": "order"},
        ok=POST_303,
        ok_htmx=REDIRECT_AFTER_POST,
        data={"POST": lambda w: {"passenger": "P1", "segment": "S2", "option": str(w.baggage_option.id)}},
    ),
    "changes.accept_change": Route(
        AGENT,
        args={"order_number": "changed_order"},
        ok={"POST": 303},
        ok_htmx={"POST": 200},  # the Action required notice again, in place
        data={"POST": lambda w: {"change": str(w.schedule_change.id)}},
    ),
    "changes.free_refund": Route(AGENT, args={"order_number": "changed_order"}, ok={"GET": 303}),
    "requests.raise_request": Route(
        AGENT,
        args={"order_number": "order"},
        ok=POST_303,
        ok_htmx=REDIRECT_AFTER_POST,
        data={"POST": _raise_request},
    ),
    "requests.my_requests": Route(AGENT),
    "requests.new_request": Route(
        AGENT, ok=POST_303, ok_htmx=REDIRECT_AFTER_POST, data={"POST": _new_request}
    ),
    # Without JavaScript the check happens on the form itself: a 303 there.
    # The order number is typed into a form, not named by a URL: another account's order gets the answer
    # an unknown order gets (test_a_typed_order_of_another_account_is_unknown), not a 404.
    "requests.validate_order": Route(
        AGENT, query={"order_number": "typed_order"}, ok={"GET": 303}, ok_htmx={"GET": 200}
    ),
    "requests.category_hint": Route(AGENT, query={"order_number": "typed_order"}),
    "requests.request_detail": Route(AGENT, args={"number": ("request", "plain_request")}),
    "requests.request_thread": Route(AGENT, args={"number": "request"}),
    "requests.post_request_message": Route(
        AGENT,
        args={"number": "request"},
        ok={"POST": 303},
        ok_htmx={"POST": 200},  # the conversation again, in place
        data={"POST": lambda w: {"body": "Any news?"}},
    ),
    "notifications.notification_list": Route(AGENT),
    "notifications.bell": Route(AGENT),
    # The bell's dropdown is an htmx part; a direct visit goes to the list.
    "notifications.menu": Route(AGENT, ok={"GET": 302}, ok_htmx={"GET": 200}),
    "home.home": Route(AGENT),
    "notifications.read": Route(
        AGENT, args={"notification_id": "notification"}, ok={"POST": 303}, ok_htmx={"POST": 200}
    ),
    "finance.refunds": Route(AGENT, args={"tab": Fixed("agent")}, query={"account": "account"}),
    "finance.export_refunds": Route(AGENT, args={"tab": Fixed("all")}, query={"account": "account"}),
    "finance.template_csv_download": Route(AGENT),
    "finance.template_xlsx_download": Route(AGENT),
    "finance.batch_details": Route(AGENT, args={"batch_id": "batch"}),
    "finance.batch_outcomes": Route(AGENT, args={"batch_id": "batch"}),
    "finance.statement_page": Route(AGENT, query={"account": "account"}),
    "finance.statement_csv": Route(AGENT, query={"account": "account"}),
    "finance.statement_xlsx": Route(AGENT, query={"account": "account"}),
    # --- agents only ----------------------------------------------------------------------------------
    "finance.upload_batch": Route(
        AGENCY, ok={"POST": 303}, data={"POST": _batch_upload}, goes_to="/finance/refunds/batches/"
    ),
    "requests.cancel_request": Route(AGENCY, args={"number": "plain_request"}, ok={"POST": 303}),
    "requests.accept_request_quote": Route(
        AGENCY,
        args={"number": "request", "quote_id": "quote"},
        ok={"POST": 303},
        goes_to="/bookings/AT10000001/refund-info",
    ),
    "requests.decline_request_quote": Route(
        AGENCY, args={"number": "request", "quote_id": "quote"}, ok={"POST": 303}
    ),
    # --- operations and admins ------------------------------------------------------------------------
    "operations.refund_queue": Route(STAFF),
    "operations.refund_action": Route(
        STAFF,
        args={"refund_id": "refund", "action": Fixed("mark_submitted_to_airline")},
        ok={"POST": 303},
        ok_htmx={"POST": 200},  # the queue row again, in place
        data={"POST": lambda w: {"reference": "SQ-123"}},
    ),
    "request_ops.request_queue": Route(STAFF),
    "request_ops.take_request": Route(
        STAFF, args={"number": "plain_request"}, ok={"POST": 303}, ok_htmx={"POST": 200}
    ),
    "request_ops.change_request_status": Route(
        STAFF,
        args={"number": "plain_request", "action": Fixed("start")},
        ok={"POST": 303},
        ok_htmx={"POST": 200},
    ),
    "request_ops.post_request_quote": Route(
        STAFF,
        args={"number": "request"},
        ok={"POST": 303},
        data={"POST": lambda w: {"amount-P1": "250.00", "valid_until": w.today.isoformat()}},
    ),
    "baggage.baggage_queue_page": Route(STAFF),
    "baggage.baggage_action": Route(
        STAFF,
        args={"order_id": "baggage", "action": Fixed("confirm")},
        ok={"POST": 303},
        ok_htmx={"POST": 200},
    ),
    "changes.schedule_changes": Route(STAFF),
    # --- admins ---------------------------------------------------------------------------------------
    "admin.users": Route(ADMIN, ok={"GET": 200, "POST": 422}),  # an empty new-user form is refused
    "admin.edit_user": Route(
        ADMIN,
        args={"user_id": "user"},
        ok=POST_303,
        data={
            "POST": lambda w: {
                "name": "Renamed Agent",
                "role": "agent",
                "account": w.other.code,
                "active": "y",
            }
        },
    ),
    "admin.set_user_password": Route(
        ADMIN,
        args={"user_id": "user"},
        ok={"POST": 303},
        data={"POST": lambda w: {"password": "a temporary pass phrase"}},
    ),
    # Without SMTP the refusal is flashed on the user's page: a 303 there too.
    "admin.send_user_reset_link": Route(ADMIN, args={"user_id": "user"}, ok={"POST": 303}),
    "admin.set_user_status": Route(
        ADMIN, args={"user_id": "user", "change": Fixed("disable")}, ok={"POST": 303}
    ),
    "mfa.reset_second_factor": Route(
        ADMIN, args={"user_id": "user"}, ok={"POST": 303}, goes_to="/admin/users"
    ),
    "admin.accounts": Route(ADMIN, ok={"GET": 200, "POST": 422}),
    "admin.edit_account": Route(
        ADMIN,
        args={"account_id": "account"},
        ok=POST_303,
        data={
            "POST": lambda w: {
                "name": "Demo Travel Renamed",
                "service_fee": "15.00",
                "statement_emails": "finance@demo.example",
                "notice_emails": "",
            }
        },
    ),
    "admin.set_account_status": Route(
        ADMIN, args={"account_id": "account", "change": Fixed("disable")}, ok={"POST": 303}
    ),
    "admin.import_file": Route(ADMIN, ok={"GET": 200, "POST": 422}),  # no file chosen
    # No such import: the refusal is flashed on the import page.
    "admin.run_import_again": Route(
        ADMIN, args={"job_id": Fixed("999999")}, ok={"POST": 303}, goes_to="/admin/import"
    ),
    "admin.audit_trail": Route(ADMIN),
    # --- an agency's own admin ------------------------------------------------------------------------
    "agency.users": Route(AGENCY_ADMIN, ok={"GET": 200, "POST": 422}),  # an empty invitation is refused
    "agency.set_user_status": Route(
        AGENCY_ADMIN, args={"user_id": "agency_user", "change": Fixed("disable")}, ok={"POST": 303}
    ),
    "agency.send_reset_link": Route(AGENCY_ADMIN, args={"user_id": "agency_user"}, ok={"POST": 303}),
    "agency.set_password": Route(AGENCY_ADMIN, args={"user_id": "agency_user"}, ok={"POST": 303}),
    "help.index": Route(AGENT),
    "help.page": Route(AGENT, args={"slug": Fixed("refund")}),
    "agency.statement_delivery": Route(
        AGENCY_ADMIN,
        ok=POST_303,
        data={
            "POST": lambda w: {"statement_emails": "finance@demo.example", "statement_schedule": "monthly"}
        },
        goes_to="/agency/statements",
    ),
    "admin.audit_trail_csv": Route(ADMIN),
    "request_admin.request_categories": Route(ADMIN, ok={"GET": 200, "POST": 422}),
    "request_admin.rename_category": Route(
        ADMIN, args={"category_id": "category"}, ok={"GET": 200, "POST": 422}
    ),
    "request_admin.reorder_request_category": Route(
        ADMIN,
        args={"category_id": "category", "direction": Fixed("down")},
        ok={"POST": 303},
        ok_htmx={"POST": 200},
    ),
    "request_admin.set_request_category_active": Route(
        ADMIN,
        args={"category_id": "category", "change": Fixed("deactivate")},
        ok={"POST": 303},
        ok_htmx={"POST": 200},
    ),
    "request_admin.move_request_category": Route(
        ADMIN,
        args={"category_id": "category"},
        ok={"POST": 303},
        ok_htmx={"POST": 200},
        data={"POST": lambda w: {"group": str(w.category_other.parent_id)}},
    ),
    "request_admin.confirm_delete_category": Route(
        ADMIN, args={"category_id": "unused_category"}, ok={"GET": 200}
    ),
    "request_admin.delete_request_category": Route(
        ADMIN, args={"category_id": "unused_category"}, ok={"POST": 303}, ok_htmx={"POST": 200}
    ),
    "request_admin.refund_reasons": Route(ADMIN, ok={"GET": 200, "POST": 422}),
    "request_admin.rename_reason": Route(ADMIN, args={"reason_id": "reason"}, ok={"GET": 200, "POST": 422}),
    "request_admin.reorder_refund_reason": Route(
        ADMIN,
        args={"reason_id": "reason", "direction": Fixed("down")},
        ok={"POST": 303},
        ok_htmx={"POST": 200},
    ),
    "request_admin.set_refund_reason_active": Route(
        ADMIN,
        args={"reason_id": "reason", "change": Fixed("deactivate")},
        ok={"POST": 303},
        ok_htmx={"POST": 200},
    ),
    "finance.post_adjustment_view": Route(
        ADMIN,
        query={"account": "account"},
        ok={"POST": 303},
        data={"POST": lambda w: {"amount": "-12.50", "reason": "Goodwill correction"}},
    ),
}

# Who performs the positive control for each access level, and who must be refused (403).
PERMITTED = {
    PUBLIC: None,
    AGENT: "agent",
    AGENCY: "agent",
    STAFF: "ops",
    ADMIN: "admin",
    AGENCY_ADMIN: "agency_admin",
}
REFUSED = {
    PUBLIC: (),
    AGENT: (),
    AGENCY: ("ops", "admin"),
    STAFF: ("agent",),
    ADMIN: ("agent", "ops"),
    AGENCY_ADMIN: ("agent", "ops", "admin"),
}
