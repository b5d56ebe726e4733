"""The domain rules screens ask (issue 10): shown amounts, the credit note, segment states, the urgent
notice, request workflow questions and quote expiry."""

from datetime import UTC, date, datetime, timedelta

import pytest

from portal.domain.deadlines import needs_urgent_notice
from portal.domain.ledger import build_statement
from portal.domain.money import Money
from portal.domain.refunds import (
    AmountBasis,
    SegmentState,
    actual_amount,
    credit_note,
    segment_state,
    shown_amount,
)
from portal.domain.requests import RequestStatus, agency_may_cancel, agency_reply_reopens, quote_expired

NOW = datetime(2030, 1, 10, 12, tzinfo=UTC)


def sgd(value: str) -> Money:
    return Money(value, "SGD")


@pytest.mark.parametrize(
    ("status", "estimate", "airline", "credited", "shown", "basis"),
    [
        ("requested", "315", None, None, "315", AmountBasis.ESTIMATE),
        ("requested", None, None, None, None, AmountBasis.AIRLINE_DECIDES),
        ("received", "315", "300", None, "300", AmountBasis.FROM_AIRLINE),
        ("refunded", "315", "300", "285", "285", AmountBasis.CREDITED),
        ("refunded", "315", "300", None, "300", AmountBasis.TO_CARD),
        ("rejected", "315", "300", None, "315", AmountBasis.ESTIMATE),
    ],
)
def test_the_shown_amount_is_the_actual_once_known_else_the_estimate(
    status, estimate, airline, credited, shown, basis
):
    def m(v):
        return None if v is None else sgd(v)

    got = shown_amount(status, estimate=m(estimate), airline_amount=m(airline), credited_amount=m(credited))
    assert got == (m(shown), basis)
    actual, actual_basis = actual_amount(status, airline_amount=m(airline), credited_amount=m(credited))
    assert (actual is None) == (basis in (AmountBasis.ESTIMATE, AmountBasis.AIRLINE_DECIDES))


@pytest.mark.parametrize(
    ("path", "channel", "involuntary", "note"),
    [
        ("instant_quote", "deposit", False, "Less service fee SGD 15.00."),
        ("instant_quote", "deposit", True, ""),
        ("agent_request", "deposit", False, ""),
        ("instant_quote", "vcc", False, "Card order: closes as paid to the card."),
    ],
)
def test_credit_note_says_what_credit_balance_will_do(path, channel, involuntary, note):
    assert (
        credit_note(
            path=path,
            payment_channel=channel,
            airline_amount=sgd("300"),
            service_fee=sgd("15"),
            involuntary=involuntary,
        )
        == note
    )


def test_segment_states():
    before, after = NOW + timedelta(hours=1), NOW - timedelta(seconds=1)
    assert segment_state(segment_status="confirmed", departure_utc=before, now=NOW) is SegmentState.CONFIRMED
    assert segment_state(segment_status="confirmed", departure_utc=NOW, now=NOW) is SegmentState.FLOWN
    assert segment_state(segment_status="cancelled", departure_utc=after, now=NOW) is SegmentState.CANCELLED
    with pytest.raises(ValueError):
        segment_state(segment_status="gone", departure_utc=before, now=NOW)


def test_urgent_notice_is_the_next_24_hours():
    assert needs_urgent_notice(NOW, NOW)
    assert needs_urgent_notice(NOW + timedelta(hours=24), NOW)
    assert not needs_urgent_notice(NOW + timedelta(hours=24, seconds=1), NOW)
    assert not needs_urgent_notice(NOW - timedelta(seconds=1), NOW)


@pytest.mark.parametrize("status", list(RequestStatus), ids=str)
def test_agency_cancel_and_reply_follow_the_workflow_table(status):
    assert agency_may_cancel(status) == (status is RequestStatus.NEW)
    assert agency_reply_reopens(status) == (status is RequestStatus.PROCESSED)


def test_a_quote_is_good_through_its_whole_last_day_anywhere():
    last = date(2030, 1, 10)
    assert not quote_expired(last, datetime(2030, 1, 11, 12, tzinfo=UTC))
    assert quote_expired(last, datetime(2030, 1, 11, 12, 0, 1, tzinfo=UTC))


def test_statement_lines_carry_money():
    class Entry:
        def __init__(self, amount):
            self.amount = amount

    from decimal import Decimal

    s = build_statement("SGD", Decimal("10.00"), [Entry(Decimal("5.00")), Entry(Decimal("-20.00"))])
    assert s.opening_money == sgd("10") and s.closing_money == sgd("-5")
    assert [(line.amount_money, line.balance_money) for line in s.lines] == [
        (sgd("5"), sgd("15")),
        (sgd("-20"), sgd("-5")),
    ]
