from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import Optional

from portal.forms import choices

STATES = [("open", "Open"), ("accepted", "Accepted"), ("refund", "Free refund"), ("any", "Any")]


class ScheduleChangeFilters(FlaskForm):
    class Meta:
        csrf = False

    state = SelectField("Status", choices=choices(STATES), validators=[Optional()])
    account = SelectField("Account", choices=choices([("", "All accounts")]), validators=[Optional()])

    @property
    def open_only(self) -> bool:
        """Only the changes no one has answered (Status: Open, the default)."""
        return self.state.data == "open"
