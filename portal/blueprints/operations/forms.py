from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from portal.domain.refunds import PATH_LABELS, STATUS_LABELS
from portal.forms import choices


class RefundQueueFilters(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(
        "Status",
        choices=choices([("open", "Not final"), ("", "Any"), *STATUS_LABELS.items()]),
        validators=[Optional()],
    )
    path = SelectField("Path", choices=choices([("", "Any"), *PATH_LABELS.items()]), validators=[Optional()])
    account = SelectField("Account", choices=choices([("", "All accounts")]), validators=[Optional()])
    deadline = SelectField(
        "Deadline",
        choices=choices([("", "Any"), ("overdue", "Overdue (over 4 hours)")]),
        validators=[Optional()],
    )


class RefundActionForm(FlaskForm):
    """Fields of every queue action; each action reads the ones it needs."""

    reference = StringField("Airline reference", validators=[Optional()])
    amount = StringField("Amount refunded by the airline", validators=[Optional()])
    refunded_on = DateField("Airline refund date", validators=[Optional()])
    reason = TextAreaField("Reason", validators=[Optional()])
