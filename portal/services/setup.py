"""Defaults every installation starts with; seeding is idempotent and never overwrites admins' edits."""

from sqlalchemy import select

from portal.extensions import db
from portal.models import RefundReason

REFUND_REASONS = [
    # (code, label, involuntary)
    ("voluntary", "Passenger cancelled (voluntary)", False),
    ("schedule_change", "Airline schedule change", True),
    ("airline_cancellation", "Flight cancelled by the airline", True),
    ("medical", "Medical reasons (with certificate)", False),
    ("bereavement", "Death of the passenger or a close relative", False),
    ("visa_refused", "Visa refused", False),
    ("duplicate_booking", "Duplicate booking", False),
    ("other", "Other (explain in the note)", False),
]


def seed_defaults() -> None:
    """Add the default refund-claim reasons that are missing (by code)."""
    known = set(db.session.scalars(select(RefundReason.code)))
    for position, (code, label, involuntary) in enumerate(REFUND_REASONS):
        if code not in known:
            db.session.add(RefundReason(code=code, label=label, position=position, involuntary=involuntary))
    db.session.flush()
