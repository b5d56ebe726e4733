"""Form helpers shared by the blueprints."""

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from portal.services.accounts import all_accounts


def choices(pairs, optgroup: str | None = None) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


def account_choices(first: str = "All accounts", *, with_names: bool = False) -> list[SelectChoice]:
    """Client accounts for a staff filter or form: value is the account id, label its code (and name)."""
    rows = all_accounts()
    return choices(
        [("", first)] + [(str(a.id), f"{a.code} — {a.name}" if with_names else a.code) for a in rows]
    )


class ActionForm(FlaskForm):
    """An empty form: gives a POST-only button its CSRF token."""
