"""The balance and the statement over the API (the Finance → Balance statement page's figures)."""

from __future__ import annotations

from datetime import date

import marshmallow as ma
from marshmallow import fields, validate

from portal.blueprints.api.schemas import Instant, MoneySchema, Strict, money

MAX_STATEMENT_DAYS = 366  # a year at most per call; longer periods are several calls
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


class BalanceSchema(ma.Schema):
    balances = fields.List(
        fields.Nested(MoneySchema),
        required=True,
        metadata={
            "description": "One per currency of your ledger (zero in your account's currency when nothing "
            "was ever posted): refund credits less baggage debits, with adjustments."
        },
    )


def _day(key: str, description: str):
    return fields.Date(
        required=True,
        data_key=key,
        validate=validate.Range(min=FIRST_DAY, max=LAST_DAY),
        metadata={"description": description},
    )


class StatementQuery(Strict):
    # `from` is a Python keyword: the attributes are date_from and date_to.
    date_from = _day("from", "The first day (YYYY-MM-DD, in the portal's time zone).")
    date_to = _day("to", "The last day, included (YYYY-MM-DD); at most 366 days after `from`.")

    @ma.validates_schema
    def _a_period(self, data, **kwargs):
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            raise ma.ValidationError("The end date is before the start date.", "to")
        if start and end and (end - start).days >= MAX_STATEMENT_DAYS:
            raise ma.ValidationError(f"Ask for at most {MAX_STATEMENT_DAYS} days at a time.", "to")


class StatementLineSchema(ma.Schema):
    id = fields.Integer(required=True, attribute="entry.entry.id")
    created_at = Instant(required=True, attribute="entry.entry.created_at")
    kind = fields.String(
        required=True,
        attribute="entry.entry.kind",
        metadata={"description": "refund_credit, baggage_debit or adjustment"},
    )
    description = fields.String(required=True, attribute="entry.entry.description")
    refund_code = fields.String(required=True, allow_none=True, attribute="entry.refund_code")
    order_number = fields.String(required=True, allow_none=True, attribute="entry.order_number")
    amount = money("amount_money", description="Positive credits the balance, negative debits it.")
    balance = money("balance_money", description="The balance after this line.")


class CurrencyStatementSchema(ma.Schema):
    currency = fields.String(required=True, metadata={"example": "SGD"})
    opening_balance = money("opening_money", description="At the start of the first day.")
    credits = money("credits_money")
    debits = money("debits_money")
    closing_balance = money("closing_money", description="At the end of the last day.")
    lines = fields.List(
        fields.Nested(StatementLineSchema), required=True, metadata={"description": "Oldest first."}
    )


class StatementSchema(ma.Schema):
    date_from = fields.Date(required=True, data_key="from")
    date_to = fields.Date(required=True, data_key="to")
    time_zone = fields.String(
        required=True,
        metadata={"description": "The zone of the period's days (IANA)", "example": "Asia/Singapore"},
    )
    statements = fields.List(
        fields.Nested(CurrencyStatementSchema),
        required=True,
        metadata={"description": "One per currency of your ledger, your account's own always."},
    )
