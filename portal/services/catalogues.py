"""The admin-managed lists agents choose from: request categories (a tree of groups) and refund-claim
reasons. Agents' forms read them on every request, so an admin's change shows at once."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select

from portal.domain.errors import DomainError
from portal.domain.requests import CategoryBehaviour, duplicate_name
from portal.extensions import db
from portal.models import RefundReason, RequestCategory, ServiceRequest

# --- Categories offered to agents ------------------------------------------------------------------


def category_tree(active_only: bool) -> list[tuple[RequestCategory, list[RequestCategory]]]:
    """Groups in order, each with its categories in order, in one query.

    active_only: what agents are offered, so inactive groups and categories and empty groups drop out.
    """
    rows = db.session.scalars(
        select(RequestCategory).order_by(RequestCategory.position, RequestCategory.id)
    ).all()
    groups = [c for c in rows if c.parent_id is None and (c.active or not active_only)]
    children: dict[int, list[RequestCategory]] = {}
    for c in rows:
        if c.parent_id is not None and (c.active or not active_only):
            children.setdefault(c.parent_id, []).append(c)
    tree = [(g, children.get(g.id, [])) for g in groups]
    return [(g, cs) for g, cs in tree if cs] if active_only else tree


def _offered(matches) -> RequestCategory | None:
    for _, categories in category_tree(active_only=True):
        for category in categories:
            if matches(category):
                return category
    return None


def offered_category(category_id) -> RequestCategory | None:
    """The active category (in an active group) with this id, or None."""
    try:
        category_id = int(category_id)
    except (TypeError, ValueError):
        return None
    return _offered(lambda category: category.id == category_id)


def offered_category_by_code(code: str | None) -> RequestCategory | None:
    """The active category (in an active group) with this code (the API names categories by code), or
    None; a group's code is no category."""
    return _offered(lambda category: category.code == code) if code else None


# --- Admin: request categories ---------------------------------------------------------------------


class AdminError(DomainError):
    """An admin change that cannot be made; the message says why."""


def _code(label: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:30] or "item"
    return f"{slug}_{secrets.token_hex(3)}"


def _clean_label(label: str) -> str:
    text = " ".join((label or "").split())
    if not text:
        raise AdminError("Enter a name.", field="label")
    if len(text) > 120:
        raise AdminError("Keep the name under 120 characters.", field="label")
    return text


def _refuse_duplicate(label: str, others, where: str) -> None:
    """One name once per group (and per list of reasons), whatever its case and spacing."""
    same = duplicate_name(label, [other.label for other in others])
    if same is not None:
        raise AdminError(f"{where} already has {same}; choose another name.", field="label")


def _children(parent_id: int | None) -> list[RequestCategory]:
    parent = RequestCategory.parent_id
    where = parent.is_(None) if parent_id is None else parent == parent_id
    return list(db.session.scalars(select(RequestCategory).where(where)))


def _where(parent: RequestCategory | None) -> str:
    return f"The group {parent.label}" if parent is not None else "The list of groups"


def _siblings(category: RequestCategory) -> list[RequestCategory]:
    parent = RequestCategory.parent_id
    where = parent.is_(None) if category.parent_id is None else parent == category.parent_id
    return list(
        db.session.scalars(
            select(RequestCategory).where(where).order_by(RequestCategory.position, RequestCategory.id)
        )
    )


def _group(group_id) -> RequestCategory:
    group = db.session.get(RequestCategory, int(group_id)) if str(group_id).isdigit() else None
    if group is None or group.parent_id is not None:
        raise AdminError("Choose a group.", field="group")
    return group


def add_category(label: str, group_id, behaviour: str) -> RequestCategory:
    """A new group (group_id empty) or a new category at the end of a group."""
    label = _clean_label(label)
    if group_id in (None, ""):
        _refuse_duplicate(label, _children(None), _where(None))
        siblings_max = db.session.scalar(
            select(func.max(RequestCategory.position)).where(RequestCategory.parent_id.is_(None))
        )
        category = RequestCategory(code=_code(label), label=label, position=(siblings_max or 0) + 1)
    else:
        group = _group(group_id)
        _refuse_duplicate(label, _children(group.id), _where(group))
        try:
            behaviour = CategoryBehaviour(behaviour).value
        except ValueError:
            raise AdminError("Choose a behaviour.", field="behaviour") from None
        siblings_max = db.session.scalar(
            select(func.max(RequestCategory.position)).where(RequestCategory.parent_id == group.id)
        )
        category = RequestCategory(
            code=_code(label),
            label=label,
            parent_id=group.id,
            behaviour=behaviour,
            position=(siblings_max or 0) + 1,
        )
    db.session.add(category)
    db.session.flush()
    return category


