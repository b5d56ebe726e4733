"""Batch refunds: read an uploaded template, decide every row, create the refunds in bulk, keep the batch.

Built for 10,000 rows in one request: the bookings named in the file are loaded in a few IN-queries as
plain facts, every row is decided and quoted in memory (portal.domain.batch, with the same quote as
every other path), and the refunds are written by the one writer of refunds (insert_refunds), in bulk,
in the caller's one transaction. Flushes, never commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
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
from portal.domain.refunds import PATH_LABELS, RefundPath
from portal.extensions import db
from portal.models import (
    Booking,
    Passenger,
    Refund,
    RefundBatch,
    RefundBatchRow,
    RefundCoupon,
    Segment,
    User,
)
from portal.services.refunds import CouponTaken, RefundDraft, insert_refunds
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
    """Write the planned refunds through the one writer of refunds; returns file line -> refund id."""
    created_note = f"Started by {PATH_LABELS[RefundPath.AGENT_BATCH]} (batch {batch.code}, row %d)."
    drafts = [
        RefundDraft(
            booking_id=d.plan.booking.id,
            account_id=d.plan.booking.account_id,
            path=RefundPath.AGENT_BATCH,
            currency=d.plan.booking.currency,
            lines=tuple((passenger.id, quote) for passenger, quote in d.plan.lines),
            coupons=d.plan.coupons,
            note=d.plan.note,
            created_note=created_note % d.row.line,
        )
        for d in plans
    ]
    try:
        ids = insert_refunds(drafts, user=user, now=now)
    except CouponTaken:
        raise BatchConflict(
            "Another refund for some of these tickets was submitted while your file was being processed. "
            "Nothing from this file was saved; upload it again to see the up-to-date outcomes."
        ) from None
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


def recent_batches(scope: Scope, limit: int = 10) -> list[RefundBatch]:
    """The latest uploads in the scope, newest first."""
    stmt = select(RefundBatch).order_by(RefundBatch.created_at.desc(), RefundBatch.id.desc()).limit(limit)
    stmt = scope.apply(stmt, RefundBatch.account_id)
    return list(db.session.scalars(stmt.options(selectinload(RefundBatch.uploaded_by))))


def load_batch(batch_id: int, scope: Scope) -> RefundBatch | None:
    """The batch with this id in the scope, with its rows and their refunds; else None."""
    return db.session.scalar(scope.apply(batch_details_query(batch_id), RefundBatch.account_id))
