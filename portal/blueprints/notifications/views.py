"""The notification bell, its dropdown and the list (notices grouped per refund or request)."""

from flask import Blueprint, redirect, request, url_for
from flask_login import current_user, login_required

from portal.forms import ActionForm
from portal.htmx import is_partial, page_number, render
from portal.links import local_path
from portal.security import found
from portal.services.notifications import load_notification, mark_read, notice_groups, unread_count

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

MENU_SIZE = 8


def _list(oob: bool = False):
    return render(
        "notifications/list.html",
        block="notifications",
        page=notice_groups(current_user.id, page_number()),
        unread=unread_count(current_user.id),
        form=ActionForm(),
        oob=oob,
    )


def _menu():
    return render(
        "notifications/_menu.html",
        groups=notice_groups(current_user.id, 1, MENU_SIZE).items,
        unread=unread_count(current_user.id),
        form=ActionForm(),
    )


@bp.get("/")
@login_required
def notification_list():
    return _list()


@bp.get("/bell")
@login_required
def bell():
    """Just the bell, for htmx polling."""
    return render("notifications/_bell.html", unread=unread_count(current_user.id))


@bp.get("/menu")
@login_required
def menu():
    """The bell's dropdown (htmx); without JavaScript the bell leads to the list instead."""
    if not is_partial():
        return redirect(url_for("notifications.notification_list"))
    return _menu()


@bp.post("/read")
@bp.post("/<int:notification_id>/read")
@login_required
def read(notification_id=None):
    if notification_id is not None:
        found(load_notification(notification_id, current_user.id))  # another user's is a 404
    if ActionForm().validate_on_submit():
        mark_read(current_user.id, notification_id)
    if is_partial():
        return _menu() if request.form.get("view") == "menu" else _list(oob=True)
    target = local_path(request.form.get("next", ""))
    return redirect(target or url_for("notifications.notification_list"), code=303)
