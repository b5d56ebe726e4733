from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Optional

from portal.domain.baggage import STATUS_LABELS, BaggageStatus
from portal.forms import choices


class AddBaggageForm(FlaskForm):
    """Every value is checked again by the service, so the choices are not enforced here: a forged
    value gets the rule's own message, not a generic "not a valid choice"."""

    passenger = SelectField(
        "Passenger", validate_choice=False, validators=[DataRequired(message="Choose a passenger.")]
    )
    segment = SelectField(
        "Flight", validate_choice=False, validators=[DataRequired(message="Choose a flight.")]
    )
    option = RadioField(
        "Baggage option", validate_choice=False, validators=[DataRequired(message="Choose a baggage option.")]
    )


class BaggageQueueFilters(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(
        "Status",
        choices=choices([*((s.value, label) for s, label in STATUS_LABELS.items()), ("any", "Any")]),
        validators=[Optional()],
    )
    account = SelectField("Account", choices=choices([("", "All accounts")]), validators=[Optional()])

    @property
    def waiting_only(self) -> bool:
        """Only the orders that wait on operations (Status: Requested, the default): what an empty list
        then means differs from an empty answer to another filter."""
        return self.status.data == BaggageStatus.REQUESTED.value


class BaggageActionForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[Optional()])
