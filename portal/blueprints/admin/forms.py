from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, DecimalField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from portal.forms import choices
from portal.services.auth import MIN_PASSWORD_LENGTH

NO_ACCOUNT = "— none (operations and admin) —"


class UserForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[
            DataRequired(),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Invalid email address."),
            Length(max=254),
        ],
    )
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    role = SelectField(
        "Role", choices=choices([("agent", "Agent"), ("operations", "Operations"), ("admin", "Admin")])
    )
    account = SelectField("Client account", choices=choices([("", NO_ACCOUNT)]), validators=[Optional()])
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH, message=f"At least {MIN_PASSWORD_LENGTH} characters."),
        ],
    )
    submit = SubmitField("Create user")


class AccountForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[
            DataRequired(),
            Length(max=20),
            Regexp(r"^[A-Za-z0-9-]+$", message="Letters, digits and hyphens only."),
        ],
    )
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    currency = StringField(
        "Currency",
        validators=[DataRequired(), Regexp(r"^[A-Za-z]{3}$", message="A three-letter code such as SGD.")],
    )
    service_fee = DecimalField(
        "Service fee per passenger",
        places=2,
        default=0,
        validators=[Optional(), NumberRange(min=0, message="Cannot be negative.")],
    )
    submit = SubmitField("Create account")


class ImportForm(FlaskForm):
    file = FileField("Bookings file (JSON)", validators=[FileRequired("Choose a JSON file to import.")])
    submit = SubmitField("Import")


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    kind = SelectField("Event", validators=[Optional()])
    email = StringField("E-mail starts with", validators=[Optional(), Length(max=254)])
    account = SelectField("Account", choices=choices([("", "All accounts")]), validators=[Optional()])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
