"""Add Baggage (SPEC 6): what a booking may buy, ordering it, and the operations Confirm / Fail that
debit the deposit or note the card charge. Flushes, never commits (the view does)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from portal.clock import utcnow
from portal.domain.baggage import (
    LIVE_STATUSES,
    REFUSAL_MESSAGES,
    REFUSAL_SHORT,
    BaggageAction,
    BaggageCase,
    BaggageStatus,
    BaggageTransitionError,
    Refusal,
    Settlement,
    confirm_refusal,
    coupon_refusal,
    next_status,
    option_refusal,
    refund_started_reason,
    refusal,
    settlement_for,
)
from portal.domain.errors import Conflict, DomainError
from portal.domain.ledger import EntryKind
from portal.domain.money import Money
from portal.extensions import db
from portal.links import path_for
from portal.models import BaggageOption, BaggageOrder, Booking, Passenger, Segment, User
from portal.services.coupons import live_refund_codes
from portal.services.ledger import post_entry
from portal.services.notifications import account_agents, notify
from portal.services.paging import LIST_COUNT_CAP, Page, Sort, SortOptions, probed_page
from portal.services.transitions import claim, claim_rows
from portal.services.webhooks import emit, money

CHUNK = 2000  # values per IN-list


class BaggageError(DomainError):
    """A baggage order that cannot be made or moved; the message is for the user."""


class AlreadyOrdered(BaggageError, Conflict):
    """The passenger's segment already has a live baggage order (a second click, another tab)."""


class FlightInRefund(BaggageError, Conflict):
    """The order's passenger and flight are in a live refund: it cannot be confirmed."""


# --- What can be bought ---------------------------------------------------------------------------------


class _MayBeRefused:
    """What the Add Baggage form offers with its refusal, if any: selectable, and why not."""

    refusal: Refusal | None

    @property
    def selectable(self) -> bool:
        return self.refusal is None

    @property
    def reason(self) -> str | None:
        return REFUSAL_MESSAGES[self.refusal] if self.refusal else None


@dataclass(frozen=True)
class OfferedOption(_MayBeRefused):
    option: BaggageOption
    refusal: Refusal | None


@dataclass(frozen=True)
class Choice(_MayBeRefused):
    """A passenger or a segment in the Add Baggage form, with why it cannot be chosen (if so)."""

    ref: str
    label: str
    refusal: Refusal | None

    @property
    def short_reason(self) -> str | None:
        return REFUSAL_SHORT[self.refusal] if self.refusal else None


def _live_orders(booking: Booking) -> dict[tuple[int, int], BaggageOrder]:
    return {
        (o.passenger_id, o.segment_id): o
        for o in db.session.scalars(
            select(BaggageOrder).where(
                BaggageOrder.booking_id == booking.id,
                BaggageOrder.status.in_([s.value for s in LIVE_STATUSES]),
            )
        )
    }


def catalogue(booking: Booking) -> list[OfferedOption]:
    """The booking airline's active baggage options, each with why it cannot be sold here (if so)."""
    options = db.session.scalars(
        select(BaggageOption)
        .where(BaggageOption.airline_id == booking.airline_id, BaggageOption.active.is_(True))
        .order_by(BaggageOption.weight_kg, BaggageOption.code)
    ).all()
    return [
        OfferedOption(
            option,
            option_refusal(
                booking_airline=booking.airline.code,
                option_airline=booking.airline.code,
                option_active=option.active,
                option_currency=option.currency,
                booking_currency=booking.currency,
            ),
        )
        for option in options
    ]


def passenger_label(passenger: Passenger) -> str:
    return f"{passenger.full_name} ({passenger.type_label})"


def segment_label(segment: Segment) -> str:
    return (
        f"{segment.flight_number} {segment.origin}→{segment.destination} "
        f"{segment.departure_local:%d %b %Y %H:%M}"
    )


def passenger_choices(booking: Booking) -> list[Choice]:
    """Every passenger, infants marked as not eligible."""
    return [
        Choice(
            p.ref,
            passenger_label(p),
            Refusal.INFANT if p.ptype == "INF" else None,
        )
        for p in booking.passengers
    ]


def segment_choices(booking: Booking, now: datetime) -> list[Choice]:
    """Every segment, the cancelled and departed ones marked as not eligible."""
    result = []
    for s in booking.segments:
        reason = coupon_refusal(
            booking_status=booking.status,
            passenger_type="ADT",
            segment_status=s.status,
            departure_utc=s.departure_at,
            now=now,
        )
        result.append(Choice(s.ref, segment_label(s), reason))
    return result


@dataclass(frozen=True)
class CouponChoice(_MayBeRefused):
    """One passenger on one segment: whether baggage may be ordered for it (whatever the option), and the
    live order that holds it, if any."""

    passenger_ref: str
    segment_ref: str
    refusal: Refusal | None
    order: BaggageOrder | None

    @property
    def order_code(self) -> str | None:
        return self.order.code if self.order else None


