"""Form helpers shared by the blueprints."""

from wtforms.fields.choices import SelectChoice


def choices(pairs, optgroup: str | None = None) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


def account_choices(first: str = "All accounts", *, with_names: bool = False) -> list[SelectChoice]:
    """Client accounts for a staff filter or form: value is the account id, label its code (and name)."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Account

    rows = db.session.execute(select(Account.id, Account.code, Account.name).order_by(Account.code)).all()
    return choices(
        [("", first)] + [(str(a.id), f"{a.code} — {a.name}" if with_names else a.code) for a in rows]
    )
