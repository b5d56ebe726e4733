from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, URLField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from portal.domain.webhooks import EVENT_TYPES, MAX_URL
from portal.forms import choices


class ApiKeyForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[DataRequired(message="Give the key a name."), Length(max=80)],
        description="What the key is for, e.g. the system that uses it.",
    )


class EventsField(SelectMultipleField):
    """Checkboxes, one per event type."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class WebhookForm(FlaskForm):
    url = URLField(
        "URL",
        validators=[DataRequired(message="Enter the URL the events go to."), Length(max=MAX_URL)],
        description="https:// only; the portal POSTs each event there, signed.",
    )
    events = EventsField(
        "Events",
        choices=choices((event, event) for event in EVENT_TYPES),
        validators=[DataRequired(message="Choose at least one event.")],
    )
