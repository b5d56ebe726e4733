"""API keys on the user's own page: create one (shown once), see when each was last used, revoke. An
agency admin also sees and revokes the keys of its own account's users (another account's is a 404)."""

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user, login_required

from portal.blueprints.api_keys.forms import ApiKeyForm
from portal.forms import ActionForm
from portal.htmx import render
from portal.security import found
from portal.services.api_keys import account_keys, create_api_key, load_key, revoke_api_key, user_keys
from portal.uow import attempt

bp = Blueprint("api_keys", __name__, url_prefix="/account/api-keys")


def _page(form=None, new_key=None, status=200):
    return render(
        "api_keys/keys.html",
        form=form or ApiKeyForm(formdata=None),
        keys=user_keys(current_user),
        account_keys=account_keys(current_user),
        new_key=new_key,
        action=ActionForm(),
    ), status


@bp.route("", methods=["GET", "POST"])
@login_required
def api_keys():
    form = ApiKeyForm()
    if not form.is_submitted():
        return _page()
    if not form.validate():
        return _page(form=form, status=422)
    with attempt() as outcome:
        key, secret = create_api_key(current_user, form.name.data, by=current_user)
    if outcome.failed:
        outcome.to_form(form) or form.name.errors.append(outcome.message)
        return _page(form=form, status=outcome.status)
    # Shown on this answer only (never stored, never redirected through the session).
    return _page(new_key=(key, secret))


@bp.post("/<int:key_id>/revoke")
@login_required
def revoke_key(key_id):
    key = found(load_key(key_id, current_user))
    if ActionForm().validate_on_submit():
        with attempt() as outcome:
            revoke_api_key(key, by=current_user)
        if outcome.failed:
            flash(outcome.message, "error")
        else:
            flash(f"Key {key.name} revoked: calls with it are refused from now on.", "success")
    return redirect(url_for("api_keys.api_keys"), code=303)
