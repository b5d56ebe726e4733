from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional


class AcceptQuoteForm(FlaskForm):
    """The Refund confirm: the coupons and the fingerprint of the quote shown travel as plain fields."""


class RefundClaimForm(FlaskForm):
    reason = SelectField("Reason", validators=[DataRequired(message="Choose the reason for the refund.")])
    airline_fulfilled_on = DateField(
        "Airline fulfillment date",
        validators=[InputRequired(message="Enter the date the airline confirmed the refund.")],
    )
    proof = FileField("Proof of the airline's confirmation (PDF, PNG or JPEG, up to 10 MB)")
    note = TextAreaField("Note (optional)", validators=[Optional(), Length(max=2000)])
