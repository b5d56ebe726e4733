"""Bookings as imported from the booking engine: airline, passengers, segments, ancillaries."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.domain.baggage import Settlement, settlement_for
from portal.domain.deadlines import needs_urgent_notice
from portal.domain.money import Money
from portal.domain.refunds import (
    SEGMENT_STATE_LABELS,
    SHOWN_BOOKING_STATUS_LABELS,
    BookingRefundState,
    SegmentState,
    refund_offered,
    segment_state,
    shown_booking_status,
)
from portal.extensions import db
from portal.models.accounts import Account, User
from portal.models.types import Amount, UTCDateTime, currency_check

if TYPE_CHECKING:
    from portal.models.baggage import BaggageOrder
    from portal.models.refunds import Refund

PAYMENT_CHANNELS = {"deposit": "Deposit", "vcc": "VCC", "vcc_passthrough": "VCC Passthrough"}
BOOKING_STATUSES = {"ticketed": "Ticketed", "cancelled": "Cancelled"}
PASSENGER_TYPES = {"ADT": "Adult", "CHD": "Child", "INF": "Infant"}

# Search keys and codes compare byte-wise on PostgreSQL too, so prefix ranges use the index.
SearchKey = String(80).with_variant(String(80, collation="C"), "postgresql")


@cache
def _fixed_zone(offset_minutes: int) -> timezone:
    return timezone(timedelta(minutes=offset_minutes))


def local_time(utc: datetime, offset_minutes: int) -> datetime:
    """A stored UTC time at an airport's offset (the zone object is made once per offset: lists call this
    for every row)."""
    return utc.astimezone(_fixed_zone(offset_minutes))


def route_of(legs: list[tuple[str, str]]) -> str:
    """SIN–BKK–SIN style route from (origin, destination) of each segment in travel order; a gap
    (the next flight leaves from elsewhere) shows as ' / '."""
    if not legs:
        return ""
    points = [legs[0][0]]
    for origin, destination in legs:
        if origin != points[-1]:
            points.append("/")
            points.append(origin)
        points.append(destination)
    return "–".join(points).replace("–/–", " / ")


class Airline(db.Model):
    __tablename__ = "airline"
    __table_args__ = (CheckConstraint("carrier_type in ('LCC', 'FSC')", name="carrier_type_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(2), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    carrier_type: Mapped[str] = mapped_column(String(3))
    manage_booking_url: Mapped[str | None] = mapped_column(String(500))

    baggage_options: Mapped[list[BaggageOption]] = relationship(
        back_populates="airline", order_by="BaggageOption.weight_kg"
    )

    @property
    def is_lcc(self) -> bool:
        return self.carrier_type == "LCC"


class BaggageOption(db.Model):
    """One entry of an airline's baggage catalogue, as imported."""

    __tablename__ = "baggage_option"
    __table_args__ = (UniqueConstraint("airline_id", "code"), currency_check())

    id: Mapped[int] = mapped_column(primary_key=True)
    airline_id: Mapped[int] = mapped_column(ForeignKey("airline.id"))
    code: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(200))
    weight_kg: Mapped[int]
    price: Mapped[Decimal] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(default=True)

    airline: Mapped[Airline] = relationship(back_populates="baggage_options")

    @property
    def price_money(self) -> Money:
        return Money(self.price, self.currency)


