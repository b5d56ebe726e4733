"""API keys on the user's own page: create one (shown once), see when each was last used, revoke. An
agency admin also sees and revokes the keys of its own account's users (another account's is a 404)."""

from flask import Blueprint, url_for
from flask_login import current_user, login_required

from portal.blueprints.api_keys.forms import ApiKeyForm, WebhookForm
from portal.forms import ActionForm
from portal.htmx import render
from portal.models.accounts import AGENCY_ROLES
from portal.security import current_scope, found, roles_required
from portal.services.api_keys import account_keys, create_api_key, load_key, revoke_api_key, user_keys
from portal.services.webhooks import (
    account_endpoints,
    create_endpoint,
    delete_endpoint,
    endpoint_deliveries,
    load_delivery,
    load_endpoint,
    redeliver,
)
from portal.uow import attempt, button

bp = Blueprint("api_keys", __name__, url_prefix="/account/api-keys")


agency_required = roles_required(*AGENCY_ROLES)


def _page(form=None, new_key=None, status=200, webhook_form=None, new_endpoint=None):
    return render(
        "api_keys/keys.html",
        form=form or ApiKeyForm(formdata=None),
        keys=user_keys(current_user),
        account_keys=account_keys(current_user),
        new_key=new_key,
        action=ActionForm(),
        endpoints=account_endpoints(current_scope()),
        webhook_form=webhook_form or WebhookForm(formdata=None),
        new_endpoint=new_endpoint,
    ), status


@bp.route("", methods=["GET", "POST"])
@login_required
def api_keys():
    form = ApiKeyForm()
    if not form.is_submitted():
        return _page()
    if not form.validate():
        return _page(form=form, status=422)
    with attempt() as outcome:
        key, secret = create_api_key(current_user, form.name.data, by=current_user)
    if outcome.failed:
        outcome.to_form(form) or form.name.errors.append(outcome.message)
        return _page(form=form, status=outcome.status)
    # Shown on this answer only (never stored, never redirected through the session).
    return _page(new_key=(key, secret))


@bp.post("/<int:key_id>/revoke")
@login_required
def revoke_key(key_id):
    key = found(load_key(key_id, current_user))
    return button(
        lambda: revoke_api_key(key, by=current_user),
        lambda: f"Key {key.name} revoked: calls with it are refused from now on.",
        url_for("api_keys.api_keys"),
    )


# --- webhook endpoints: the account's, for every one of its people ---------------------------------------


@bp.post("/webhooks")
@agency_required
def add_webhook():
    form = WebhookForm()
    if not form.validate():
        return _page(webhook_form=form, status=422)
    with attempt() as outcome:
        endpoint, secret = create_endpoint(current_user, current_scope(), form.url.data, form.events.data)
    if outcome.failed:
        outcome.to_form(form) or form.url.errors.append(outcome.message)
        return _page(webhook_form=form, status=outcome.status)
    # The signing secret is shown on this answer only, like a new key.
    return _page(new_endpoint=(endpoint, secret))


@bp.post("/webhooks/<int:endpoint_id>/delete")
@agency_required
def delete_webhook(endpoint_id):
    endpoint = found(load_endpoint(endpoint_id, current_scope()))
    return button(
        lambda: delete_endpoint(endpoint, actor=current_user),
        lambda: f"Endpoint {endpoint.url} deleted: it gets no more events.",
        url_for("api_keys.api_keys"),
    )


@bp.get("/webhooks/<int:endpoint_id>")
@agency_required
def webhook_log(endpoint_id):
    endpoint = found(load_endpoint(endpoint_id, current_scope()))
    return render(
        "api_keys/webhook_log.html",
        endpoint=endpoint,
        deliveries=endpoint_deliveries(endpoint),
        action=ActionForm(),
    )


@bp.post("/webhook-deliveries/<int:delivery_id>/redeliver")
@agency_required
def redeliver_webhook(delivery_id):
    delivery = found(load_delivery(delivery_id, current_scope()))
    return button(
        lambda: redeliver(delivery, actor=current_user),
        lambda: f"Event {delivery.event.public_id} will be sent again shortly.",
        url_for("api_keys.webhook_log", endpoint_id=delivery.endpoint_id),
    )
