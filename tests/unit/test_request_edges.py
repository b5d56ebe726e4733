"""Issue 13, service requests: the 72-hour rule against an open quote, cancelling a request that created
a refund, the optional description of an Agent & Passenger Initiated Refund, the quote's ceiling."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from portal.domain.money import Money
from portal.domain.refunds import RefundPath
from portal.domain.requests import (
    CategoryBehaviour,
    QuoteError,
    RequestStatus,
    agency_may_cancel,
    auto_complete_at,
    cancel_refusal,
    check_quote_ceiling,
    created_by_request,
    description_required,
    may_auto_complete,
    quote_expires_at,
)

PROCESSED_AT = datetime(2030, 1, 1, 2, 0, tzinfo=UTC)


def test_without_a_quote_a_processed_request_completes_72_hours_after_processing():
    due = PROCESSED_AT + timedelta(hours=72)
    assert auto_complete_at("processed", PROCESSED_AT) == due
    assert not may_auto_complete("processed", PROCESSED_AT, None, due - timedelta(seconds=1))
    assert may_auto_complete("processed", PROCESSED_AT, None, due)


def test_an_open_quote_holds_the_request_until_72_hours_after_it_expires():
    valid_until = date(2030, 1, 8)  # a 7-day quote
    expires = quote_expires_at(valid_until)
    due = expires + timedelta(hours=72)
    assert auto_complete_at("processed", PROCESSED_AT, valid_until) == due
    assert not may_auto_complete("processed", PROCESSED_AT, valid_until, PROCESSED_AT + timedelta(hours=72))
    assert not may_auto_complete("processed", PROCESSED_AT, valid_until, expires)
    assert not may_auto_complete("processed", PROCESSED_AT, valid_until, due - timedelta(seconds=1))
    assert may_auto_complete("processed", PROCESSED_AT, valid_until, due)


def test_a_quote_that_expired_before_processing_changes_nothing():
    assert auto_complete_at("processed", PROCESSED_AT, date(2029, 12, 1)) == PROCESSED_AT + timedelta(
        hours=72
    )


@pytest.mark.parametrize("status", [s for s in RequestStatus if s is not RequestStatus.PROCESSED], ids=str)
def test_only_processed_requests_complete_automatically(status):
    assert auto_complete_at(status, PROCESSED_AT) is None
    assert not may_auto_complete(status, PROCESSED_AT, None, PROCESSED_AT + timedelta(days=30))


def test_a_request_that_created_a_refund_cannot_be_cancelled_and_says_why():
    assert agency_may_cancel("new") and cancel_refusal("new") is None
    assert not agency_may_cancel("new", ["RF00000007"])
    reason = cancel_refusal("new", ["RF00000007"])
    assert "RF00000007" in reason and "cannot be withdrawn" in reason
    # Past New the workflow table refuses anyway; the refund reason is not shown then.
    assert cancel_refusal("in_process", ["RF00000007"]) is None
    assert not agency_may_cancel("in_process")


def test_the_refunds_a_request_creates_are_its_quote_and_its_submit_paths():
    assert created_by_request(RefundPath.REQUEST_QUOTE) and created_by_request(RefundPath.AGENT_REQUEST)
    assert not created_by_request(RefundPath.INSTANT_QUOTE)  # a follow-up's request only links it


@pytest.mark.parametrize("behaviour", list(CategoryBehaviour), ids=str)
def test_only_the_agent_refund_category_makes_the_description_optional(behaviour):
    assert description_required(behaviour) == (behaviour is not CategoryBehaviour.AGENT_REFUND)


def test_the_description_is_required_while_no_category_is_chosen():
    assert description_required(None)


def test_a_quote_line_may_not_exceed_the_fare_and_taxes():
    ceiling = Money("505.50", "SGD")
    check_quote_ceiling(Decimal("505.50"), ceiling, "TAN/WEI MING", field="amount-P1")
    with pytest.raises(QuoteError) as refused:
        check_quote_ceiling(Decimal("505.51"), ceiling, "TAN/WEI MING", field="amount-P1")
    assert refused.value.field == "amount-P1"
    assert "SGD 505.50" in str(refused.value) and "TAN/WEI MING" in str(refused.value)
