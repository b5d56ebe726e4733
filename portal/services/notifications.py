"""Telling people: in-app notifications, and e-mail through the outbox when SMTP is configured.

Notifications are written in the same transaction as the change they report; e-mails are only
queued here and sent after commit by the outbox job, so a rolled-back change sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import String, cast, func, literal, or_, select, update

from portal.clock import utcnow
from portal.extensions import db
from portal.models import Notification, OutboxEmail, User
from portal.models.accounts import AGENCY_ROLES
from portal.services.paging import Page, clamp


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


def queue_email(
    to_address: str, subject: str, body: str, now=None, attachment: tuple[str, str, bytes] | None = None
) -> bool:
    """Queue one e-mail in the outbox (sent after commit by the outbox job), without an in-app
    notification, with an optional attachment (file name, content type, bytes). Only when SMTP is
    configured: False (and nothing queued) otherwise."""
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
            attachment_name=attachment[0] if attachment else None,
            attachment_type=attachment[1] if attachment else None,
            attachment=attachment[2] if attachment else None,
        )
    )
    return True


def notify(
    users: Iterable[User], kind: str, text: str, link: str | None = None, now=None, topic: str | None = None
) -> int:
    """One notification per user (and an outbox e-mail each when SMTP is configured). `topic` names what
    it is about ("refund:RF…"): the list and the bell show a topic's notices as one."""
    now = now or utcnow()
    count = 0
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    for user in {u.id: u for u in users}.values():
        db.session.add(
            Notification(user_id=user.id, kind=kind, text=text, link=link, created_at=now, topic=topic)
        )
        queue_email(user.email, text[:150], text + (f"\n\n{base}{link}" if link and base else ""), now=now)
        count += 1
    return count


def _group():
    """A notice's group: its topic, else the notice alone."""
    return func.coalesce(Notification.topic, literal("#") + cast(Notification.id, String))


def unread_query(user_id: int):
    """The select of how many groups of notices (a refund's, a request's, or one notice) have something
    unread: the bell's number (the header asks it together with the balance)."""
    return select(func.count(func.distinct(_group()))).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )


def unread_count(user_id: int) -> int:
    return db.session.scalar(unread_query(user_id))


@dataclass
class NoticeGroup:
    """The notices about one thing, newest first: the list shows the latest and folds the earlier ones."""

    notices: list[Notification] = field(default_factory=list)

    @property
    def latest(self) -> Notification:
        return self.notices[0]

    @property
    def earlier(self) -> list[Notification]:
        return self.notices[1:]

    @property
    def unread(self) -> bool:
        return any(n.read_at is None for n in self.notices)

    @property
    def state(self) -> str:
        return "unread" if self.unread else "read"


def notice_groups(user_id: int, page: int = 1, per_page: int = 25) -> Page:
    """One page of the user's notices grouped per topic, newest group first by its latest notice (the
    time it happened: a job or an action may write an older one later). Three queries."""
    group = _group().label("group")
    groups = (
        select(group, func.max(Notification.created_at).label("at"), func.max(Notification.id).label("last"))
        .where(Notification.user_id == user_id)
        .group_by(group)
    )
    total = db.session.scalar(select(func.count()).select_from(groups.subquery()))
    page = clamp(page, total, per_page)
    listed = groups.subquery()
    keys = db.session.scalars(
        select(listed.c.group)
        .order_by(listed.c.at.desc(), listed.c.last.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    topics = [k for k in keys if not k.startswith("#")]
    ids = [int(k[1:]) for k in keys if k.startswith("#")]
    notices = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user_id, or_(Notification.topic.in_(topics), Notification.id.in_(ids)))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    ).all()
    by_key: dict[str, NoticeGroup] = {k: NoticeGroup() for k in keys}
    for notice in notices:
        by_key[notice.topic or f"#{notice.id}"].notices.append(notice)
    return Page(
        items=[by_key[k] for k in keys if by_key[k].notices], total=total, page=page, per_page=per_page
    )


def mark_read(user_id: int, notification_id: int | None = None, now=None) -> int:
    """Mark one notice and the rest of its group (or, with None, every notice) of this user as read."""
    stmt = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if notification_id is not None:
        topic = db.session.scalar(
            select(Notification.topic).where(
                Notification.id == notification_id, Notification.user_id == user_id
            )
        )
        stmt = stmt.where(Notification.topic == topic if topic else Notification.id == notification_id)
    return db.session.execute(stmt.values(read_at=now or utcnow())).rowcount


def load_notification(notification_id: int, user_id: int) -> Notification | None:
    """The user's own notification with this id; another user's is None, as an unknown one is."""
    return db.session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == user_id)
    )
