"""Batch refunds: read an uploaded template, decide every row, create the refunds in bulk, keep the batch.

Built for 10,000 rows in one request: the bookings named in the file are loaded in a few IN-queries as
plain facts, every row is decided in memory (portal.domain.batch), and refunds, quote lines, coupons,
events and batch rows are written with bulk Core inserts, all in the caller's one transaction. Flushes,
never commits (the view does).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.clock import utcnow
from portal.domain.batch import (
    BatchOutcome,
    BookingFacts,
    PassengerFacts,
    RowDecision,
    SegmentFacts,
    decide,
    read_upload,
)
from portal.domain.errors import Conflict
from portal.domain.refunds import PATH_LABELS, RefundPath, first_status
from portal.extensions import db
from portal.models import (
    Booking,
    Passenger,
    Refund,
    RefundBatch,
    RefundBatchRow,
    RefundCoupon,
    RefundEvent,
    RefundPassenger,
    Segment,
    User,
)
from portal.services.scope import Scope

CHUNK = 2000  # values per IN-list: far below SQLite's and PostgreSQL's limits on bound parameters


class BatchConflict(Conflict):
    """Another request took a coupon of this batch while it was being processed; nothing was created."""


@dataclass(frozen=True)
class BatchResult:
    batch: RefundBatch
    decisions: list[RowDecision]
    previous: RefundBatch | None  # an earlier upload of exactly the same file, if any


def _chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_facts(order_numbers: Iterable[str], account_id: int) -> dict[str, BookingFacts]:
    """Facts about the account's bookings among `order_numbers`, in four IN-queries per 2,000 orders.

    Another account's bookings are never loaded, so they are reported exactly as unknown orders are.
    """
    wanted = sorted(set(order_numbers))
    bookings: dict[int, dict] = {}
    for chunk in _chunks(wanted):
        rows = db.session.execute(
            select(
                Booking.id,
                Booking.order_number,
                Booking.account_id,
                Booking.payment_channel,
                Booking.status,
                Booking.currency,
            ).where(Booking.order_number.in_(chunk), Booking.account_id == account_id)
        ).all()
        for row in rows:
            bookings[row.id] = {**row._asdict(), "passengers": [], "segments": [], "taken": {}}
    ids = sorted(bookings)
    for chunk in _chunks(ids):
        for p in db.session.execute(
            select(
                Passenger.booking_id,
                Passenger.id,
                Passenger.ref,
                Passenger.title,
                Passenger.first_name,
                Passenger.last_name,
                Passenger.ticket_number,
                Passenger.base,
                Passenger.taxes,
                Passenger.refundable_taxes,
                Passenger.refundable,
                Passenger.cancellation_fee,
            )
            .where(Passenger.booking_id.in_(chunk))
            .order_by(Passenger.booking_id, Passenger.position)
        ):
            values = p._asdict()
            bookings[values.pop("booking_id")]["passengers"].append(PassengerFacts(**values))
        for s in db.session.execute(
            select(Segment.booking_id, Segment.id, Segment.ref, Segment.status, Segment.departure_at)
            .where(Segment.booking_id.in_(chunk))
            .order_by(Segment.booking_id, Segment.position)
        ):
            values = s._asdict()
            bookings[values.pop("booking_id")]["segments"].append(SegmentFacts(**values))
        for booking_id, passenger_id, segment_id, code in db.session.execute(
            select(Refund.booking_id, RefundCoupon.passenger_id, RefundCoupon.segment_id, Refund.code)
            .join(Refund, Refund.id == RefundCoupon.refund_id)
            .where(Refund.booking_id.in_(chunk), RefundCoupon.live.is_(True))
        ):
            bookings[booking_id]["taken"][(passenger_id, segment_id)] = code
    facts = {}
    for values in bookings.values():
        values["passengers"] = tuple(values["passengers"])
        values["segments"] = tuple(values["segments"])
        facts[values["order_number"]] = BookingFacts(**values)
    return facts


def process_upload(filename: str, data: bytes, *, user: User, now: datetime | None = None) -> BatchResult:
    """Read, decide and record one Initiate a Refund upload by an agent.

    Raises FileRefused (nothing read) or BatchConflict (a coupon was taken meanwhile: the session is
    rolled back and nothing of the batch exists). Otherwise the batch, its rows and the refunds created
    are flushed in the current transaction.
    """
    now = now or utcnow()
    account_id = user.account_id
    if account_id is None:
        raise ValueError("only an agency's agents upload refund batches")
    upload = read_upload(filename, data)  # FileRefused
    digest = hashlib.sha256(data).hexdigest()
    previous = db.session.scalar(
        select(RefundBatch)
        .where(RefundBatch.account_id == account_id, RefundBatch.file_sha256 == digest)
        .order_by(RefundBatch.id.desc())
        .limit(1)
    )
    facts = load_facts((row.order_number for row in upload.rows if not row.error), account_id)
    decisions = decide(upload.rows, facts, account_id=account_id, now=now)
    plans = [d for d in decisions if d.outcome is BatchOutcome.CREATED]

    batch = RefundBatch(
        account_id=account_id,
        uploaded_by_id=user.id,
        filename=(filename or "upload")[-200:],
        file_format=upload.file_format,
        file_sha256=digest,
        row_count=len(decisions),
        created_count=len(plans),
        created_at=now,
    )
    db.session.add(batch)
    db.session.flush()
    refund_ids = _insert_refunds(batch, plans, user, now)
    db.session.execute(
        insert(RefundBatchRow.__table__),
        [
            {
                "batch_id": batch.id,
                "line": d.row.line,
                "order_number": d.row.order_number[:40],
                "passengers": d.row.passengers_text or None,
                "note": d.row.note,
                "outcome": d.outcome.value,
                "message": d.message,
                "refund_id": refund_ids.get(d.row.line),
            }
            for d in decisions
        ],
    )
    return BatchResult(batch, decisions, previous)


def _insert_refunds(batch: RefundBatch, plans: list[RowDecision], user: User, now) -> dict[int, int]:
    """Bulk-insert the planned refunds; returns file line -> refund id."""
    if not plans:
        return {}
    status = first_status(RefundPath.AGENT_BATCH).value
    refund_table = Refund.__table__
    # Each refund is inserted with a provisional code unique to this batch, read back with its id, then
    # given its real code (RF + id): plain executemany on every database, no per-row RETURNING.
    provisional = [f"~{batch.id}.{index}" for index in range(len(plans))]
    db.session.execute(
        insert(refund_table),
        [
            {
                "code": code,
                "booking_id": d.plan.booking.id,
                "account_id": d.plan.booking.account_id,
                "path": RefundPath.AGENT_BATCH.value,
                "status": status,
                "currency": d.plan.booking.currency,
                "involuntary": False,
                "estimated_amount": d.plan.estimated_amount,
                "service_fee": Decimal("0.00"),
                "note": d.plan.note,
                "created_by_id": user.id,
                "created_at": now,
                "updated_at": now,
            }
            for code, d in zip(provisional, plans, strict=True)
        ],
    )
    id_by_code: dict[str, int] = {}
    for chunk in _chunks(provisional):
        rows = db.session.execute(
            select(refund_table.c.code, refund_table.c.id).where(refund_table.c.code.in_(chunk))
        )
        id_by_code.update((code, refund_id) for code, refund_id in rows)
    ids = [id_by_code[code] for code in provisional]
    db.session.execute(
        update(refund_table).where(refund_table.c.id == bindparam("rid")).values(code=bindparam("new_code")),
        [{"rid": refund_id, "new_code": f"RF{refund_id:08d}"} for refund_id in ids],
    )
    lines, coupons, events = [], [], []
    created_note = f"Started by {PATH_LABELS[RefundPath.AGENT_BATCH]} (batch {batch.code}, row %d)."
    for refund_id, d in zip(ids, plans, strict=True):
        for passenger, quote in d.plan.lines:
            lines.append(
                {
                    "refund_id": refund_id,
                    "passenger_id": passenger.id,
                    "quote_case": quote.case.value,
                    "fare": quote.fare.amount,
                    "cancellation_fee": quote.cancellation_fee.amount,
                    "refundable_taxes": quote.refundable_taxes.amount,
                    "service_fee": quote.service_fee.amount,
                    "amount": None if quote.amount is None else quote.amount.amount,
                }
            )
        coupons.extend(
            {"refund_id": refund_id, "passenger_id": p, "segment_id": s, "live": True}
            for p, s in d.plan.coupons
        )
        events.append(
            {
                "refund_id": refund_id,
                "actor_id": user.id,
                "at": now,
                "from_status": None,
                "to_status": status,
                "note": created_note % d.row.line,
            }
        )
    try:
        # The live-coupon unique index is the last word on a coupon raced by another request.
        db.session.execute(insert(RefundCoupon.__table__), coupons)
    except IntegrityError:
        db.session.rollback()
        raise BatchConflict(
            "Another refund for some of these tickets was submitted while your file was being processed. "
            "Nothing from this file was saved; upload it again to see the up-to-date outcomes."
        ) from None
    db.session.execute(insert(RefundPassenger.__table__), lines)
    db.session.execute(insert(RefundEvent.__table__), events)
    return {d.row.line: refund_id for refund_id, d in zip(ids, plans, strict=True)}


def batch_details_query(batch_id: int):
    """The select for a batch page: the batch with its rows and their refunds, in a fixed few queries."""
    return (
        select(RefundBatch)
        .where(RefundBatch.id == batch_id)
        .options(
            selectinload(RefundBatch.rows).selectinload(RefundBatchRow.refund),
            selectinload(RefundBatch.uploaded_by),
            selectinload(RefundBatch.account),
        )
    )


def recent_batches(account_id: int | None, limit: int = 10) -> list[RefundBatch]:
    """The latest uploads (of one account, or of all for staff), newest first."""
    stmt = select(RefundBatch).order_by(RefundBatch.created_at.desc(), RefundBatch.id.desc()).limit(limit)
    if account_id is not None:
        stmt = stmt.where(RefundBatch.account_id == account_id)
    return list(db.session.scalars(stmt.options(selectinload(RefundBatch.uploaded_by))))


def load_batch(batch_id: int, scope: Scope) -> RefundBatch | None:
    """The batch with this id in the scope, with its rows and their refunds; else None."""
    return db.session.scalar(scope.apply(batch_details_query(batch_id), RefundBatch.account_id))
