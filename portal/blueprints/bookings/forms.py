from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SearchField, SelectField
from wtforms.validators import Length, Optional, ValidationError

from portal.forms import choices
from portal.models.bookings import BOOKING_STATUSES, PAYMENT_CHANNELS


class BookingSearchForm(FlaskForm):
    """My Bookings filters: a plain GET form, so it works without JavaScript and can be bookmarked."""

    class Meta:
        csrf = False

    q = SearchField(
        "Search",
        validators=[Optional(), Length(max=80, message="Search at most 80 characters.")],
        description="Order number, PNR, passenger name or ticket number",
    )
    departure_from = DateField("Departure from", validators=[Optional()])
    departure_to = DateField("Departure to", validators=[Optional()])
    payment_channel = SelectField(
        "Payment channel", choices=choices([("", "Any"), *PAYMENT_CHANNELS.items()]), validators=[Optional()]
    )
    status = SelectField(
        "Status",
        choices=choices([("", "Any"), *BOOKING_STATUSES.items(), ("action_required", "Action required")]),
        validators=[Optional()],
    )
    account = SelectField("Account", choices=choices([("", "All accounts")]), validators=[Optional()])
    page = HiddenField()

    def validate_departure_to(self, field):
        if field.data and self.departure_from.data and field.data < self.departure_from.data:
            raise ValidationError("The end date is before the start date.")
