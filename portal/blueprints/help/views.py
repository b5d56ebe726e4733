"""Help: the user guide in the portal, for agents and for operations (issue 15, item 6)."""

from flask import Blueprint, abort
from flask_login import login_required

from portal.blueprints.help.guide import AUDIENCES, BY_SLUG, tasks_for
from portal.htmx import render

bp = Blueprint("help", __name__, url_prefix="/help")


@bp.get("/")
@login_required
def index():
    sections = [(label, tasks_for(audience)) for audience, label in AUDIENCES.items()]
    return render("help/index.html", sections=sections)


@bp.get("/<slug>")
@login_required
def page(slug):
    task = BY_SLUG.get(slug)
    if task is None:
        abort(404)
    others = [t for t in tasks_for(task.audience) if t is not task]
    return render(task.template, task=task, others=others)
