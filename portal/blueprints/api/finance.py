"""The account's money over the API: the balance per currency, and the statement of a period (the
Finance → Balance statement page's: opening balance, every ledger line, closing balance)."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app

from portal.blueprints.api.base import bp, problems, scope
from portal.blueprints.api.finance_schemas import BalanceSchema, StatementQuery, StatementSchema
from portal.blueprints.api.schemas import Strict
from portal.domain.ledger import period_bounds
from portal.security import found
from portal.services.accounts import get_account
from portal.services.finance import balance_list, statement


def _account():
    """The key's account (staff have no keys in v1; a key without an account finds nothing)."""
    return found(get_account(scope().account_id))


@bp.route("/balance", methods=["GET"])
@bp.arguments(Strict, location="query", unknown=ma.RAISE)
@bp.response(200, BalanceSchema)
@problems(401, 404, 422, 429)
def get_balance(_no_parameters):
    """Your account's balance per currency, as the portal's header shows it."""
    return {"balances": balance_list(_account())}


@bp.route("/statement", methods=["GET"])
@bp.arguments(StatementQuery, location="query", unknown=ma.RAISE)
@bp.response(200, StatementSchema)
@problems(401, 404, 422, 429)
def get_statement(query):
    """The statement of whole days `from` to `to` (the portal's time zone), per currency: the opening
    balance, every ledger line with the balance after it, and the closing balance."""
    account = _account()
    zone = current_app.config["TIMEZONE"]
    begin, end = period_bounds(query["date_from"], query["date_to"], zone)
    return {
        "date_from": query["date_from"],
        "date_to": query["date_to"],
        "time_zone": zone,
        "statements": statement(account, begin, end),
    }
