"""Forms of service requests: raising one, the thread, quotes, the lists' filters and the admin pages."""

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.domain.requests import BEHAVIOUR_LABELS, STATUS_LABELS, description_required
from portal.forms import choices
from portal.services.catalogues import offered_category

ATTACHMENTS_LABEL = "Attachments (PDF, PNG or JPEG, up to 10 MB each)"


class RequestForm(FlaskForm):
    """Raise a Request (booking known) and New Request (with an order number); passengers travel as
    plain checkboxes named "passenger"."""

    category = SelectField("Category", validators=[DataRequired(message="Choose a category.")])
    # Required unless the chosen category's behaviour says not (domain.requests.description_required).
    description = TextAreaField("Describe the issue", validators=[Length(max=5000)])
    attachments = MultipleFileField(ATTACHMENTS_LABEL)

    def validate_description(self, field):
        category = offered_category(self.category.data)
        behaviour = category.behaviour if category is not None else None
        if not (field.data or "").strip() and description_required(behaviour):
            raise ValidationError("Describe the issue.")


class NewRequestForm(RequestForm):
    order_number = StringField(
        "Order number", validators=[DataRequired(message="Enter the order number."), Length(max=20)]
    )


class MessageForm(FlaskForm):
    body = TextAreaField(
        "Message", validators=[DataRequired(message="Write a message first."), Length(max=5000)]
    )
    internal = BooleanField("Internal note (operations only; the agency never sees it)")
    attachments = MultipleFileField(ATTACHMENTS_LABEL)


class QuoteForm(FlaskForm):
    """Amounts per passenger travel as plain fields named amount-<ref>."""

    valid_until = DateField("Valid until", validators=[Optional()])
    note = TextAreaField("Note to the agency (optional)", validators=[Optional(), Length(max=2000)])


class RequestFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=40)])
    status = SelectField(
        "Status",
        choices=choices(
            [
                ("", "Any"),
                ("open", "Open (not completed or cancelled)"),
                ("waiting", "Waiting on operations (new or in process)"),
                ("quote", "Quote to answer"),
                *STATUS_LABELS.items(),
            ]
        ),
        validators=[Optional()],
    )
    category = SelectField("Category", choices=choices([("", "Any")]), validators=[Optional()])
    account = SelectField("Account", choices=choices([("", "All accounts")]), validators=[Optional()])
    assigned = SelectField(
        "Assigned", choices=choices([("", "Anyone"), ("me", "Me")]), validators=[Optional()]
    )


BEHAVIOUR_CHOICES = choices(list(BEHAVIOUR_LABELS.items()))


class CategoryForm(FlaskForm):
    label = StringField("Name", validators=[DataRequired(message="Enter a name."), Length(max=120)])
    group = SelectField("Group", validators=[Optional()])
    behaviour = SelectField("Behaviour", choices=BEHAVIOUR_CHOICES, validators=[Optional()])


class RenameForm(FlaskForm):
    label = StringField("New name", validators=[DataRequired(message="Enter a name."), Length(max=120)])
    behaviour = SelectField("Behaviour", choices=BEHAVIOUR_CHOICES, validators=[Optional()])
    involuntary = BooleanField("Involuntary (free of fees)")


class MoveForm(FlaskForm):
    group = SelectField("Move to group", validators=[DataRequired(message="Choose a group.")])


class ReasonForm(FlaskForm):
    label = StringField("Name", validators=[DataRequired(message="Enter a name."), Length(max=120)])
    involuntary = BooleanField("Involuntary (free of fees)")
