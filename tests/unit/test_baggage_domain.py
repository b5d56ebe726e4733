"""Baggage rules (SPEC 6), table-driven: eligibility, the order's life, and how it is paid."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from portal.domain.baggage import (
    REFUSAL_MESSAGES,
    REFUSAL_SHORT,
    TRANSITIONS,
    BaggageAction,
    BaggageCase,
    BaggageStatus,
    BaggageTransitionError,
    Refusal,
    Settlement,
    coupon_refusal,
    next_status,
    refusal,
    settlement_for,
)

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)

OK = BaggageCase(
    booking_status="ticketed",
    passenger_type="ADT",
    segment_status="confirmed",
    departure_utc=NOW + timedelta(days=3),
    now=NOW,
    booking_airline="SQ",
    option_airline="SQ",
    option_active=True,
    option_currency="SGD",
    booking_currency="SGD",
)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, None),
        ({"passenger_type": "CHD"}, None),
        ({"departure_utc": NOW + timedelta(minutes=1)}, None),  # before departure, however close
        ({"booking_status": "cancelled"}, Refusal.BOOKING_NOT_TICKETED),
        ({"passenger_type": "INF"}, Refusal.INFANT),
        ({"segment_status": "cancelled"}, Refusal.SEGMENT_CANCELLED),
        ({"departure_utc": NOW}, Refusal.DEPARTED),
        ({"departure_utc": NOW - timedelta(hours=1)}, Refusal.DEPARTED),
        ({"in_live_refund": True}, Refusal.IN_REFUND),
        ({"already_ordered": True}, Refusal.ALREADY_ORDERED),
        ({"option_airline": "TR"}, Refusal.OTHER_AIRLINE),
        ({"option_active": False}, Refusal.OPTION_INACTIVE),
        ({"option_currency": "USD"}, Refusal.OTHER_CURRENCY),
        # When several rules are broken, the passenger and flight come before the option.
        ({"passenger_type": "INF", "option_airline": "TR"}, Refusal.INFANT),
        ({"booking_status": "cancelled", "passenger_type": "INF"}, Refusal.BOOKING_NOT_TICKETED),
        ({"segment_status": "cancelled", "departure_utc": NOW - timedelta(1)}, Refusal.SEGMENT_CANCELLED),
        ({"option_airline": "TR", "option_active": False}, Refusal.OTHER_AIRLINE),
    ],
)
def test_eligibility(change, expected):
    assert refusal(replace(OK, **change)) is expected


def test_every_refusal_has_a_message_and_a_short_label():
    for reason in Refusal:
        assert REFUSAL_MESSAGES[reason].endswith(".")
        assert REFUSAL_SHORT[reason]


def test_the_infant_message_says_why():
    assert "infant" in REFUSAL_MESSAGES[Refusal.INFANT]


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        coupon_refusal(
            booking_status="ticketed",
            passenger_type="ADT",
            segment_status="confirmed",
            departure_utc=datetime(2027, 1, 1),
            now=NOW,
        )


@pytest.mark.parametrize("status", list(BaggageStatus))
@pytest.mark.parametrize("action", list(BaggageAction))
def test_every_status_and_action_pair(status, action):
    expected = {
        (BaggageStatus.REQUESTED, BaggageAction.CONFIRM): BaggageStatus.CONFIRMED,
        (BaggageStatus.REQUESTED, BaggageAction.FAIL): BaggageStatus.FAILED,
    }.get((status, action))
    if expected is None:
        with pytest.raises(BaggageTransitionError) as caught:
            next_status(status.value, action.value)
        assert "cannot be" in str(caught.value)
    else:
        assert next_status(status.value, action.value) is expected
    assert TRANSITIONS.get((status, action)) is expected


def test_a_confirmed_order_cannot_be_confirmed_twice():
    with pytest.raises(BaggageTransitionError, match="already confirmed; it cannot be confirmed again"):
        next_status("confirmed", "confirm")


@pytest.mark.parametrize(
    ("channel", "expected"),
    [("deposit", Settlement.BALANCE), ("vcc", Settlement.CARD), ("vcc_passthrough", Settlement.CARD)],
)
def test_settlement_by_payment_channel(channel, expected):
    assert settlement_for(channel) is expected


def test_unknown_payment_channel_is_an_error():
    with pytest.raises(ValueError):
        settlement_for("cash")
