from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import choices


class InviteForm(FlaskForm):
    email = EmailField(
        "Email", validators=[DataRequired(message="Enter the e-mail address."), Length(max=254)]
    )
    name = StringField("Name", validators=[DataRequired(message="Enter the name."), Length(max=120)])
    role = SelectField("Role", choices=choices([("agent", "Agent")]))
    temporary_password = PasswordField(
        "Temporary password (optional)", validators=[Optional(), Length(max=128)]
    )


class TemporaryPasswordForm(FlaskForm):
    password = PasswordField("Temporary password", validators=[DataRequired(), Length(max=128)])
