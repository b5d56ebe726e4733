"""The agency API (/api/v1): every endpoint module registered on the one blueprint, and the OpenAPI
document flask-smorest generates from their schemas (served without a key at /api/v1/openapi.json).
Endpoints stay thin: validate with the schemas, load in the key user's Scope, call one service, return
what the response schema dumps."""

from __future__ import annotations

# Each module registers its routes on base.bp when imported; the order is the OpenAPI document's.
from portal.blueprints.api import (  # noqa: F401
    baggage,
    bookings,
    finance,
    refunds,
    requests,
    schedule_changes,
    webhook_endpoints,
)
from portal.blueprints.api.base import SECURITY_SCHEME, PortalApi, bp

__all__ = ["bp", "init_app"]


def init_app(app) -> PortalApi:
    """The API and its OpenAPI document (bearer keys on every operation)."""
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "security": [{SECURITY_SCHEME: []}],
            "info": {"description": "See the README's API section for a walk-through."},
        },
    )
    api = PortalApi(app)
    api.spec.components.security_scheme(
        SECURITY_SCHEME, {"type": "http", "scheme": "bearer", "description": "An API key: ptk_…"}
    )
    api.register_blueprint(bp)
    return api
