"""Admin pages for request categories (a tree of groups) and refund-claim reasons: add, rename in
place, regroup, reorder, deactivate and reactivate, delete when unused. Every change shows in the
agents' forms at once: the forms read the table on every request."""

from flask import Blueprint, abort, flash, redirect, request, url_for

from portal.blueprints.requests.forms import CategoryForm, MoveForm, ReasonForm, RenameForm
from portal.forms import ActionForm, choices
from portal.htmx import is_partial, render
from portal.models import RefundReason, RequestCategory
from portal.security import admin_required, found
from portal.services.catalogues import (
    add_category,
    add_reason,
    all_reasons,
    category_groups,
    category_tree,
    category_usage,
    delete_category,
    get_category,
    get_reason,
    move_category,
    reorder_category,
    reorder_reason,
    set_category_active,
    set_reason_active,
    update_category,
    update_reason,
)
from portal.uow import attempt

bp = Blueprint("request_admin", __name__, url_prefix="/admin")


# --- Request categories ---------------------------------------------------------------------------


def _categories_page(form=None, editing: int | None = None, rename_form=None, error=None, status=200):
    form = form or CategoryForm(formdata=None)
    groups = category_groups()
    form.group.choices = choices([("", "— None: a new group —")] + [(str(g.id), g.label) for g in groups])
    move = MoveForm(formdata=None)
    move.group.choices = choices([(str(g.id), g.label) for g in groups])
    return render(
        "requests/admin_categories.html",
        block="tree",
        tree=category_tree(active_only=False),
        usage=category_usage(),
        form=form,
        move=move,
        editing=editing,
        rename_form=rename_form or RenameForm(formdata=None),
        action=ActionForm(),
        error=error,
    ), status


def _category(category_id: int) -> RequestCategory:
    return found(get_category(category_id))


def _done(message: str, endpoint: str, page):
    """htmx: the list again, in place; otherwise a flash and a 303 back to the page."""
    if is_partial():
        return page()
    flash(message, "success")
    return redirect(url_for(endpoint), code=303)


def _failed(error: str, endpoint: str, page):
    if is_partial():
        return page(error=error, status=422)
    flash(error, "error")
    return redirect(url_for(endpoint), code=303)


@bp.route("/request-categories", methods=["GET", "POST"])
@admin_required
def request_categories():
    form = CategoryForm()
    if request.method == "POST":
        form.group.choices = choices([("", "")] + [(str(g.id), g.label) for g in category_groups()])
        if form.validate_on_submit():
            with attempt() as outcome:
                category = add_category(form.label.data, form.group.data, form.behaviour.data)
            if outcome.failed:
                if not outcome.to_form(form):
                    form.label.errors = [*form.label.errors, outcome.message]
            else:
                flash(f"{'Group' if category.is_group else 'Category'} {category.label} added.", "success")
                return redirect(url_for("request_admin.request_categories"), code=303)
        return _categories_page(form=form, status=422)
    return _categories_page()


@bp.route("/request-categories/<int:category_id>/rename", methods=["GET", "POST"])
@admin_required
def rename_category(category_id):
    category = _category(category_id)
    if request.method == "GET":
        rename = RenameForm(formdata=None, label=category.label, behaviour=category.behaviour)
        if is_partial():
            return render(
                "requests/_category_row.html",
                c=category,
                is_child=category.parent_id is not None,
                editing=category.id,
                rename_form=rename,
                usage=category_usage(),
                move=None,
                action=ActionForm(),
            )
        return _categories_page(editing=category.id, rename_form=rename)
    rename = RenameForm()
    if not rename.validate_on_submit():
        return _categories_page(editing=category.id, rename_form=rename, status=422)
    with attempt() as outcome:
        update_category(category, label=rename.label.data, behaviour=rename.behaviour.data)
    if outcome.failed:
        if not outcome.to_form(rename):
            rename.label.errors = [*rename.label.errors, outcome.message]
        return _categories_page(editing=category.id, rename_form=rename, status=422)
    return _done(f"Renamed to {category.label}.", "request_admin.request_categories", _categories_page)


def _apply_change(item, change, message, endpoint: str, page):
    """One button on a category or reason row (reorder, (de)activate): CSRF, change, the page again."""
    if not ActionForm().validate_on_submit():
        abort(400)
    with attempt() as outcome:
        change(item)
    if outcome.failed:
        return _failed(outcome.message, endpoint, page)
    return _done(message(item), endpoint, page)


def _category_change(category_id: int, change, message):
    return _apply_change(
        _category(category_id), change, message, "request_admin.request_categories", _categories_page
    )


