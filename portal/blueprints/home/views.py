"""Home: the page each user lands on, with what waits on them as counts that open their lists."""

from flask import Blueprint
from flask_login import current_user, login_required

from portal.clock import utcnow
from portal.htmx import render
from portal.security import current_scope
from portal.services.dashboard import dashboard

bp = Blueprint("home", __name__)


@bp.get("/home")
@login_required
def home():
    """The whole page, or (polled by htmx every minute) just its tiles."""
    return render("home/home.html", block="tiles", board=dashboard(current_user, current_scope(), utcnow()))
