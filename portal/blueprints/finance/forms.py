from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, SearchField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from portal.domain.refunds import STATUS_LABELS
from portal.forms import choices


def _not_before(start_field: str):
    def check(form, field):
        start = getattr(form, start_field).data
        if field.data and start and field.data < start:
            raise ValidationError("The end date is before the start date.")

    return check


class RefundListForm(FlaskForm):
    """Finance → Refunds filters: a plain GET form, so it works without JavaScript and can be bookmarked."""

    class Meta:
        csrf = False

    q = SearchField(
        "Search",
        validators=[Optional(), Length(max=80, message="Search at most 80 characters.")],
        description="Order number, refund code, passenger name or ticket number",
    )
    status = SelectField(
        "Status", choices=choices([("", "Any"), *STATUS_LABELS.items()]), validators=[Optional()]
    )
    follow_up = SelectField(
        "Follow-up",
        choices=choices([("", "Any"), ("available", "Follow-up available")]),
        validators=[Optional()],
    )
    submitted_from = DateField("Submitted from", validators=[Optional()])
    submitted_to = DateField("Submitted to", validators=[Optional(), _not_before("submitted_from")])
    account = SelectField("Account", choices=choices([("", "All accounts")]), validators=[Optional()])


class BatchUploadForm(FlaskForm):
    file = FileField("Filled template (CSV or XLSX, up to 5 MB)")


class StatementForm(FlaskForm):
    class Meta:
        csrf = False

    account = SelectField("Account", choices=choices([("", "Choose an account")]), validators=[Optional()])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional(), _not_before("date_from")])


class AdjustmentForm(FlaskForm):
    amount = StringField(
        "Amount", description="Positive credits the account, negative debits it (e.g. -25.50)"
    )
    reason = TextAreaField("Reason (the agency sees it on its statement)")
