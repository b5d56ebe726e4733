"""Form helpers shared by the blueprints."""

from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from portal.domain.statement_mail import SCHEDULE_LABELS
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


def statement_emails_field() -> TextAreaField:
    return TextAreaField(
        "E-mail addresses for statements",
        validators=[Length(max=6000)],
        description="One or more, separated by commas or new lines; empty for none.",
    )


def statement_schedule_field() -> SelectField:
    # The service reads the choice (portal.domain.statement_mail.parse_schedule); missing keeps it as it is.
    return SelectField(
        "Statements by e-mail",
        choices=choices([(s.value, label) for s, label in SCHEDULE_LABELS.items()]),
        validate_choice=False,
        description="The job sends the last whole period's statement (XLSX attached) to these addresses.",
    )


class StatementDeliveryForm(FlaskForm):
    """Where and how often an account's statement is e-mailed (the agency's admin, an admin)."""

    statement_emails = statement_emails_field()
    statement_schedule = statement_schedule_field()
