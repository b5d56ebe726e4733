"""The notification bell and list."""

from flask import Blueprint, redirect, request, url_for
from flask_login import current_user, login_required

from portal.forms import ActionForm
from portal.htmx import is_partial, render
from portal.links import local_path
from portal.security import found
from portal.services.notifications import load_notification, mark_read, recent, unread_count

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("/")
@login_required
def notification_list():
    return render(
        "notifications/list.html",
        block="notifications",
        notifications=recent(current_user.id),
        unread=unread_count(current_user.id),
        form=ActionForm(),
    )


@bp.get("/bell")
@login_required
def bell():
    """Just the bell, for htmx polling."""
    return render("notifications/_bell.html", unread=unread_count(current_user.id))


@bp.post("/read")
@bp.post("/<int:notification_id>/read")
@login_required
def read(notification_id=None):
    if notification_id is not None:
        found(load_notification(notification_id, current_user.id))  # another user's is a 404
    if ActionForm().validate_on_submit():
        mark_read(current_user.id, notification_id)
    if is_partial():
        return render(
            "notifications/list.html",
            block="notifications",
            notifications=recent(current_user.id),
            unread=unread_count(current_user.id),
            form=ActionForm(),
        )
    target = local_path(request.form.get("next", ""))
    return redirect(target or url_for("notifications.notification_list"), code=303)
