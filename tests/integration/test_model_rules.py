"""Model properties that screens print ask the domain: one test per property (issue 10)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError

from portal.domain.batch import OUTCOME_LABELS, BatchOutcome
from portal.domain.deadlines import OVERDUE_AFTER
from portal.domain.money import Money
from portal.domain.refunds import RefundAction, RefundPath, SegmentState, allowed_actions
from portal.models import Account, LedgerEntry
from portal.services.auth import AuthError, create_account
from portal.services.refunds import apply_action, create_refund, parse_coupon_keys
from tests.conftest import (
    credit_refund,
    make_refund_batch,
    order_baggage,
    quote_service_request,
    raise_service_request,
    run_sql,
)


def _refund(world, booking=None, path=RefundPath.INSTANT_QUOTE):
    booking = booking or world.booking
    return create_refund(booking, parse_coupon_keys(booking, ["P1.S1", "P1.S2"]), path=path, user=world.agent)


def test_refund_actions_are_the_domains(db, world):
    refund = _refund(world)
    assert (
        refund.actions
        == allowed_actions("requested")
        == (
            RefundAction.MARK_SUBMITTED_TO_AIRLINE,
            RefundAction.REJECT,
        )
    )
    apply_action(refund, "reject", user=world.ops, reason="x")
    assert refund.actions == ()


def test_refund_is_overdue_from_four_hours_while_requested(db, world):
    refund = _refund(world)
    due = refund.created_at + OVERDUE_AFTER
    assert not refund.is_overdue(due - timedelta(seconds=1))
    assert refund.is_overdue(due)
    apply_action(refund, "mark_submitted_to_airline", user=world.ops, reference="R")
    assert not refund.is_overdue(due + timedelta(days=1))


def test_refund_group_label_names_the_operator(db, world):
    assert _refund(world).group_label("Atlas") == "Atlas Initiated"


def test_agent_refund_group_label(db, world, make):
    booking = make.booking(order_number="AT30000002", account="DEMO")
    refund = _refund(world, booking, RefundPath.AGENT_REQUEST)
    assert refund.group_label("Atlas") == "Agent & Passenger Initiated"


def test_refund_amounts_are_money_estimate_then_actual(db, world):
    refund = _refund(world)
    estimate = refund.estimate
    assert isinstance(estimate, Money) and estimate == Money("315.00", "SGD")
    assert (refund.shown_amount, refund.shown_amount_note, refund.shown_amount_title) == (
        estimate,
        "est.",
        "Estimated amount",
    )
    assert refund.actual_amount is None
    apply_action(refund, "mark_submitted_to_airline", user=world.ops, reference="R")
    apply_action(
        refund,
        "record_airline_refund",
        user=world.ops,
        amount="300.00",
        refunded_on=date.today(),
        reference="P",
    )
    assert refund.shown_amount == refund.actual_amount == Money("300.00", "SGD")
    assert refund.shown_amount_note == "from airline"
    assert refund.credit_preview == "Less service fee SGD 15.00."
    credit_refund(db, refund, world.ops)
    assert refund.shown_amount == Money("285.00", "SGD")
    assert (refund.shown_amount_note, refund.shown_amount_title) == ("credited", "Refunded amount")


def test_card_refund_closes_to_the_card(db, world, make):
    booking = make.booking(order_number="AT30000003", account="DEMO", payment_channel="vcc")
    refund = _refund(world, booking)
    apply_action(refund, "mark_submitted_to_airline", user=world.ops, reference="R")
    apply_action(
        refund,
        "record_airline_refund",
        user=world.ops,
        amount="300.00",
        refunded_on=date.today(),
        reference="P",
    )
    assert refund.credit_preview == "Card order: closes as paid to the card."
    credit_refund(db, refund, world.ops)
    assert (refund.shown_amount, refund.shown_amount_note) == (Money("300.00", "SGD"), "to card")


def test_booking_pays_by_card_from_the_settlement_table(db, world, make):
    assert not world.booking.pays_by_card
    for n, channel in enumerate(["vcc", "vcc_passthrough"]):
        booking = make.booking(order_number=f"AT3100000{n}", account="DEMO", payment_channel=channel)
        assert booking.pays_by_card


def test_booking_fares_are_money(db, world):
    booking = world.booking
    [p] = booking.passengers
    assert p.base_money == Money("420.00", "SGD") and p.taxes_money == Money("85.50", "SGD")
    assert p.refundable_taxes_money == Money("60.00", "SGD")
    assert p.cancellation_fee_money == Money("150.00", "SGD")
    assert isinstance(p.change_fee_money, Money)
    assert booking.total_fare() == Money("505.50", "SGD")


def test_urgent_notice_and_segment_state(db, world, make):
    soon = datetime.now(UTC) + timedelta(hours=5)
    booking = make.booking(order_number="AT30000004", account="DEMO", departure=soon)
    now = datetime.now(UTC)
    first = booking.segments[0]
    assert booking.urgent_segment(now) is first
    assert booking.urgent_segment(now - timedelta(days=2)) is None
    assert first.state(now) is SegmentState.CONFIRMED and first.state_label(now) == "Confirmed"
    assert first.state(soon) is SegmentState.FLOWN and first.is_flown(soon)
    cancelled = make.booking(order_number="AT30000005", account="DEMO", departure=soon, status="cancelled")
    assert cancelled.urgent_segment(now) is None


def test_request_quote_expiry_total_and_agency_actions(db, world):
    req = raise_service_request(db, world.booking, world.agent)
    assert req.agency_may_cancel and not req.agency_reply_reopens
    quote = quote_service_request(db, req, world.ops, valid_until=date.today() + timedelta(days=1))
    assert not req.agency_may_cancel and req.agency_reply_reopens  # Processed: a reply reopens it
    assert quote.total == Money("300.00", "SGD")
    assert [line.amount_money for line in quote.lines] == [Money("300.00", "SGD")]
    assert not quote.is_expired(datetime.now(UTC))
    assert quote.is_expired(datetime.now(UTC) + timedelta(days=4))


def test_ledger_baggage_and_account_money(db, world):
    refund = credit_refund(db, _refund(world), world.ops)
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.refund_id == refund.id))
    assert entry.money == Money("285.00", "SGD")
    assert world.demo.service_fee_money == Money("15.00", "SGD")
    order = order_baggage(db, world.other_booking, world.other_agent)
    assert isinstance(order.price_money, Money)
    assert order.price_money == Money(order.price, "SGD") == order.option.price_money


@pytest.mark.parametrize("table", ["account", "booking"])
@pytest.mark.parametrize("currency", ["sgd", "KWD", "BHD", "S1D", "SG", "SGDX"])
def test_currency_columns_refuse_bad_codes(db, world, table, currency):
    db.session.commit()
    # PostgreSQL's VARCHAR(3) refuses a fourth letter before the CHECK (DataError); SQLite has only the CHECK.
    refused = (
        pytest.raises(DBAPIError)
        if len(currency) > 3
        else pytest.raises(IntegrityError, match="currency_supported")
    )
    with refused:
        run_sql(db, f"UPDATE {table} SET currency = '{currency}'")
    assert db.session.scalar(select(Account.currency).where(Account.code == "OTHER")) == "SGD"
    run_sql(db, f"UPDATE {table} SET currency = 'JPY'")  # a well-formed code the portal holds


@pytest.mark.parametrize(
    ("currency", "fee", "message"),
    [("KWD", None, "does not support KWD"), ("JPY", Decimal("10.50"), "JPY can have no decimals")],
)
def test_accounts_refuse_currencies_and_fees_the_portal_cannot_hold(db, currency, fee, message):
    with pytest.raises(AuthError, match=message):
        create_account("KW1", "Kuwait Travel", currency, service_fee=fee)


def test_a_yen_account_keeps_whole_yen(db):
    account = create_account("JP1", "Tokyo Travel", "jpy", service_fee=Decimal("500"))
    db.session.commit()
    assert account.service_fee_money == Money("500", "JPY") and str(account.service_fee_money) == "JPY 500"


def test_batch_outcome_counts_come_from_the_domain(db, world):
    batch = make_refund_batch(db, world.agent, "AT10000001", "AT10000001", "ZZ99999999")
    counts = batch.outcome_counts
    assert list(counts) == [OUTCOME_LABELS[o] for o in BatchOutcome]
    assert counts[OUTCOME_LABELS[BatchOutcome.CREATED]] == 1
    assert counts[OUTCOME_LABELS[BatchOutcome.ALREADY_REFUNDING]] == 1
    assert counts[OUTCOME_LABELS[BatchOutcome.UNKNOWN_ORDER]] == 1
    assert sum(counts.values()) == 3


def test_request_is_open_asks_the_workflow(db, world):
    req = raise_service_request(db, world.booking, world.agent)
    assert req.is_open
    req.status = "completed"
    assert not req.is_open
