from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter your email."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password.")])
    submit = SubmitField("Log in")
