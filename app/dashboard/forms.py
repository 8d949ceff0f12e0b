"""Dashboard forms (Flask-WTF: every form carries a CSRF token)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, NumberRange, Optional, Regexp


class LoginForm(FlaskForm):
    """Email and password sign-in."""

    email = EmailField("Email", validators=[DataRequired(), Email()])
    password = PasswordField("Password", validators=[DataRequired()])


class LogoutForm(FlaskForm):
    """An empty form whose CSRF token protects sign-out."""


class BudgetForm(FlaskForm):
    """The monthly budget and its alert threshold."""

    monthly_limit_usd = StringField(
        "Monthly limit (USD)",
        validators=[Optional(), Regexp(r"^\s*\d[\d,]*(\.\d{1,2})?\s*$",
                                       message="Enter an amount in dollars, such as 10000 or 10000.50.")],
    )
    alert_threshold_pct = IntegerField(
        "Alert threshold (%)",
        validators=[DataRequired(message="Enter a whole number from 1 to 100."),
                    NumberRange(min=1, max=100, message="Enter a whole number from 1 to 100.")],
    )
