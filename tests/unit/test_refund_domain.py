"""Unit tests for portal.domain.refunds: every table written out, every quote case with worked figures."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from portal.domain.money import CurrencyMismatch, Money
from portal.domain.refunds import (
    ACTION_LABELS,
    COUPON_STATE_REASONS,
    FINAL_STATUSES,
    PATH_LABELS,
    QUOTE_CASE_LABELS,
    STATUS_LABELS,
    CouponState,
    FareFacts,
    NothingBecause,
    PassengerQuote,
    QuoteCase,
    RefundAction,
    RefundPath,
    RefundStatus,
    RefundTransitionError,
    action_label,
    allowed_actions,
    balance_credit,
    build_quote,
    cancel_refund_path,
    coupon_state,
    first_status,
    is_operator_path,
    next_status,
    nothing_left_reason,
    path_group_label,
    path_refusal,
    quote_passenger,
    refund_offered,
)

S = RefundStatus
A = RefundAction
P = RefundPath


def sgd(amount: str) -> Money:
    return Money(Decimal(amount), "SGD")


# --- Names that are stored or shown ------------------------------------------------------------------


def test_stored_values_and_their_order():
    assert [s.value for s in RefundStatus] == ["requested", "submitted", "received", "refunded", "rejected"]
    assert [a.value for a in RefundAction] == [
        "mark_submitted_to_airline",
        "record_airline_refund",
        "credit_balance",
        "reject",
    ]
    assert [p.value for p in RefundPath] == [
        "instant_quote",
        "request_quote",
        "agent_request",
        "agent_batch",
        "refund_claim",
        "cancel_refund",
        "free_refund",
    ]
    assert [c.value for c in CouponState] == ["refundable", "flown", "in_refund", "booking_cancelled"]
    assert [c.value for c in QuoteCase] == ["exact", "cannot_quote", "non_refundable"]


def test_labels():
    assert STATUS_LABELS == {
        S.REQUESTED: "Requested",
        S.SUBMITTED: "Submitted to airline",
        S.RECEIVED: "Airline refund received",
        S.REFUNDED: "Refunded",
        S.REJECTED: "Rejected",
    }
    assert ACTION_LABELS == {
        A.MARK_SUBMITTED_TO_AIRLINE: "Mark submitted to airline",
        A.RECORD_AIRLINE_REFUND: "Record airline refund",
        A.CREDIT_BALANCE: "Credit balance",
        A.REJECT: "Reject",
    }
    assert PATH_LABELS == {
        P.INSTANT_QUOTE: "Refund button (instant quote)",
        P.REQUEST_QUOTE: "Cancel & Refund request (quoted)",
        P.AGENT_REQUEST: "Agent & Passenger Initiated request",
        P.AGENT_BATCH: "Batch upload",
        P.REFUND_CLAIM: "Refund Claim",
        P.CANCEL_REFUND: "Cancel & Refund (operator refund)",
        P.FREE_REFUND: "Free refund (airline schedule change)",
    }
    assert QUOTE_CASE_LABELS[QuoteCase.CANNOT_QUOTE] == (
        "Partial refund: the amount the airline actually refunds applies"
    )
    assert set(QUOTE_CASE_LABELS) == set(QuoteCase)
    assert all(QUOTE_CASE_LABELS.values())


# --- Transitions: every (status, action) pair ----------------------------------------------------------

REFUSED = None
TRANSITION_TABLE = [
    (S.REQUESTED, A.MARK_SUBMITTED_TO_AIRLINE, S.SUBMITTED),
    (S.REQUESTED, A.RECORD_AIRLINE_REFUND, REFUSED),
    (S.REQUESTED, A.CREDIT_BALANCE, REFUSED),
    (S.REQUESTED, A.REJECT, S.REJECTED),
    (S.SUBMITTED, A.MARK_SUBMITTED_TO_AIRLINE, REFUSED),
    (S.SUBMITTED, A.RECORD_AIRLINE_REFUND, S.RECEIVED),
    (S.SUBMITTED, A.CREDIT_BALANCE, REFUSED),
    (S.SUBMITTED, A.REJECT, S.REJECTED),
    (S.RECEIVED, A.MARK_SUBMITTED_TO_AIRLINE, REFUSED),
    (S.RECEIVED, A.RECORD_AIRLINE_REFUND, REFUSED),
    (S.RECEIVED, A.CREDIT_BALANCE, S.REFUNDED),
    (S.RECEIVED, A.REJECT, S.REJECTED),
    (S.REFUNDED, A.MARK_SUBMITTED_TO_AIRLINE, REFUSED),
    (S.REFUNDED, A.RECORD_AIRLINE_REFUND, REFUSED),
    (S.REFUNDED, A.CREDIT_BALANCE, REFUSED),
    (S.REFUNDED, A.REJECT, REFUSED),
    (S.REJECTED, A.MARK_SUBMITTED_TO_AIRLINE, REFUSED),
    (S.REJECTED, A.RECORD_AIRLINE_REFUND, REFUSED),
    (S.REJECTED, A.CREDIT_BALANCE, REFUSED),
    (S.REJECTED, A.REJECT, REFUSED),
]


def test_transition_table_covers_every_pair_once():
    pairs = [(status, action) for status, action, _ in TRANSITION_TABLE]
    assert sorted(pairs) == sorted((s, a) for s in RefundStatus for a in RefundAction)


@pytest.mark.parametrize(("status", "action", "expected"), TRANSITION_TABLE)
def test_next_status(status, action, expected):
    if expected is REFUSED:
        with pytest.raises(RefundTransitionError) as caught:
            next_status(status, action)
        assert caught.value.status is status
        assert caught.value.action is action
        assert STATUS_LABELS[status] in str(caught.value)
    else:
        assert next_status(status, action) is expected
        # As stored in the database: plain strings work too.
        assert next_status(status.value, action.value) is expected


def test_transition_error_message_is_a_sentence_for_the_user():
    with pytest.raises(RefundTransitionError, match=r"^A refund that is Refunded cannot be rejected\.$"):
        next_status(S.REFUNDED, A.REJECT)


def test_transition_error_from_plain_strings_is_typed():
    with pytest.raises(RefundTransitionError) as caught:
        next_status("rejected", "credit_balance")
    assert caught.value.status is S.REJECTED
    assert caught.value.action is A.CREDIT_BALANCE


@pytest.mark.parametrize(("status", "action"), [("withdrawn", "reject"), ("requested", "withdraw")])
def test_next_status_refuses_unknown_names(status, action):
    with pytest.raises(ValueError):
        next_status(status, action)


@pytest.mark.parametrize(
    ("status", "actions"),
    [
        (S.REQUESTED, (A.MARK_SUBMITTED_TO_AIRLINE, A.REJECT)),
        (S.SUBMITTED, (A.RECORD_AIRLINE_REFUND, A.REJECT)),
        (S.RECEIVED, (A.CREDIT_BALANCE, A.REJECT)),
        (S.REFUNDED, ()),
        (S.REJECTED, ()),
    ],
)
def test_allowed_actions(status, actions):
    assert allowed_actions(status) == actions
    assert allowed_actions(status.value) == actions
    assert (status in FINAL_STATUSES) is (actions == ())


# --- Paths ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "operator", "first", "group"),
    [
        (P.INSTANT_QUOTE, True, S.REQUESTED, "Atlas Initiated"),
        (P.REQUEST_QUOTE, True, S.REQUESTED, "Atlas Initiated"),
        (P.CANCEL_REFUND, True, S.REQUESTED, "Atlas Initiated"),
        (P.FREE_REFUND, True, S.REQUESTED, "Atlas Initiated"),
        (P.AGENT_REQUEST, False, S.SUBMITTED, "Agent & Passenger Initiated"),
        (P.AGENT_BATCH, False, S.SUBMITTED, "Agent & Passenger Initiated"),
        (P.REFUND_CLAIM, False, S.SUBMITTED, "Agent & Passenger Initiated"),
    ],
)
def test_paths(path, operator, first, group):
    assert is_operator_path(path) is operator
    assert first_status(path) is first
    assert first_status(path.value) is first
    assert path_group_label(path, "Atlas") == group


@pytest.mark.parametrize(("involuntary", "path"), [(False, P.CANCEL_REFUND), (True, P.FREE_REFUND)])
def test_cancel_refund_path_records_the_way_the_agent_came(involuntary, path):
    # An operator refund confirmed on Cancel & Refund is not the Refund button's; an involuntary one is
    # the free refund for an airline change.
    assert cancel_refund_path(involuntary=involuntary) is path


def test_group_label_uses_the_operator_name():
    assert path_group_label(P.INSTANT_QUOTE, "Northwind Travel") == "Northwind Travel Initiated"


# --- Payment-channel rules (SPEC 3.2): 5 paths x 3 channels --------------------------------------------

OK = "allowed"
CARD = "card credited by the airline"
CARD_CLAIM = "claim on a card order"
PASSTHROUGH = "passthrough claim"
PATH_CHANNEL_TABLE = [
    (P.CANCEL_REFUND, "deposit", OK),
    (P.CANCEL_REFUND, "vcc", OK),
    (P.CANCEL_REFUND, "vcc_passthrough", OK),
    (P.FREE_REFUND, "deposit", OK),
    (P.FREE_REFUND, "vcc", OK),
    (P.FREE_REFUND, "vcc_passthrough", OK),
    (P.INSTANT_QUOTE, "deposit", OK),
    (P.INSTANT_QUOTE, "vcc", OK),
    (P.INSTANT_QUOTE, "vcc_passthrough", OK),
    (P.REQUEST_QUOTE, "deposit", OK),
    (P.REQUEST_QUOTE, "vcc", OK),
    (P.REQUEST_QUOTE, "vcc_passthrough", OK),
    (P.AGENT_REQUEST, "deposit", OK),
    (P.AGENT_REQUEST, "vcc", CARD),
    (P.AGENT_REQUEST, "vcc_passthrough", CARD),
    (P.AGENT_BATCH, "deposit", OK),
    (P.AGENT_BATCH, "vcc", CARD),
    (P.AGENT_BATCH, "vcc_passthrough", CARD),
    (P.REFUND_CLAIM, "deposit", OK),
    (P.REFUND_CLAIM, "vcc", CARD_CLAIM),
    (P.REFUND_CLAIM, "vcc_passthrough", PASSTHROUGH),
]


@pytest.mark.parametrize(("path", "channel", "expected"), PATH_CHANNEL_TABLE)
def test_path_refusal(path, channel, expected):
    refusal = path_refusal(path, channel)
    if expected == OK:
        assert refusal is None
    elif expected == CARD:
        assert refusal.startswith("Agent & passenger initiated refunds are not available")
        assert "straight back to the card" in refusal
    elif expected == CARD_CLAIM:
        assert refusal.startswith("Refund Claim is not available for orders paid by virtual card (VCC)")
        assert "straight back to the card" in refusal
    else:
        assert refusal.startswith("Refund Claim is not available for VCC Passthrough orders")
        assert "how much the airline paid back" in refusal
    assert path_refusal(path.value, channel) == refusal
    if refusal:
        # Shown as it is under the Refund Claim button: it names what is refused exactly once.
        assert refusal.count("not available") == 1


def test_path_refusal_table_covers_every_path_and_channel():
    pairs = [(path, channel) for path, channel, _ in PATH_CHANNEL_TABLE]
    assert sorted(pairs) == sorted((p, c) for p in RefundPath for c in ("deposit", "vcc", "vcc_passthrough"))


def test_unknown_payment_channel_is_refused():
    with pytest.raises(ValueError, match="payment channel"):
        path_refusal(P.INSTANT_QUOTE, "cash")


# --- Coupons --------------------------------------------------------------------------------------------

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PAST = NOW - timedelta(hours=1)
FUTURE = NOW + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("booking", "segment", "departure", "in_refund", "expected"),
    [
        pytest.param("ticketed", "confirmed", FUTURE, False, CouponState.REFUNDABLE, id="unflown"),
        pytest.param("ticketed", "confirmed", PAST, False, CouponState.FLOWN, id="departed"),
        pytest.param("ticketed", "confirmed", NOW, False, CouponState.FLOWN, id="departing-this-instant"),
        pytest.param("ticketed", "cancelled", PAST, False, CouponState.REFUNDABLE, id="cancelled-seg-past"),
        pytest.param(
            "ticketed", "cancelled", FUTURE, False, CouponState.REFUNDABLE, id="cancelled-seg-future"
        ),
        pytest.param("ticketed", "confirmed", FUTURE, True, CouponState.IN_REFUND, id="in-refund"),
        pytest.param(
            "cancelled", "confirmed", FUTURE, False, CouponState.BOOKING_CANCELLED, id="bk-cancelled"
        ),
        # The order of the checks: booking cancelled, then in a refund, then flown.
        pytest.param("cancelled", "confirmed", PAST, True, CouponState.BOOKING_CANCELLED, id="order-booking"),
        pytest.param("ticketed", "confirmed", PAST, True, CouponState.IN_REFUND, id="order-in-refund"),
        pytest.param(
            "ticketed", "cancelled", PAST, True, CouponState.IN_REFUND, id="cancelled-seg-in-refund"
        ),
    ],
)
def test_coupon_state(booking, segment, departure, in_refund, expected):
    state = coupon_state(
        booking_status=booking,
        segment_status=segment,
        departure_utc=departure,
        now=NOW,
        in_live_refund=in_refund,
    )
    assert state is expected


def test_coupon_state_compares_instants_not_wall_clocks():
    # 19:30 in Singapore is 11:30 UTC: already departed at 12:00 UTC although 19:30 > 12:00 on the clock.
    departure = datetime(2026, 3, 1, 19, 30, tzinfo=timezone(timedelta(hours=8)))
    state = coupon_state(
        booking_status="ticketed",
        segment_status="confirmed",
        departure_utc=departure,
        now=NOW,
        in_live_refund=False,
    )
    assert state is CouponState.FLOWN


@pytest.mark.parametrize(
    ("departure", "now"),
    [(datetime(2026, 3, 2, 9, 0), NOW), (FUTURE, datetime(2026, 3, 1, 12, 0))],
    ids=["naive-departure", "naive-now"],
)
def test_coupon_state_refuses_naive_times(departure, now):
    with pytest.raises(ValueError, match="timezone-aware"):
        coupon_state(
            booking_status="ticketed",
            segment_status="confirmed",
            departure_utc=departure,
            now=now,
            in_live_refund=False,
        )


@pytest.mark.parametrize(("booking", "segment"), [("void", "confirmed"), ("ticketed", "flown")])
def test_coupon_state_refuses_unknown_statuses(booking, segment):
    with pytest.raises(ValueError, match="unknown"):
        coupon_state(
            booking_status=booking,
            segment_status=segment,
            departure_utc=FUTURE,
            now=NOW,
            in_live_refund=False,
        )


def test_coupon_state_reasons():
    assert COUPON_STATE_REASONS == {
        CouponState.REFUNDABLE: None,
        CouponState.FLOWN: "Already flown",
        CouponState.IN_REFUND: "Already in a refund",
        CouponState.BOOKING_CANCELLED: "Booking cancelled",
    }


# --- The instant quote: worked figures ------------------------------------------------------------------

BOTH = frozenset({"SQ318", "SQ317"})
OUTBOUND = frozenset({"SQ318"})


def fare(base, taxes, refundable_taxes, fee, *, refundable=True) -> FareFacts:
    return FareFacts(
        base=sgd(base),
        taxes=sgd(taxes),
        refundable_taxes=sgd(refundable_taxes),
        refundable=refundable,
        cancellation_fee=sgd(fee),
    )


def expect(case, fare_, fee, taxes, service, amount, because=None) -> PassengerQuote:
    return PassengerQuote(
        case=case,
        fare=sgd(fare_),
        cancellation_fee=sgd(fee),
        refundable_taxes=sgd(taxes),
        service_fee=sgd(service),
        amount=None if amount is None else sgd(amount),
        nothing_because=because,
    )


EXACT, CANNOT, NONREF = QuoteCase.EXACT, QuoteCase.CANNOT_QUOTE, QuoteCase.NON_REFUNDABLE
QUOTE_TABLE = [
    # 420.00 - 150.00 + 60.00 - 15.00 = 315.00
    pytest.param(
        fare("420.00", "85.50", "60.00", "150.00"),
        BOTH,
        "15.00",
        False,
        expect(EXACT, "420.00", "150.00", "60.00", "15.00", "315.00"),
        id="refundable",
    ),
    # Non-refundable: the whole 300.00 base shows as the fee; 0 + 41.20 - 15.00 = 26.20
    pytest.param(
        fare("300.00", "55.00", "41.20", "75.00", refundable=False),
        BOTH,
        "15.00",
        False,
        expect(EXACT, "300.00", "300.00", "41.20", "15.00", "26.20"),
        id="non-refundable-fare-taxes-back",
    ),
    # Non-refundable: 0 + 10.00 back; the 15.00 service fee takes only those 10.00, never below 0
    pytest.param(
        fare("300.00", "55.00", "10.00", "75.00", refundable=False),
        BOTH,
        "15.00",
        False,
        expect(NONREF, "300.00", "300.00", "10.00", "10.00", "0.00", NothingBecause.SERVICE_FEE),
        id="non-refundable-nothing-back",
    ),
    # Non-refundable and no refundable taxes: nothing comes back, so no service fee either
    pytest.param(
        fare("300.00", "55.00", "0.00", "75.00", refundable=False),
        BOTH,
        "15.00",
        False,
        expect(NONREF, "300.00", "300.00", "0.00", "0.00", "0.00", NothingBecause.NON_REFUNDABLE_FARE),
        id="non-refundable-no-taxes",
    ),
    # The infant: 10.00 fare, 5.00 refundable taxes, 15.00 service fee -> 15.00 back, all of it the fee
    pytest.param(
        fare("10.00", "5.00", "5.00", "0.00"),
        BOTH,
        "15.00",
        False,
        expect(NONREF, "10.00", "0.00", "5.00", "15.00", "0.00", NothingBecause.SERVICE_FEE),
        id="infant-fee-takes-all",
    ),
    # The infant with a smaller fee: 15.00 - 12.00 = 3.00 -> an exact quote like any other
    pytest.param(
        fare("10.00", "5.00", "5.00", "0.00"),
        BOTH,
        "12.00",
        False,
        expect(EXACT, "10.00", "0.00", "5.00", "12.00", "3.00"),
        id="infant-something-back",
    ),
    # A refundable fare whose cancellation fee takes it all, no refundable taxes
    pytest.param(
        fare("100.00", "20.00", "0.00", "100.00"),
        BOTH,
        "15.00",
        False,
        expect(NONREF, "100.00", "100.00", "0.00", "0.00", "0.00", NothingBecause.CANCELLATION_FEE),
        id="cancellation-fee-takes-all",
    ),
    # A free ticket (nothing paid), even involuntary
    pytest.param(
        fare("0.00", "0.00", "0.00", "0.00"),
        BOTH,
        "15.00",
        True,
        expect(NONREF, "0.00", "0.00", "0.00", "0.00", "0.00", NothingBecause.NOTHING_PAID),
        id="nothing-paid",
    ),
    # Fee larger than the base: max(120.00 - 150.00, 0) + 60.00 - 15.00 = 45.00 (not -35.00 + 45.00 = 10.00)
    pytest.param(
        fare("120.00", "85.50", "60.00", "150.00"),
        BOTH,
        "15.00",
        False,
        expect(EXACT, "120.00", "150.00", "60.00", "15.00", "45.00"),
        id="fee-larger-than-base",
    ),
    # The fee takes the whole fare: 100.00 - 100.00 + 15.00 - 15.00 = 0.00
    pytest.param(
        fare("100.00", "20.00", "15.00", "100.00"),
        BOTH,
        "15.00",
        False,
        expect(NONREF, "100.00", "100.00", "15.00", "15.00", "0.00", NothingBecause.SERVICE_FEE),
        id="exactly-zero",
    ),
    # Service fee bigger than what comes back: 270.00 back, so the fee charged is 270.00, not 300.00
    pytest.param(
        fare("420.00", "85.50", "0.00", "150.00"),
        BOTH,
        "300.00",
        False,
        expect(NONREF, "420.00", "150.00", "0.00", "270.00", "0.00", NothingBecause.SERVICE_FEE),
        id="service-fee-eats-all",
    ),
    # Involuntary: 420.00 + 85.50 (all taxes, not only the 60.00 refundable) = 505.50, no fees at all
    pytest.param(
        fare("420.00", "85.50", "60.00", "150.00"),
        BOTH,
        "15.00",
        True,
        expect(EXACT, "420.00", "0.00", "85.50", "0.00", "505.50"),
        id="involuntary",
    ),
    pytest.param(
        fare("420.00", "85.50", "0.00", "150.00", refundable=False),
        BOTH,
        "15.00",
        True,
        expect(EXACT, "420.00", "0.00", "85.50", "0.00", "505.50"),
        id="involuntary-non-refundable-fare",
    ),
    # A partial set of the unflown segments: the airline decides; fees shown as they would apply.
    pytest.param(
        fare("420.00", "85.50", "60.00", "150.00"),
        OUTBOUND,
        "15.00",
        False,
        expect(CANNOT, "420.00", "150.00", "60.00", "15.00", None),
        id="partial",
    ),
    pytest.param(
        fare("300.00", "55.00", "10.00", "75.00", refundable=False),
        OUTBOUND,
        "15.00",
        False,
        expect(CANNOT, "300.00", "300.00", "10.00", "15.00", None),
        id="partial-non-refundable-fare",
    ),
    pytest.param(
        fare("420.00", "85.50", "60.00", "150.00"),
        OUTBOUND,
        "15.00",
        True,
        expect(CANNOT, "420.00", "0.00", "85.50", "0.00", None),
        id="partial-involuntary",
    ),
]


@pytest.mark.parametrize(("fare_facts", "selected", "service", "involuntary", "expected"), QUOTE_TABLE)
def test_quote_passenger(fare_facts, selected, service, involuntary, expected):
    quote = quote_passenger(
        fare_facts,
        selected_segments=selected,
        unflown_segments=BOTH,
        service_fee=sgd(service),
        involuntary=involuntary,
    )
    assert quote == expected


def test_non_refundable_figures_add_up():
    q = quote_passenger(
        fare("300.00", "55.00", "41.20", "75.00", refundable=False),
        selected_segments=BOTH,
        unflown_segments=BOTH,
        service_fee=sgd("15.00"),
        involuntary=False,
    )
    assert q.fare - q.cancellation_fee + q.refundable_taxes - q.service_fee == q.amount == sgd("26.20")


def test_all_unflown_selected_is_exact_even_when_some_segments_flew():
    # The outbound flew, so the return is the only unflown coupon: selecting it selects them all.
    q = quote_passenger(
        fare("420.00", "85.50", "60.00", "150.00"),
        selected_segments=frozenset({"SQ317"}),
        unflown_segments=frozenset({"SQ317"}),
        service_fee=sgd("15.00"),
        involuntary=False,
    )
    assert (q.case, q.amount) == (EXACT, sgd("315.00"))


@pytest.mark.parametrize(
    "selected",
    [frozenset(), frozenset({"SQ318", "SQ999"})],
    ids=["nothing-selected", "flown-segment-selected"],
)
def test_quote_passenger_refuses_bad_selections(selected):
    with pytest.raises(ValueError):
        quote_passenger(
            fare("420.00", "85.50", "60.00", "150.00"),
            selected_segments=selected,
            unflown_segments=BOTH,
            service_fee=sgd("15.00"),
            involuntary=False,
        )


@pytest.mark.parametrize("involuntary", [False, True])
def test_quote_passenger_refuses_a_service_fee_in_another_currency(involuntary):
    with pytest.raises(CurrencyMismatch):
        quote_passenger(
            fare("420.00", "85.50", "60.00", "150.00"),
            selected_segments=BOTH,
            unflown_segments=BOTH,
            service_fee=Money(Decimal("15.00"), "USD"),
            involuntary=involuntary,
        )


@pytest.mark.parametrize("field", ["taxes", "refundable_taxes", "cancellation_fee"])
def test_fare_facts_refuse_mixed_currencies(field):
    figures = {
        "base": sgd("420.00"),
        "taxes": sgd("85.50"),
        "refundable_taxes": sgd("60.00"),
        "cancellation_fee": sgd("150.00"),
    }
    figures[field] = Money(figures[field].amount, "USD")
    with pytest.raises(CurrencyMismatch):
        FareFacts(refundable=True, **figures)


@pytest.mark.parametrize(
    ("base", "taxes", "refundable_taxes", "fee"),
    [
        ("-1.00", "85.50", "60.00", "150.00"),
        ("420.00", "85.50", "60.00", "-150.00"),
        ("420.00", "50.00", "60.00", "150.00"),
    ],
    ids=["negative-base", "negative-fee", "refundable-taxes-above-taxes"],
)
def test_fare_facts_refuse_impossible_fares(base, taxes, refundable_taxes, fee):
    with pytest.raises(ValueError):
        fare(base, taxes, refundable_taxes, fee)


# --- The whole quote ------------------------------------------------------------------------------------

Q_315 = expect(EXACT, "420.00", "150.00", "60.00", "15.00", "315.00")
Q_26 = expect(EXACT, "300.00", "300.00", "41.20", "15.00", "26.20")
Q_ZERO = expect(NONREF, "300.00", "300.00", "10.00", "10.00", "0.00", NothingBecause.SERVICE_FEE)
Q_PARTIAL = expect(CANNOT, "420.00", "150.00", "60.00", "15.00", None)


@pytest.mark.parametrize(
    ("items", "total", "acceptable", "refusal"),
    [
        pytest.param([("TAN/MEI", Q_315), ("TAN/WEI", Q_26)], sgd("341.20"), True, None, id="two-exact"),
        pytest.param([("TAN/MEI", Q_315)], sgd("315.00"), True, None, id="one-exact"),
        pytest.param([("TAN/MEI", Q_315), ("TAN/WEI", Q_PARTIAL)], None, True, None, id="partial-no-total"),
        # A passenger who gets nothing never blocks the others (issue 13: the family with an infant).
        pytest.param([("TAN/MEI", Q_315), ("TAN/WEI", Q_ZERO)], sgd("315.00"), True, None, id="zero"),
        pytest.param([("TAN/WEI", Q_ZERO)], sgd("0.00"), False, "Nothing would be refunded", id="only-zero"),
        pytest.param(
            [("TAN/WEI", Q_ZERO), ("TAN/BB", Q_ZERO)], sgd("0.00"), False, "Nothing would be", id="all-zero"
        ),
        pytest.param([("TAN/MEI", Q_PARTIAL), ("TAN/WEI", Q_ZERO)], None, True, None, id="mixed"),
        pytest.param([], sgd("0.00"), False, "Select at least one passenger", id="nobody"),
    ],
)
def test_quote(items, total, acceptable, refusal):
    quote = build_quote(iter(items), "SGD")
    assert quote.passengers == tuple(items)
    assert quote.total == total
    assert quote.acceptable is acceptable
    if refusal is None:
        assert quote.refusal is None
    else:
        assert quote.refusal.startswith(refusal)


def test_build_quote_keeps_the_order_given():
    quote = build_quote([("ZZ/LAST", Q_26), ("AA/FIRST", Q_315)], "SGD")
    assert [ref for ref, _ in quote.passengers] == ["ZZ/LAST", "AA/FIRST"]


def test_build_quote_refuses_a_passenger_twice():
    with pytest.raises(ValueError, match="twice"):
        build_quote([("TAN/MEI", Q_315), ("TAN/MEI", Q_26)], "SGD")


@pytest.mark.parametrize("passenger", [Q_315, Q_PARTIAL], ids=["exact", "cannot-quote"])
def test_build_quote_refuses_another_currency(passenger):
    with pytest.raises(CurrencyMismatch):
        build_quote([("TAN/MEI", passenger)], "USD")


# --- Balance credit (SPEC 3.4, 5) -----------------------------------------------------------------------

AIRLINE = "300.00"
SERVICE = "15.00"
NO_CREDIT = None
BALANCE_TABLE = [
    # deposit: the service fee comes off operator refunds only, and never off involuntary ones
    (P.INSTANT_QUOTE, "deposit", False, "285.00"),
    (P.INSTANT_QUOTE, "deposit", True, "300.00"),
    (P.REQUEST_QUOTE, "deposit", False, "285.00"),
    (P.REQUEST_QUOTE, "deposit", True, "300.00"),
    (P.AGENT_REQUEST, "deposit", False, "300.00"),
    (P.AGENT_REQUEST, "deposit", True, "300.00"),
    (P.AGENT_BATCH, "deposit", False, "300.00"),
    (P.AGENT_BATCH, "deposit", True, "300.00"),
    (P.REFUND_CLAIM, "deposit", False, "300.00"),
    (P.REFUND_CLAIM, "deposit", True, "300.00"),
    # card orders close as paid to the card: no ledger credit at all
    (P.INSTANT_QUOTE, "vcc", False, NO_CREDIT),
    (P.INSTANT_QUOTE, "vcc", True, NO_CREDIT),
    (P.REQUEST_QUOTE, "vcc", False, NO_CREDIT),
    (P.AGENT_REQUEST, "vcc", False, NO_CREDIT),
    (P.AGENT_REQUEST, "vcc", True, NO_CREDIT),
    (P.INSTANT_QUOTE, "vcc_passthrough", False, NO_CREDIT),
    (P.INSTANT_QUOTE, "vcc_passthrough", True, NO_CREDIT),
    (P.REQUEST_QUOTE, "vcc_passthrough", False, NO_CREDIT),
    (P.AGENT_REQUEST, "vcc_passthrough", False, NO_CREDIT),
    (P.AGENT_REQUEST, "vcc_passthrough", True, NO_CREDIT),
]


@pytest.mark.parametrize(("path", "channel", "involuntary", "expected"), BALANCE_TABLE)
def test_balance_credit(path, channel, involuntary, expected):
    credit = balance_credit(
        path=path,
        payment_channel=channel,
        airline_amount=sgd(AIRLINE),
        service_fee=sgd(SERVICE),
        involuntary=involuntary,
    )
    assert credit == (None if expected is NO_CREDIT else sgd(expected))


def test_balance_credit_never_goes_below_zero():
    credit = balance_credit(
        path=P.INSTANT_QUOTE,
        payment_channel="deposit",
        airline_amount=sgd("10.00"),
        service_fee=sgd("15.00"),
        involuntary=False,
    )
    assert credit == sgd("0.00")


@pytest.mark.parametrize(
    ("channel", "airline", "service", "error"),
    [
        ("cash", sgd("300.00"), sgd("15.00"), ValueError),
        ("deposit", sgd("-300.00"), sgd("15.00"), ValueError),
        ("deposit", sgd("300.00"), Money(Decimal("15.00"), "USD"), CurrencyMismatch),
        ("vcc", sgd("300.00"), Money(Decimal("15.00"), "USD"), CurrencyMismatch),
    ],
    ids=["unknown-channel", "negative-amount", "mixed-currency", "mixed-currency-vcc"],
)
def test_balance_credit_refuses_bad_input(channel, airline, service, error):
    with pytest.raises(error):
        balance_credit(
            path=P.REFUND_CLAIM,
            payment_channel=channel,
            airline_amount=airline,
            service_fee=service,
            involuntary=True,
        )


# --- Passengers who get nothing (issue 13, item 3) ------------------------------------------------------


def test_a_family_with_an_infant_can_confirm_and_the_quote_names_who_gets_nothing():
    adult = quote_passenger(
        fare("420.00", "85.50", "60.00", "150.00"),
        selected_segments=BOTH,
        unflown_segments=BOTH,
        service_fee=sgd("15.00"),
        involuntary=False,
    )
    infant = quote_passenger(
        fare("10.00", "5.00", "5.00", "0.00"),
        selected_segments=BOTH,
        unflown_segments=BOTH,
        service_fee=sgd("15.00"),
        involuntary=False,
    )
    quote = build_quote([("P1", adult), ("P2", adult), ("P3", infant)], "SGD")
    assert quote.acceptable and quote.refusal is None
    assert quote.nothing_for == ("P3",)
    assert quote.total == sgd("630.00")
    assert infant.gets_nothing and not adult.gets_nothing
    assert infant.label == "Gets nothing: the service fee takes all that would come back"
    assert adult.label == "Exact quote"
    # The fee charged is what came back (15.00 of the 15.00), never more: the refund keeps 45.00 of fees
    # only because each passenger's refund covers its own.
    assert infant.service_fee == sgd("15.00") and infant.amount == sgd("0.00")


def test_the_service_fee_never_takes_a_passengers_refund_below_zero():
    infant = quote_passenger(
        fare("0.00", "8.00", "8.00", "0.00"),
        selected_segments=BOTH,
        unflown_segments=BOTH,
        service_fee=sgd("15.00"),
        involuntary=False,
    )
    assert infant.service_fee == sgd("8.00") and infant.amount == sgd("0.00")
    assert infant.refundable_taxes - infant.service_fee == infant.amount


def test_every_reason_for_nothing_has_a_label():
    from portal.domain.refunds import NOTHING_BECAUSE_LABELS

    assert set(NOTHING_BECAUSE_LABELS) == set(NothingBecause)
    assert all(label.startswith("Gets nothing: ") for label in NOTHING_BECAUSE_LABELS.values())


# --- Nothing left to refund, and whether Refund is offered (issue 13, item 8) ---------------------------

R, F, T, C = CouponState.REFUNDABLE, CouponState.FLOWN, CouponState.IN_REFUND, CouponState.BOOKING_CANCELLED


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([R, T, F], None),
        ([R], None),
        ([T, T], "Every passenger's flights are already in a refund; follow them on Refund Info."),
        ([F, F], "Every flight has been flown."),
        ([F, T], "Every flight has been flown or is already in a refund (see Refund Info)."),
        ([C, C], "This booking is cancelled."),
        ([], "This booking has no flights."),
    ],
)
def test_nothing_left_reason(states, expected):
    assert nothing_left_reason(iter(states)) == expected


@pytest.mark.parametrize(("status", "offered"), [("ticketed", True), ("cancelled", False)])
def test_refund_is_offered_only_on_ticketed_bookings(status, offered):
    assert refund_offered(status) is offered


def test_refund_offered_refuses_an_unknown_status():
    with pytest.raises(ValueError):
        refund_offered("void")


# --- The queue's buttons (issue 13, item 12) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "label"),
    [
        ("deposit", "Credit balance"),
        ("vcc", "Close — paid to card"),
        ("vcc_passthrough", "Close — paid to card"),
    ],
)
def test_credit_balance_on_a_card_order_says_it_closes_as_paid_to_card(channel, label):
    assert action_label(A.CREDIT_BALANCE, payment_channel=channel) == label
    assert action_label("credit_balance", payment_channel=channel) == label
    for action in (A.MARK_SUBMITTED_TO_AIRLINE, A.RECORD_AIRLINE_REFUND, A.REJECT):
        assert action_label(action, payment_channel=channel) == ACTION_LABELS[action]
