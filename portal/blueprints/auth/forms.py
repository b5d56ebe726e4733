from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

# The password rule itself (length, common passwords, the e-mail) is portal.domain.passwords, asked by the
# services; these forms check only that something was typed, and that it was typed twice alike.


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter your email."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password.")])
    submit = SubmitField("Log in")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter your email."), Length(max=254)])
    submit = SubmitField("Send reset link")


def new_password_fields():
    """The new password, and the same again."""
    return (
        PasswordField("New password", validators=[DataRequired(message="Enter a new password.")]),
        PasswordField(
            "New password again",
            validators=[
                DataRequired(message="Type the new password again."),
                EqualTo("new_password", message="The two passwords are not the same."),
            ],
        ),
    )


class ResetPasswordForm(FlaskForm):
    new_password, confirm = new_password_fields()
    submit = SubmitField("Set new password")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired(message="Enter your current password.")]
    )
    new_password, confirm = new_password_fields()
    submit = SubmitField("Change password")
