"""Form helpers shared by the blueprints."""

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import SelectField, TextAreaField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length
from wtforms.widgets import core as widgets_core

from portal.domain.statement_mail import SCHEDULE_LABELS
from portal.services.accounts import account_names


def html_params(**kwargs) -> Markup:
    """WTForms' `html_params` with the same output, built with plain strings: WTForms formats each
    attribute through `Markup.format` (a string.Formatter per attribute), which was most of the time a
    form took to render: about 1 ms of My Bookings' filters on every page."""
    params = []
    for key, value in sorted(kwargs.items()):
        key = escape(widgets_core.clean_key(key))
        if value is True:
            params.append(key)
        elif value is not False:
            params.append(f'{key}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(" ".join(params))  # noqa: S704 (every part escaped above)


# WTForms' own, kept for the test that both give the same output.
WTFORMS_HTML_PARAMS = widgets_core.html_params
# What WTForms' widgets and labels call it by: the module's name, the package's, and the input classes'.
_HTML_PARAMS_HOMES = ((widgets_core, "html_params"), (widgets, "html_params"))
_HTML_PARAMS_CLASSES = (widgets_core.Input, widgets_core.Button)


def use_fast_html_params() -> None:
    """Make every WTForms widget and label render its attributes with `html_params` above (create_app)."""
    for home, name in _HTML_PARAMS_HOMES:
        setattr(home, name, html_params)
    for cls in _HTML_PARAMS_CLASSES:
        cls.html_params = staticmethod(html_params)


def choices(pairs, optgroup: str | None = None) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


def account_choices(first: str = "All accounts", *, with_names: bool = False) -> list[SelectChoice]:
    """Client accounts for a staff filter or form: value is the account id, label its code (and name)."""
    named = [(str(i), f"{code} — {name}" if with_names else code) for i, code, name in account_names()]
    return choices([("", first), *named])


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