def coupon_choices(booking: Booking, now: datetime) -> list[CouponChoice]:
    """Every passenger on every segment, with why baggage cannot be ordered for it (if so): the rules
    create_baggage_order checks before the option (domain coupon_refusal), with the live orders and
    refunds of the booking."""
    live = _live_orders(booking)
    in_refund = live_refund_codes(booking)
    return [
        CouponChoice(
            p.ref,
            s.ref,
            coupon_refusal(
                booking_status=booking.status,
                passenger_type=p.ptype,
                segment_status=s.status,
                departure_utc=s.departure_at,
                now=now,
                in_live_refund=(p.id, s.id) in in_refund,
                already_ordered=(p.id, s.id) in live,
            ),
            live.get((p.id, s.id)),
        )
        for p in booking.passengers
        for s in booking.segments
    ]


# --- Ordering -------------------------------------------------------------------------------------------


def _already_ordered_message(order: BaggageOrder) -> str:
    return (
        f"Baggage for {order.passenger.full_name} on {order.segment.flight_number} was already ordered "
        f"({order.code}, {order.status_label.lower()}). Only one purchase per passenger and flight is "
        "possible; nothing new was created."
    )


def create_baggage_order(
    booking: Booking,
    *,
    passenger_ref: str,
    segment_ref: str,
    option_id: int | str | None,
    user: User,
    now: datetime | None = None,
) -> BaggageOrder:
    """Order baggage for one passenger on one segment; the order starts `requested` for operations.

    Every rule is checked here, whatever the form offered, so a forged post gets the same clear
    message. The live-order unique index is the last word on duplicates (AlreadyOrdered).
    """
    now = now or utcnow()
    passenger = next((p for p in booking.passengers if p.ref == passenger_ref), None)
    if passenger is None:
        raise BaggageError("Choose a passenger of this booking.", field="passenger")
    segment = next((s for s in booking.segments if s.ref == segment_ref), None)
    if segment is None:
        raise BaggageError("Choose a flight of this booking.", field="segment")
    option_id = str(option_id or "").strip()
    option = db.session.get(BaggageOption, int(option_id)) if option_id.isdigit() else None
    if option is None:
        raise BaggageError("Choose a baggage option.", field="option")
    live = _live_orders(booking)
    existing = live.get((passenger.id, segment.id))
    if existing is not None:
        raise AlreadyOrdered(_already_ordered_message(existing))
    why = refusal(
        BaggageCase(
            booking_status=booking.status,
            passenger_type=passenger.ptype,
            segment_status=segment.status,
            departure_utc=segment.departure_at,
            now=now,
            booking_airline=booking.airline.code,
            option_airline=option.airline.code,
            option_active=option.active,
            option_currency=option.currency,
            booking_currency=booking.currency,
            in_live_refund=(passenger.id, segment.id) in live_refund_codes(booking),
        )
    )
    if why is Refusal.IN_REFUND:
        raise FlightInRefund(REFUSAL_MESSAGES[why])  # a state of the booking (409), not a wrong choice
    if why is not None:
        raise BaggageError(REFUSAL_MESSAGES[why])

    # booking_id, not booking=: a savepoint rolled back must leave no phantom in booking.baggage_orders.
    order = BaggageOrder(
        booking_id=booking.id,
        account_id=booking.account_id,
        passenger=passenger,
        segment=segment,
        option=option,
        description=option.description,
        price=option.price,
        currency=option.currency,
        status=BaggageStatus.REQUESTED.value,
        created_by_id=user.id,
        created_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(order)
            db.session.flush()
    except IntegrityError:
        # Another click or tab got there between our check and our insert.
        raise AlreadyOrdered(
            f"Baggage for {passenger.full_name} on {segment.flight_number} was just ordered (a second "
            "click or another tab?). Only one purchase per passenger and flight is possible; nothing new "
            "was created."
        ) from None
    order.code = f"BG{order.id:08d}"
    db.session.flush()
    return order


# --- Operations: Confirm / Fail -------------------------------------------------------------------------


def _debit_description(order: BaggageOrder) -> str:
    segment = order.segment
    return (
        f"Baggage {order.code} for order {order.booking.order_number}: {order.passenger.full_name}, "
        f"{segment.flight_number} {segment.origin}→{segment.destination} "
        f"{segment.departure_local:%d %b %Y}, {order.description}"
    )


def apply_baggage_action(
    order: BaggageOrder,
    action: BaggageAction | str,
    *,
    user: User,
    now: datetime | None = None,
    reason: str | None = None,
) -> BaggageOrder:
    """Confirm or fail a requested order (SPEC 6).

    Confirming a deposit order writes the ledger debit in the same transaction; a card order is noted
    as charged to the card. The status moves by a conditional UPDATE, so two operators confirming at
    once debit the account once: the second gets BaggageTransitionError.
    """
    now = now or utcnow()
    action = BaggageAction(action)
    after = next_status(order.status, action)  # BaggageTransitionError when not allowed
    values: dict = {"status": after.value, "decided_at": now, "decided_by_id": user.id}
    if action is BaggageAction.CONFIRM:
        why = confirm_refusal(live_refund_codes(order.booking).get((order.passenger_id, order.segment_id)))
        if why is not None:
            raise FlightInRefund(why)
    if action is BaggageAction.FAIL:
        reason = (reason or "").strip()
        if not reason:
            raise BaggageError("Enter the reason the baggage could not be added; the agency will see it.")
        values["failure_reason"] = reason[:2000]
    else:
        values["settlement"] = settlement_for(order.booking.payment_channel).value
    if not claim(order, expected={"status": BaggageStatus.REQUESTED.value}, values=values):
        raise BaggageTransitionError(BaggageStatus(order.status), action)
    db.session.refresh(order, ["decided_by"])
    if action is BaggageAction.CONFIRM and order.settlement == Settlement.BALANCE and order.price > 0:
        entry = post_entry(
            account_id=order.account_id,
            amount=-Money(order.price, order.currency),
            kind=EntryKind.BAGGAGE_DEBIT,
            description=_debit_description(order),
            user=user,
            now=now,
        )
        order.ledger_entry_id = entry.id
        db.session.flush()
    outcome = (
        "confirmed" if action is BaggageAction.CONFIRM else f"could not be added: {order.failure_reason}"
    )
    _tell_agency(order, account_agents(order.account_id), outcome, now)
    return order


def _tell_agency(order: BaggageOrder, agents: list[User], outcome: str, now: datetime) -> None:
    """The agency hears of every decision on an order: a notice to its people, an event to its webhooks."""
    emit(
        order.account_id,
        "baggage_order.status_changed",
        {
            "baggage_order_code": order.code,
            "order_number": order.booking.order_number,
            "passenger": order.passenger.ref,
            "segment": order.segment.ref,
            "status": order.status,
            "price": money(Money(order.price, order.currency)),
            "failure_reason": order.failure_reason,
        },
        now,
    )
    notify(
        agents,
        "baggage",
        f"Baggage {order.code} on order {order.booking.order_number} {outcome.rstrip('.')}.",
        path_for("bookings.booking_details", order_number=order.booking.order_number),
        now=now,
    )


@dataclass(frozen=True)
class RefundedCoupons:
    """The coupons (passenger id, segment id) of one booking that a new refund just took."""

    refund_code: str
    booking_id: int
    coupons: tuple[tuple[int, int], ...]


def fail_orders_in_refunds(
    refunded: Sequence[RefundedCoupons], *, user: User, now: datetime
) -> list[BaggageOrder]:
    """Fail the open (requested) baggage orders on coupons that just went into a refund, with the reason
    ("Refund RF… started for this flight"), and tell the agency as operations' Fail does.

    Called by refunds.insert_refunds(), so every path that starts a refund (button, Cancel & Refund,
    claims, requests, batch rows) does it in the same transaction. Each order moves by a conditional
    UPDATE: an operator confirming it at the same moment wins or loses cleanly, never both.
    """
    refund_of = {
        (p, s): r.refund_code for r in refunded for p, s in r.coupons
    }  # a coupon is in at most one new refund (the live-coupon index)
    booking_ids = sorted({r.booking_id for r in refunded})
    orders: list[BaggageOrder] = []
    for start in range(0, len(booking_ids), CHUNK):
        orders += db.session.scalars(
            select(BaggageOrder)
            .where(
                BaggageOrder.booking_id.in_(booking_ids[start : start + CHUNK]),
                BaggageOrder.status == BaggageStatus.REQUESTED.value,
            )
            .order_by(BaggageOrder.id)
            .options(selectinload(BaggageOrder.booking))
        ).all()
    by_refund: dict[str, list[BaggageOrder]] = {}
    for order in orders:
        code = refund_of.get((order.passenger_id, order.segment_id))
        if code is not None:
            by_refund.setdefault(code, []).append(order)
    failed: list[BaggageOrder] = []
    agents: dict[int, list[User]] = {}
    for code, group in by_refund.items():
        reason = refund_started_reason(code)
        values = {
            "status": BaggageStatus.FAILED.value,
            "failure_reason": reason,
            "decided_at": now,
            "decided_by_id": user.id,
        }
        claimed = claim_rows(
            BaggageOrder,
            [o.id for o in group],
            expected={"status": BaggageStatus.REQUESTED.value},
            values=values,
        )
        for order in group:
            if claimed == len(group):
                for name, value in values.items():
                    set_committed_value(order, name, value)
            else:
                db.session.refresh(order)  # some were decided meanwhile: see which
            if order.status == BaggageStatus.FAILED and order.failure_reason == reason:
                if order.account_id not in agents:
                    agents[order.account_id] = account_agents(order.account_id)
                _tell_agency(order, agents[order.account_id], f"could not be added: {reason}", now)
                failed.append(order)
    return failed


# --- Reading --------------------------------------------------------------------------------------------


def _with_row_data(stmt):
    return stmt.options(
        selectinload(BaggageOrder.booking).selectinload(Booking.airline),
        selectinload(BaggageOrder.account),
        selectinload(BaggageOrder.passenger),
        selectinload(BaggageOrder.segment),
        selectinload(BaggageOrder.decided_by),
        selectinload(BaggageOrder.created_by),
    )


def get_order(order_id: int) -> BaggageOrder | None:
    """One order with everything its queue row shows (staff only: no tenant scope)."""
    return db.session.scalar(_with_row_data(select(BaggageOrder).where(BaggageOrder.id == order_id)))


@dataclass(frozen=True)
class QueueFilters:
    status: str | None = "requested"  # None: any status
    account_id: int | None = None


def _queue_conditions(filters: QueueFilters) -> list:
    conditions = []
    if filters.status:
        conditions.append(BaggageOrder.status == filters.status)
    if filters.account_id:
        conditions.append(BaggageOrder.account_id == filters.account_id)
    return conditions


def count_orders(filters: QueueFilters) -> int:
    """How many orders match these filters, exactly: Home's tile of the waiting ones (few by nature;
    the queue itself counts no further than LIST_COUNT_CAP). One query."""
    return db.session.scalar(
        select(func.count()).select_from(BaggageOrder).where(*_queue_conditions(filters))
    )


# The baggage queue's sortable columns (the URL's ?sort=&dir=). Requested reads the (status | account |
# nothing, created_at, id) indexes in either direction; a code is "BG" and the zero-padded id, so the
# primary key orders the codes.
BAGGAGE_QUEUE_SORTS = SortOptions(
    columns={
        "requested": (BaggageOrder.created_at, BaggageOrder.id),
        "code": (BaggageOrder.id,),
    },
    default=Sort("requested", descending=False),
)


def baggage_queue(filters: QueueFilters, page: int, per_page: int, sort: Sort | None = None) -> Page:
    """Every account's baggage orders in the order `sort` names (BAGGAGE_QUEUE_SORTS; oldest first by
    default), in a fixed number of queries. Counted no further than LIST_COUNT_CAP ("1,000+"), as the
    refund queue: with Status: Any the orders of every account pile up."""
    conditions = _queue_conditions(filters)
    order = BAGGAGE_QUEUE_SORTS.order_by(sort or BAGGAGE_QUEUE_SORTS.default)

    def rows(offset: int, limit: int) -> list[BaggageOrder]:
        stmt = select(BaggageOrder).where(*conditions).order_by(*order).limit(limit).offset(offset)
        return list(db.session.scalars(_with_row_data(stmt)))

    return probed_page(rows, select(BaggageOrder.id).where(*conditions), page, per_page, cap=LIST_COUNT_CAP)


def baggage_events(booking: Booking) -> list[tuple[datetime, str]]:
    """The booking's baggage orders as (time, text) history lines, for Request History and notices."""
    events = []
    for o in booking.baggage_orders:
        what = (
            f"{o.passenger.full_name} on {o.segment.flight_number} {o.segment.origin}→{o.segment.destination}"
        )
        events.append(
            (
                o.created_at,
                f"Baggage {o.code} requested: {o.description} for {what} ({o.currency} {o.price:,.2f}).",
            )
        )
        if o.status == BaggageStatus.CONFIRMED and o.decided_at:
            paid = (
                f"{o.currency} {o.price:,.2f} debited from the balance"
                if o.settlement == Settlement.BALANCE
                else "charged to the card"
            )
            events.append((o.decided_at, f"Baggage {o.code} confirmed for {what}; {paid}."))
        elif o.status == BaggageStatus.FAILED and o.decided_at:
            events.append((o.decided_at, f"Baggage {o.code} failed for {what}: {o.failure_reason}"))
    return events


__all__ = [
    "AlreadyOrdered",
    "BaggageError",
    "BaggageTransitionError",
    "FlightInRefund",
    "QueueFilters",
    "RefundedCoupons",
    "apply_baggage_action",
    "baggage_events",
    "baggage_queue",
    "catalogue",
    "coupon_choices",
    "create_baggage_order",
    "fail_orders_in_refunds",
    "get_order",
    "passenger_choices",
    "segment_choices",
]
