from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

ANY_CODE_HINT = "The 6-digit code from your authenticator app, or one of your recovery codes."


class LoginCodeForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[DataRequired(message="Enter the code."), Length(max=40)],
        description=ANY_CODE_HINT,
    )


class ConfirmEnrolmentForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app",
        validators=[DataRequired(message="Enter the 6-digit code your app shows."), Length(max=40)],
    )


class DisableForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password.")])
    code = StringField(
        "Code",
        validators=[DataRequired(message="Enter the code."), Length(max=40)],
        description=ANY_CODE_HINT,
    )
