"""The ledger's one writer: refund credits, baggage debits and admin adjustments all append here."""

from __future__ import annotations

from datetime import datetime

from portal.clock import utcnow
from portal.domain.ledger import EntryKind, entry_sign_refusal
from portal.domain.money import Money
from portal.extensions import db
from portal.models import LedgerEntry, User


def post_entry(
    *,
    account_id: int,
    amount: Money,
    kind: EntryKind,
    description: str,
    user: User | None,
    now: datetime | None = None,
    refund_id: int | None = None,
) -> LedgerEntry:
    """Append one entry to an account's ledger, in the amount's currency, and flush it.

    The sign belongs to the kind (credits positive, debits negative); an entry is never edited, a
    correction is another entry. At most one credit per refund: the unique refund_id is the last word.
    """
    refusal = entry_sign_refusal(kind, amount.amount)
    if refusal:
        raise ValueError(refusal)
    entry = LedgerEntry(
        account_id=account_id,
        currency=amount.currency,
        amount=amount.amount,
        kind=EntryKind(kind).value,
        refund_id=refund_id,
        description=description,
        created_by_id=user.id if user is not None else None,
        created_at=now or utcnow(),
    )
    db.session.add(entry)
    db.session.flush()
    return entry
