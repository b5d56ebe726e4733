"""The API's reference for people: /api/docs renders the OpenAPI document (/api/v1/openapi.json) with the
vendored Swagger UI (portal/static/vendor/swagger-ui; no CDN, and its start-up script is a file of ours, so
the page keeps the portal's `script-src 'self'` policy). Public, like the document it renders."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("apidocs", __name__)


@bp.route("/api/docs")
def docs():
    return render_template("apidocs/docs.html")