def update_category(category: RequestCategory, *, label: str, behaviour: str | None = None) -> None:
    label = _clean_label(label)
    others = [c for c in _children(category.parent_id) if c.id != category.id]
    _refuse_duplicate(label, others, _where(category.parent))
    category.label = label
    if behaviour and category.parent_id is not None:
        try:
            category.behaviour = CategoryBehaviour(behaviour).value
        except ValueError:
            raise AdminError("Choose a behaviour.", field="behaviour") from None
    db.session.flush()


def move_category(category: RequestCategory, group_id) -> None:
    if category.parent_id is None:
        raise AdminError("A group cannot move into another group.")
    group = _group(group_id)
    if group.id == category.parent_id:
        return
    _refuse_duplicate(category.label, _children(group.id), _where(group))
    siblings_max = db.session.scalar(
        select(func.max(RequestCategory.position)).where(RequestCategory.parent_id == group.id)
    )
    category.parent_id = group.id
    category.position = (siblings_max or 0) + 1
    db.session.flush()


def _reorder(items: list, item, direction: str) -> None:
    index = items.index(item)
    target = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down"):
        raise AdminError("Move up or down.")
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]
    for position, thing in enumerate(items):
        thing.position = position
    db.session.flush()


def reorder_category(category: RequestCategory, direction: str) -> None:
    _reorder(_siblings(category), category, direction)


def set_category_active(category: RequestCategory, active: bool) -> None:
    category.active = active
    db.session.flush()


def category_usage() -> dict[int, int]:
    """Requests per category id, in one query."""
    rows = db.session.execute(
        select(ServiceRequest.category_id, func.count()).group_by(ServiceRequest.category_id)
    ).all()
    return dict(rows)


def delete_category(category: RequestCategory) -> None:
    """Only an unused category (or an empty group) can be deleted; the rest are deactivated."""
    used = db.session.scalar(
        select(func.count()).select_from(ServiceRequest).where(ServiceRequest.category_id == category.id)
    )
    if used:
        raise AdminError(
            f"{category.label} is used by {used} request{'s' if used != 1 else ''}; deactivate it instead."
        )
    children = db.session.scalar(
        select(func.count()).select_from(RequestCategory).where(RequestCategory.parent_id == category.id)
    )
    if children:
        raise AdminError(f"{category.label} still holds categories; move or delete them first.")
    db.session.delete(category)
    db.session.flush()


# --- Admin: refund-claim reasons -------------------------------------------------------------------


def all_reasons() -> list[RefundReason]:
    return list(db.session.scalars(select(RefundReason).order_by(RefundReason.position, RefundReason.id)))


def add_reason(label: str, involuntary: bool) -> RefundReason:
    label = _clean_label(label)
    _refuse_duplicate(label, all_reasons(), "The list of reasons")
    last = db.session.scalar(select(func.max(RefundReason.position)))
    reason = RefundReason(
        code=_code(label), label=label, position=(last or 0) + 1, involuntary=bool(involuntary)
    )
    db.session.add(reason)
    db.session.flush()
    return reason


def update_reason(reason: RefundReason, *, label: str, involuntary: bool | None = None) -> None:
    label = _clean_label(label)
    _refuse_duplicate(label, [r for r in all_reasons() if r.id != reason.id], "The list of reasons")
    reason.label = label
    if involuntary is not None:
        reason.involuntary = involuntary
    db.session.flush()


def reorder_reason(reason: RefundReason, direction: str) -> None:
    _reorder(all_reasons(), reason, direction)


def set_reason_active(reason: RefundReason, active: bool) -> None:
    reason.active = active
    db.session.flush()


def category_groups() -> list[RequestCategory]:
    """The top-level groups, in order (for the admin's group choices)."""
    return list(
        db.session.scalars(
            select(RequestCategory)
            .where(RequestCategory.parent_id.is_(None))
            .order_by(RequestCategory.position, RequestCategory.id)
        )
    )


def get_category(category_id: int) -> RequestCategory | None:
    return db.session.get(RequestCategory, category_id)


def active_reasons() -> list[RefundReason]:
    """The reasons offered on the Refund Claim form, in order."""
    return list(
        db.session.scalars(select(RefundReason).where(RefundReason.active).order_by(RefundReason.position))
    )


def get_reason(reason_id: int) -> RefundReason | None:
    return db.session.get(RefundReason, reason_id)
