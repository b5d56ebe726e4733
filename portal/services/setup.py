"""Defaults every installation starts with; seeding is idempotent and never overwrites admins' edits."""

from sqlalchemy import select

from portal.extensions import db
from portal.models import RefundReason, RequestCategory

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


# (code, label, behaviour) of the groups and their categories (SPEC 4).
REQUEST_CATEGORIES = [
    (
        ("post_ticketing", "Post-Ticketing Request"),
        [
            ("cancel_refund", "Cancel & Refund", "cancel_refund"),
            ("agent_refund", "Agent & Passenger Initiated Refund", "agent_refund"),
            ("name_correction", "Name Correction", "general"),
            ("voluntary_change", "Voluntary Flight Change", "general"),
            ("involuntary_change", "Involuntary Flight Change", "general"),
            ("ancillary_baggage", "Ancillary Baggage", "baggage"),
            ("other", "Other", "general"),
        ],
    ),
]


def seed_defaults() -> None:
    """Add the default refund-claim reasons and request categories that are missing (by code)."""
    known = set(db.session.scalars(select(RefundReason.code)))
    for position, (code, label, involuntary) in enumerate(REFUND_REASONS):
        if code not in known:
            db.session.add(RefundReason(code=code, label=label, position=position, involuntary=involuntary))
    _seed_request_categories()
    db.session.flush()


def _seed_request_categories() -> None:
    existing = {c.code: c for c in db.session.scalars(select(RequestCategory))}
    for group_position, ((group_code, group_label), children) in enumerate(REQUEST_CATEGORIES):
        group = existing.get(group_code)
        if group is None:
            group = RequestCategory(code=group_code, label=group_label, position=group_position)
            db.session.add(group)
            db.session.flush()
        for position, (code, label, behaviour) in enumerate(children):
            if code not in existing:
                db.session.add(
                    RequestCategory(
                        code=code, label=label, parent_id=group.id, behaviour=behaviour, position=position
                    )
                )