@bp.post("/request-categories/<int:category_id>/<any(up, down):direction>")
@admin_required
def reorder_request_category(category_id, direction):
    return _category_change(
        category_id, lambda c: reorder_category(c, direction), lambda c: f"{c.label} moved {direction}."
    )


@bp.post("/request-categories/<int:category_id>/<any(activate, deactivate):change>")
@admin_required
def set_request_category_active(category_id, change):
    active = change == "activate"
    return _category_change(
        category_id,
        lambda c: set_category_active(c, active),
        lambda c: f"{c.label} {'reactivated' if active else 'deactivated'}.",
    )


@bp.post("/request-categories/<int:category_id>/move")
@admin_required
def move_request_category(category_id):
    group = request.form.get("group", "")
    return _category_change(
        category_id, lambda c: move_category(c, group), lambda c: f"{c.label} moved to {c.parent.label}."
    )


@bp.get("/request-categories/<int:category_id>/delete")
@admin_required
def confirm_delete_category(category_id):
    """Delete asks first: a plain form step naming the category, with Delete and Cancel (no JS dialog).
    htmx puts it in place of the row; without JavaScript it is a page of its own."""
    category = _category(category_id)
    context = dict(c=category, is_child=category.parent_id is not None, action=ActionForm())
    if is_partial():
        return render("requests/_category_delete_row.html", **context)
    return render("requests/admin_confirm_delete.html", **context)


@bp.post("/request-categories/<int:category_id>/delete")
@admin_required
def delete_request_category(category_id):
    label = _category(category_id).label
    return _category_change(category_id, delete_category, lambda c: f"{label} deleted.")


# --- Refund-claim reasons --------------------------------------------------------------------------


def _reasons_page(form=None, editing: int | None = None, rename_form=None, error=None, status=200):
    return render(
        "requests/admin_reasons.html",
        block="tree",
        reasons=all_reasons(),
        form=form or ReasonForm(formdata=None),
        editing=editing,
        rename_form=rename_form or RenameForm(formdata=None),
        action=ActionForm(),
        error=error,
    ), status


def _reason(reason_id: int) -> RefundReason:
    return found(get_reason(reason_id))


@bp.route("/refund-reasons", methods=["GET", "POST"])
@admin_required
def refund_reasons():
    form = ReasonForm()
    if request.method == "POST":
        if form.validate_on_submit():
            with attempt() as outcome:
                reason = add_reason(form.label.data, form.involuntary.data)
            if outcome.failed:
                if not outcome.to_form(form):
                    form.label.errors = [*form.label.errors, outcome.message]
            else:
                flash(f"Reason {reason.label} added.", "success")
                return redirect(url_for("request_admin.refund_reasons"), code=303)
        return _reasons_page(form=form, status=422)
    return _reasons_page()


@bp.route("/refund-reasons/<int:reason_id>/rename", methods=["GET", "POST"])
@admin_required
def rename_reason(reason_id):
    reason = _reason(reason_id)
    if request.method == "GET":
        rename = RenameForm(formdata=None, label=reason.label, involuntary=reason.involuntary)
        if is_partial():
            return render(
                "requests/_reason_row.html",
                r=reason,
                editing=reason.id,
                rename_form=rename,
                action=ActionForm(),
            )
        return _reasons_page(editing=reason.id, rename_form=rename)
    rename = RenameForm()
    if not rename.validate_on_submit():
        return _reasons_page(editing=reason.id, rename_form=rename, status=422)
    with attempt() as outcome:
        update_reason(reason, label=rename.label.data, involuntary=rename.involuntary.data)
    if outcome.failed:
        if not outcome.to_form(rename):
            rename.label.errors = [*rename.label.errors, outcome.message]
        return _reasons_page(editing=reason.id, rename_form=rename, status=422)
    return _done(f"Saved {reason.label}.", "request_admin.refund_reasons", _reasons_page)


def _reason_change(reason_id: int, change, message):
    return _apply_change(_reason(reason_id), change, message, "request_admin.refund_reasons", _reasons_page)


@bp.post("/refund-reasons/<int:reason_id>/<any(up, down):direction>")
@admin_required
def reorder_refund_reason(reason_id, direction):
    return _reason_change(
        reason_id, lambda r: reorder_reason(r, direction), lambda r: f"{r.label} moved {direction}."
    )


@bp.post("/refund-reasons/<int:reason_id>/<any(activate, deactivate):change>")
@admin_required
def set_refund_reason_active(reason_id, change):
    active = change == "activate"
    return _reason_change(
        reason_id,
        lambda r: set_reason_active(r, active),
        lambda r: f"{r.label} {'reactivated' if active else 'deactivated'}.",
    )
