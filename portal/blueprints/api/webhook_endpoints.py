"""Webhook endpoints over the API: add (the secret shown once), list, delete."""

from __future__ import annotations

import marshmallow as ma

from portal.blueprints.api.base import Shown, actor, after_cursor, bp, cursor_page, problems, scope
from portal.blueprints.api.idempotency import idempotent
from portal.blueprints.api.schemas import (
    ListQuery,
    WebhookEndpointCreated,
    WebhookEndpointInput,
    WebhookEndpointPage,
)
from portal.errors import problem_for
from portal.security import found
from portal.services.webhooks import create_endpoint, delete_endpoint, endpoints_after, load_endpoint
from portal.uow import attempt


@bp.route("/webhook-endpoints", methods=["POST"])
@idempotent
@bp.arguments(WebhookEndpointInput)
@bp.response(201, WebhookEndpointCreated)
@problems(401, 403, 422, 429)
def create_webhook_endpoint(body):
    """A new endpoint of your account: the events you name are POSTed to it, signed with the secret this
    answer shows once. Only https:// URLs on public addresses."""
    with attempt() as outcome:
        endpoint, secret = create_endpoint(actor(), scope(), body["url"], body["events"])
    if outcome.failed:
        return problem_for(outcome.error)
    return Shown(endpoint, secret=secret)


@bp.route("/webhook-endpoints", methods=["GET"])
@bp.arguments(ListQuery, location="query", unknown=ma.RAISE, as_kwargs=True)
@bp.response(200, WebhookEndpointPage)
@problems(401, 429)
def list_webhook_endpoints(limit, cursor=None):
    """Your account's endpoints, newest first, a page at a time."""
    return cursor_page(endpoints_after(scope(), after_cursor(cursor), limit))


@bp.route("/webhook-endpoints/<int:endpoint_id>", methods=["DELETE"])
@bp.response(204)
@problems(401, 404, 409, 429)
def delete_webhook_endpoint(endpoint_id):
    """Stop sending to an endpoint. Another account's is a 404, as an unknown one is."""
    endpoint = found(load_endpoint(endpoint_id, scope()))
    with attempt() as outcome:
        delete_endpoint(endpoint, actor=actor())
    if outcome.failed:
        return problem_for(outcome.error)
    return None