class Booking(db.Model):
    __tablename__ = "booking"
    __table_args__ = (
        CheckConstraint(
            "payment_channel in ('deposit', 'vcc', 'vcc_passthrough')", name="payment_channel_known"
        ),
        CheckConstraint("status in ('ticketed', 'cancelled')", name="status_known"),
        CheckConstraint(
            "refund_state in ('none', 'partly_refunded', 'refunded', 'cancelled')", name="refund_state_known"
        ),
        currency_check(),
        # My Bookings: newest first within an account, and the departure-date filter.
        Index("ix_booking_account_issued", "account_id", "issued_at", "id"),
        Index("ix_booking_account_departure", "account_id", "first_departure_date"),
        Index("ix_booking_issued", "issued_at", "id"),
        Index("ix_booking_departure", "first_departure_date"),
        # The "Action required" badge (a count) and filter: a plain index, since both databases skip a
        # partial one for the `IS true` that the ORM writes.
        Index("ix_booking_action_required", "action_required", "account_id", "issued_at"),
        # The admin's home page: bookings an import created or updated lately.
        Index("ix_booking_updated", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_number: Mapped[str] = mapped_column(String(20), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    pnr: Mapped[str] = mapped_column(String(8))
    airline_id: Mapped[int] = mapped_column(ForeignKey("airline.id"))
    payment_channel: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    contact_email: Mapped[str] = mapped_column(String(254))
    contact_phone: Mapped[str] = mapped_column(String(40))
    # Local date of the first segment's departure: what "departure date" means in filters.
    first_departure_date: Mapped[date]
    # What My Bookings shows of each row, kept here so the list reads no segment or passenger: the route,
    # the first segment's departure (UTC, and minutes east of UTC at its origin), the lead passenger
    # ("LAST/FIRST" of position 0) and how many travel. The import writes them with the segments and
    # passengers they are read from (services.bookings.booking_summary), and nothing else writes those.
    # The route has no length limit: a booking may have any number of segments.
    route: Mapped[str] = mapped_column(Text)
    first_departure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_departure_offset: Mapped[int]
    lead_passenger: Mapped[str] = mapped_column(String(121))  # last_name (60) + "/" + first_name (60)
    passenger_count: Mapped[int]
    # Set while a schedule change found on re-import has not been acknowledged.
    action_required: Mapped[bool] = mapped_column(default=False)
    # What the booking's live refunds make of it (domain.refunds.booking_refund_state), kept here so
    # My Bookings shows it without a query per row; written with every refund and every rejection
    # (services.coupons.refresh_refund_states).
    refund_state: Mapped[str] = mapped_column(
        String(20), default=BookingRefundState.NONE.value, server_default=BookingRefundState.NONE.value
    )
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A digest of the content the last import gave the booking (the IMPORTED_COLUMNS of the booking, its
    # passengers and segments, and its ancillaries): a re-import that finds the same digest skips the
    # booking without loading it. NULL when unknown (imported before the digest, or changed since outside
    # the import: see _forget_import_digest), which makes the next re-import compare the booking in full.
    import_digest: Mapped[str | None] = mapped_column(String(32))

    account: Mapped[Account] = relationship()
    airline: Mapped[Airline] = relationship()
    passengers: Mapped[list[Passenger]] = relationship(
        back_populates="booking", order_by="Passenger.position", cascade="all, delete-orphan"
    )
    segments: Mapped[list[Segment]] = relationship(
        back_populates="booking", order_by="Segment.position", cascade="all, delete-orphan"
    )
    ancillaries: Mapped[list[Ancillary]] = relationship(
        back_populates="booking", order_by="Ancillary.id", cascade="all, delete-orphan"
    )
    schedule_changes: Mapped[list[ScheduleChange]] = relationship(
        back_populates="booking", order_by="ScheduleChange.id", cascade="all, delete-orphan"
    )
    baggage_orders: Mapped[list[BaggageOrder]] = relationship(
        back_populates="booking", order_by="BaggageOrder.id"
    )

    @property
    def payment_channel_label(self) -> str:
        return PAYMENT_CHANNELS[self.payment_channel]

    @property
    def status_label(self) -> str:
        return BOOKING_STATUSES[self.status]

    @property
    def shown_status(self) -> str:
        """The status My Bookings and Booking Details show: the booking's own, or what its refunds make
        of it (Partly refunded, Refunded, or Cancelled for a low-cost carrier)."""
        return shown_booking_status(self.status, self.refund_state or BookingRefundState.NONE)

    @property
    def shown_status_label(self) -> str:
        return SHOWN_BOOKING_STATUS_LABELS[self.shown_status]

    @property
    def is_ticketed(self) -> bool:
        return self.status == "ticketed"

    @property
    def offers_refund(self) -> bool:
        """Whether Booking Details shows the Refund button (not on a cancelled booking)."""
        return refund_offered(self.status)

    @property
    def fare_total(self) -> Money:
        """total_fare() as a value (what the API shows as the booking's total)."""
        return self.total_fare()

    def total_fare(self) -> Money:
        """Base fares and taxes of every passenger, in the booking's currency."""
        return sum((p.base_money + p.taxes_money for p in self.passengers), Money.zero(self.currency))

    @property
    def settlement(self) -> Settlement:
        """How the order is paid and refunded: through the account's balance or the card (domain table)."""
        return settlement_for(self.payment_channel)

    @property
    def pays_by_card(self) -> bool:
        """VCC and VCC Passthrough: the airline charges and refunds the card; the balance never moves."""
        return self.settlement is Settlement.CARD

    def first_segment(self) -> Segment | None:
        return self.segments[0] if self.segments else None

    def departs_within(self, now: datetime) -> Segment | None:
        """The first confirmed segment departing within the next 24 hours (domain.deadlines), if any."""
        for seg in self.segments:
            if seg.status == "confirmed" and needs_urgent_notice(seg.departure_at, now):
                return seg
        return None

    def urgent_segment(self, now: datetime) -> Segment | None:
        """The flight the 24-hour notice on Booking Details is about: a ticketed booking's next flight
        departing within 24 hours, else None."""
        return self.departs_within(now) if self.is_ticketed else None


# What a booking keeps of its segments and passengers (services.bookings.booking_summary gives their
# values, in this order).
BOOKING_SUMMARY_COLUMNS = (
    "first_departure_date",
    "route",
    "first_departure_at",
    "first_departure_offset",
    "lead_passenger",
    "passenger_count",
)
# The columns an import writes from the file, per table, in the order services.bookings builds their
# values: the one list its inserts, its updates, its comparison on re-import and its digest follow.
BOOKING_IMPORTED_COLUMNS = (
    "order_number",
    "account_id",
    "pnr",
    "airline_id",
    "payment_channel",
    "currency",
    "status",
    "issued_at",
    "contact_email",
    "contact_phone",
    *BOOKING_SUMMARY_COLUMNS,
)
PASSENGER_IMPORTED_COLUMNS = (
    "ref",
    "position",
    "ptype",
    "title",
    "first_name",
    "last_name",
    "ticket_number",
    "base",
    "taxes",
    "refundable_taxes",
    "refundable",
    "cancellation_fee",
    "changeable",
    "change_fee",
)
SEGMENT_IMPORTED_COLUMNS = (
    "ref",
    "position",
    "flight_number",
    "origin",
    "destination",
    "departure_at",
    "departure_offset",
    "arrival_at",
    "arrival_offset",
    "cabin",
    "status",
)
ANCILLARY_IMPORTED_COLUMNS = ("passenger_id", "segment_id", "type", "description", "price")


class Passenger(db.Model):
    __tablename__ = "passenger"
    __table_args__ = (
        UniqueConstraint("booking_id", "ref"),
        CheckConstraint("ptype in ('ADT', 'CHD', 'INF')", name="ptype_known"),
        CheckConstraint("refundable_taxes <= taxes", name="refundable_taxes_within_taxes"),
        CheckConstraint("cancellation_fee >= 0", name="cancellation_fee_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id"), index=True)
    ref: Mapped[str] = mapped_column(String(20))
    position: Mapped[int]
    ptype: Mapped[str] = mapped_column(String(3))
    title: Mapped[str] = mapped_column(String(20))
    first_name: Mapped[str] = mapped_column(String(60))
    last_name: Mapped[str] = mapped_column(String(60))
    # Indexed: an import refuses a ticket number another booking already holds.
    ticket_number: Mapped[str] = mapped_column(String(14), index=True)
    base: Mapped[Decimal] = mapped_column(Amount)
    taxes: Mapped[Decimal] = mapped_column(Amount)
    refundable_taxes: Mapped[Decimal] = mapped_column(Amount)
    refundable: Mapped[bool]
    cancellation_fee: Mapped[Decimal] = mapped_column(Amount)
    changeable: Mapped[bool]
    change_fee: Mapped[Decimal] = mapped_column(Amount)

    booking: Mapped[Booking] = relationship(back_populates="passengers")

    # The fare figures as Money, in the booking's currency.
    def _money(self, amount: Decimal) -> Money:
        return Money(amount, self.booking.currency)

    @property
    def base_money(self) -> Money:
        return self._money(self.base)

    @property
    def taxes_money(self) -> Money:
        return self._money(self.taxes)

    @property
    def refundable_taxes_money(self) -> Money:
        return self._money(self.refundable_taxes)

    @property
    def cancellation_fee_money(self) -> Money:
        return self._money(self.cancellation_fee)

    @property
    def change_fee_money(self) -> Money:
        return self._money(self.change_fee)

    @property
    def full_name(self) -> str:
        return f"{self.last_name}/{self.first_name} {self.title}"

    @property
    def type_label(self) -> str:
        return PASSENGER_TYPES[self.ptype]


class Segment(db.Model):
    __tablename__ = "segment"
    __table_args__ = (
        UniqueConstraint("booking_id", "ref"),
        CheckConstraint("status in ('confirmed', 'cancelled')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id"), index=True)
    ref: Mapped[str] = mapped_column(String(20))
    position: Mapped[int]
    flight_number: Mapped[str] = mapped_column(String(8))
    origin: Mapped[str] = mapped_column(String(3))
    destination: Mapped[str] = mapped_column(String(3))
    departure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    departure_offset: Mapped[int]  # minutes east of UTC at the origin airport
    arrival_at: Mapped[datetime] = mapped_column(UTCDateTime)
    arrival_offset: Mapped[int]
    cabin: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))

    booking: Mapped[Booking] = relationship(back_populates="segments")

    @property
    def departure_local(self) -> datetime:
        return local_time(self.departure_at, self.departure_offset)

    @property
    def arrival_local(self) -> datetime:
        return local_time(self.arrival_at, self.arrival_offset)

    def is_flown(self, now: datetime) -> bool:
        """A confirmed segment whose departure has passed counts as flown (its coupon is used)."""
        return self.state(now) is SegmentState.FLOWN

    def state(self, now: datetime, cancelled_by_refund: bool = False) -> SegmentState:
        """Cancelled, Flown or Confirmed (domain.refunds.segment_state), as Booking Details shows it;
        cancelled_by_refund from services.coupons.refund_cancelled_segments."""
        return segment_state(
            segment_status=self.status,
            departure_utc=self.departure_at,
            now=now,
            cancelled_by_refund=cancelled_by_refund,
        )

    def state_label(self, now: datetime, cancelled_by_refund: bool = False) -> str:
        return SEGMENT_STATE_LABELS[self.state(now, cancelled_by_refund)]


class Ancillary(db.Model):
    __tablename__ = "ancillary"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id"), index=True)
    passenger_id: Mapped[int] = mapped_column(ForeignKey("passenger.id"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id"))
    type: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal] = mapped_column(Amount)

    booking: Mapped[Booking] = relationship(back_populates="ancillaries")

    @property
    def price_money(self) -> Money:
        return Money(self.price, self.booking.currency)

    passenger: Mapped[Passenger] = relationship()
    segment: Mapped[Segment] = relationship()


class ScheduleChange(db.Model):
    """A segment time change or airline cancellation found on re-import; old and new values kept."""

    __tablename__ = "schedule_change"
    __table_args__ = (
        CheckConstraint("kind in ('time_changed', 'cancelled')", name="kind_known"),
        CheckConstraint(
            "resolution IS NULL OR resolution in ('accepted', 'refund')", name="resolution_known"
        ),
        # The operations list of open changes (acknowledged_at IS NULL), oldest first.
        Index("ix_schedule_change_open", "acknowledged_at", "detected_at"),
        # The same list with Status: Any (or an answered status), sorted by Found or by Was either way.
        Index("ix_schedule_change_detected", "detected_at", "id"),
        Index("ix_schedule_change_old_departure", "old_departure_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id"), index=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id"))
    kind: Mapped[str] = mapped_column(String(20))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    old_departure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    old_departure_offset: Mapped[int]
    new_departure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    new_departure_offset: Mapped[int]
    old_arrival_at: Mapped[datetime] = mapped_column(UTCDateTime)
    old_arrival_offset: Mapped[int]
    new_arrival_at: Mapped[datetime] = mapped_column(UTCDateTime)
    new_arrival_offset: Mapped[int]
    old_status: Mapped[str] = mapped_column(String(20))
    new_status: Mapped[str] = mapped_column(String(20))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # How the agency answered: 'accepted' the new schedule, or took a free 'refund' (then refund_id).
    resolution: Mapped[str | None] = mapped_column(String(20))
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refund.id"))

    booking: Mapped[Booking] = relationship(back_populates="schedule_changes")
    segment: Mapped[Segment] = relationship()
    acknowledged_by: Mapped[User | None] = relationship()
    refund: Mapped[Refund | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None

    @property
    def is_cancellation(self) -> bool:
        """The airline cancelled the flight (nothing new to show), rather than moving it to new times."""
        return self.kind == "cancelled"

    @property
    def kind_label(self) -> str:
        """What the airline did, as every page and the history say it."""
        return "Cancelled by the airline" if self.is_cancellation else "New times"

    @property
    def took_free_refund(self) -> bool:
        """Answered with a free refund of the flight, rather than by accepting the new schedule."""
        return self.resolution == "refund"

    @property
    def state(self) -> str:
        """open until answered; then how: accepted, or refund (a free refund took the flight)."""
        return "open" if self.acknowledged_at is None else (self.resolution or "accepted")

    @property
    def refund_code(self) -> str | None:
        return self.refund.code if self.refund else None

    @property
    def old_departure_local(self) -> datetime:
        return local_time(self.old_departure_at, self.old_departure_offset)

    @property
    def new_departure_local(self) -> datetime:
        return local_time(self.new_departure_at, self.new_departure_offset)

    @property
    def old_arrival_local(self) -> datetime:
        return local_time(self.old_arrival_at, self.old_arrival_offset)

    @property
    def new_arrival_local(self) -> datetime:
        return local_time(self.new_arrival_at, self.new_arrival_offset)


class BookingSearchKey(db.Model):
    """Normalised keys (order number, PNR, ticket numbers, names) for indexed prefix search."""

    __tablename__ = "booking_search_key"
    __table_args__ = (
        # booking_id is in the index too, so a search is answered from the index alone.
        Index("ix_booking_search_key_account_key", "account_id", "key", "booking_id"),
        Index("ix_booking_search_key_key", "key", "booking_id"),
        # A frequent term is probed per booking in the list's order: one seek on (booking, key range).
        Index("ix_booking_search_key_booking_key", "booking_id", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    key: Mapped[str] = mapped_column(SearchKey)


class SearchKeysVersion(db.Model):
    """Which version of the search keys the database holds: a new random token each time the import writes
    keys (services.search.keys_changed). What is worked out from the keys alone (how many bookings a term
    matches) is kept per token, so it is never read again once the keys have changed. At most one row: the
    migration writes it; a database made from the models has none until its first import (nothing is kept
    meanwhile)."""

    __tablename__ = "search_keys_version"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32))


# --- The import's digest follows every change through the ORM -------------------------------------------
#
# Whatever changes an imported column of a booking, its passengers, segments or ancillaries through the
# ORM forgets the booking's import_digest, so the next re-import compares it in full (and writes the file's
# content back, as it always has). The import sets the digest again after its own changes. A Core UPDATE of
# these columns outside the import must set import_digest to NULL itself (none does today).


def _forget_import_digest(booking: Booking | None) -> None:
    if booking is not None and booking.import_digest is not None:
        booking.import_digest = None


def _on_set(owner_of):
    def forget(target, value, old, initiator):
        if value is not old and value != old:
            _forget_import_digest(owner_of(target))

    return forget


for _model, _names in (
    (Booking, BOOKING_IMPORTED_COLUMNS),
    (Passenger, PASSENGER_IMPORTED_COLUMNS),
    (Segment, SEGMENT_IMPORTED_COLUMNS),
    (Ancillary, ANCILLARY_IMPORTED_COLUMNS),
):
    _owner = (lambda booking: booking) if _model is Booking else (lambda child: child.booking)
    for _name in _names:
        event.listen(getattr(_model, _name), "set", _on_set(_owner))
for _collection in (Booking.passengers, Booking.segments, Booking.ancillaries):
    for _kind in ("append", "remove"):
        event.listen(_collection, _kind, lambda booking, *_: _forget_import_digest(booking))
for _relation in (Booking.account, Booking.airline):
    event.listen(_relation, "set", _on_set(lambda booking: booking))
