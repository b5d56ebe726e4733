"""What live refunds make of a booking (issue 13, item 4): for a low-cost carrier cancelling is
refunding, so an operator refund cancels its coupons; every carrier shows partly refunded bookings."""

from datetime import UTC, datetime, timedelta

import pytest

from portal.domain.refunds import (
    BookingRefundState,
    SegmentState,
    booking_refund_state,
    coupon_cancelled_by_refund,
    segment_cancelled_by_refunds,
    segment_state,
    shown_booking_status,
)

OPERATOR, AGENT = "instant_quote", "agent_request"


@pytest.mark.parametrize(
    ("carrier", "path", "cancelled"),
    [
        ("LCC", "instant_quote", True),
        ("LCC", "request_quote", True),
        ("LCC", "agent_request", False),
        ("LCC", "refund_claim", False),
        ("LCC", None, False),
        ("FSC", "instant_quote", False),
        ("FSC", None, False),
    ],
)
def test_a_coupon_is_cancelled_by_a_live_operator_refund_of_a_low_cost_carrier(carrier, path, cancelled):
    assert coupon_cancelled_by_refund(carrier_type=carrier, refund_path=path) is cancelled


def test_a_segment_is_cancelled_when_every_passengers_coupon_on_it_is():
    assert segment_cancelled_by_refunds(carrier_type="LCC", refund_paths=[OPERATOR, "request_quote"])
    assert not segment_cancelled_by_refunds(carrier_type="LCC", refund_paths=[OPERATOR, None])
    assert not segment_cancelled_by_refunds(carrier_type="LCC", refund_paths=[OPERATOR, AGENT])
    assert not segment_cancelled_by_refunds(carrier_type="FSC", refund_paths=[OPERATOR, OPERATOR])
    assert not segment_cancelled_by_refunds(carrier_type="LCC", refund_paths=[])


def test_a_segment_cancelled_by_refunds_shows_cancelled_even_after_its_departure():
    now = datetime(2030, 1, 10, tzinfo=UTC)
    later, earlier = now + timedelta(days=1), now - timedelta(days=1)
    assert segment_state(segment_status="confirmed", departure_utc=later, now=now) is SegmentState.CONFIRMED
    for departure in (later, earlier):
        state = segment_state(
            segment_status="confirmed", departure_utc=departure, now=now, cancelled_by_refund=True
        )
        assert state is SegmentState.CANCELLED


@pytest.mark.parametrize(
    ("carrier", "count", "paths", "state"),
    [
        ("LCC", 4, [], BookingRefundState.NONE),
        ("FSC", 4, [], BookingRefundState.NONE),
        ("LCC", 4, [OPERATOR] * 2, BookingRefundState.PARTLY_REFUNDED),
        ("FSC", 4, [OPERATOR] * 3, BookingRefundState.PARTLY_REFUNDED),
        ("FSC", 4, [AGENT], BookingRefundState.PARTLY_REFUNDED),
        ("LCC", 4, [OPERATOR] * 4, BookingRefundState.CANCELLED),
        ("LCC", 4, ["request_quote", OPERATOR, OPERATOR, OPERATOR], BookingRefundState.CANCELLED),
        ("LCC", 4, [OPERATOR] * 3 + [AGENT], BookingRefundState.REFUNDED),
        ("LCC", 2, [AGENT] * 2, BookingRefundState.REFUNDED),
        ("FSC", 4, [OPERATOR] * 4, BookingRefundState.REFUNDED),
    ],
)
def test_the_refund_state_of_a_booking(carrier, count, paths, state):
    assert booking_refund_state(carrier_type=carrier, coupon_count=count, live_refund_paths=paths) is state


def test_more_refunded_coupons_than_the_booking_has_is_a_bug_not_a_state():
    with pytest.raises(ValueError):
        booking_refund_state(carrier_type="FSC", coupon_count=1, live_refund_paths=[OPERATOR] * 2)
    with pytest.raises(ValueError):
        booking_refund_state(carrier_type="XYZ", coupon_count=1, live_refund_paths=[OPERATOR])


@pytest.mark.parametrize(
    ("status", "refund_state", "shown"),
    [
        ("ticketed", "none", "ticketed"),
        ("ticketed", "partly_refunded", "partly_refunded"),
        ("ticketed", "refunded", "refunded"),
        ("ticketed", "cancelled", "cancelled"),
        ("cancelled", "none", "cancelled"),
        ("cancelled", "refunded", "cancelled"),
    ],
)
def test_the_status_a_booking_shows(status, refund_state, shown):
    assert shown_booking_status(status, refund_state) == shown
