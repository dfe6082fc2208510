"""Sign-in and account forms (Flask-WTF gives each a CSRF token)."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError


class SignInForm(FlaskForm):
    email = EmailField(
        "Email address",
        validators=[DataRequired("Enter your email address."), Length(max=254)],
    )
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


def _acceptable_password(form, field):
    from server.auth.passwords import password_problem

    problem = password_problem(field.data)
    if problem:
        raise ValidationError(problem)


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        description="At least 12 characters. A few words you will remember work well.",
        validators=[DataRequired("Enter a new password."), _acceptable_password],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Type the new password again",
        validators=[
            DataRequired("Type the new password again."),
            EqualTo("password", "The two passwords are not the same."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(
        "Your password now",
        validators=[DataRequired("Enter your password now.")],
        render_kw={"autocomplete": "current-password"},
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "Email address",
        validators=[
            DataRequired("Enter your email address."),
            Length(max=254, message="That is too long for an email address."),
        ],
    )


class CodeForm(FlaskForm):
    code = StringField(
        "Code",
        description="The 6 numbers your authenticator app shows now, or one of your recovery codes.",
        validators=[
            DataRequired("Enter the code from your authenticator app."),
            Length(max=20, message="That code is too long."),
        ],
        render_kw={"autocomplete": "one-time-code", "spellcheck": "false"},
    )
