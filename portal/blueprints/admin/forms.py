from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from portal.forms import choices, statement_emails_field, statement_schedule_field
from portal.services.passwords import new_password_refusal

NO_ACCOUNT = "— none (operations and admin) —"
ROLE_CHOICES = [
    ("agent", "Agent"),
    ("agency_admin", "Agency admin"),
    ("operations", "Operations"),
    ("admin", "Admin"),
]


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
    role = SelectField("Role", choices=choices(ROLE_CHOICES))
    account = SelectField("Client account", choices=choices([("", NO_ACCOUNT)]), validators=[Optional()])
    # Temporary: the user chooses their own at first login. The rule is the domain's (services ask it).
    password = PasswordField(
        "Temporary password", validators=[DataRequired(message="Type a temporary password.")]
    )
    submit = SubmitField("Create user")

    def validate_password(self, field):
        # The service refuses it too; asking here shows it beside the other fields' errors.
        refusal = new_password_refusal(field.data or "", (self.email.data or "").strip())
        if refusal:
            raise ValidationError(refusal)


class EditUserForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", choices=choices(ROLE_CHOICES))
    account = SelectField("Client account", choices=choices([("", NO_ACCOUNT)]), validators=[Optional()])
    active = BooleanField("Active (may log in)")
    submit = SubmitField("Save changes")


class TemporaryPasswordForm(FlaskForm):
    password = PasswordField(
        "Temporary password", validators=[DataRequired(message="Type a temporary password.")]
    )
    submit = SubmitField("Set a temporary password")


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


class EditAccountForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    # Text, read by the one amount parser in the service (no exponents, no rounding).
    service_fee = StringField("Service fee per passenger", validators=[DataRequired(), Length(max=40)])
    statement_emails = statement_emails_field()
    statement_schedule = statement_schedule_field()
    notice_emails = TextAreaField(
        "E-mail addresses for notices",
        validators=[Length(max=6000)],
        description="One or more, separated by commas or new lines; empty for none.",
    )
    submit = SubmitField("Save changes")


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
