"""Telling people: in-app notifications, and e-mail through the outbox when SMTP is configured.

Notifications are written in the same transaction as the change they report; e-mails are only
queued here and sent after commit by the outbox job, so a rolled-back change sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from sqlalchemy import func, select, update

from portal.clock import utcnow
from portal.extensions import db
from portal.models import Notification, OutboxEmail, User
from portal.models.accounts import AGENCY_ROLES


def staff_users(roles=("operations", "admin")) -> list[User]:
    return list(db.session.scalars(select(User).where(User.role.in_(roles), User.active.is_(True))))


def account_agents(account_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(
                User.account_id == account_id, User.role.in_(AGENCY_ROLES), User.active.is_(True)
            )
        )
    )


def email_enabled() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def queue_email(to_address: str, subject: str, body: str, now=None) -> bool:
    """Queue one e-mail in the outbox (sent after commit by the outbox job), without an in-app
    notification. Only when SMTP is configured: False (and nothing queued) otherwise."""
    if not email_enabled():
        return False
    now = now or utcnow()
    db.session.add(
        OutboxEmail(
            to_address=to_address,
            subject=f"[{current_app.config['OPERATOR_NAME']} Portal] {subject}"[:200],
            body=body,
            created_at=now,
            next_attempt_at=now,
        )
    )
    return True


def notify(users: Iterable[User], kind: str, text: str, link: str | None = None, now=None) -> int:
    """One notification per user (and an outbox e-mail each when SMTP is configured)."""
    now = now or utcnow()
    count = 0
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    for user in {u.id: u for u in users}.values():
        db.session.add(Notification(user_id=user.id, kind=kind, text=text, link=link, created_at=now))
        queue_email(user.email, text[:150], text + (f"\n\n{base}{link}" if link and base else ""), now=now)
        count += 1
    return count


def unread_query(user_id: int):
    """The select of how many of the user's notifications are unread (the bell's number)."""
    return (
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


def unread_count(user_id: int) -> int:
    return db.session.scalar(unread_query(user_id))


def recent(user_id: int, limit: int = 50) -> list[Notification]:
    """The user's latest notifications, newest first by when they happened (created_at: a job or an
    action may write them with a time of its own, so insertion order is not time order)."""
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def mark_read(user_id: int, notification_id: int | None = None, now=None) -> int:
    """Mark one (or, with None, every) unread notification of this user as read."""
    stmt = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    return db.session.execute(stmt.values(read_at=now or utcnow())).rowcount


def load_notification(notification_id: int, user_id: int) -> Notification | None:
    """The user's own notification with this id; another user's is None, as an unknown one is."""
    return db.session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == user_id)
    )
