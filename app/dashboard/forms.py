"""Dashboard forms (Flask-WTF: every form carries a CSRF token)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Optional, Regexp


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
    alert_threshold_pct = StringField(
        "Alert thresholds (%)",
        validators=[DataRequired(message="Enter a whole number from 1 to 100, or several such as 50, 75, 90.")],
    )


class PaceNudgesForm(FlaskForm):
    """The organization's switch for personal pace nudges (admins)."""

    enabled = BooleanField("Send pace nudges to people in this organization")


class MyNudgesForm(FlaskForm):
    """Turn one's own pace nudges on or off."""

    on = HiddenField()


class AllowanceForm(FlaskForm):
    """A person's monthly allowance, the measure of their pace nudges (admins); empty clears it."""

    email = EmailField("Person's email", validators=[DataRequired(message="Enter the person's email address."),
                                                     Email(message="Enter an email address.")])
    amount = StringField("Monthly allowance (USD)", validators=[Optional()])


class ReimbursementForm(FlaskForm):
    """An employee's reimbursement request."""

    amount = StringField("Amount", validators=[DataRequired(message="Enter the amount, such as 42.50.")])
    currency = StringField("Currency", default="USD",
                           validators=[DataRequired(), Regexp(r"^[A-Za-z]{3}$", message="Use a three-letter code such as USD.")])
    period = StringField("Month", validators=[DataRequired(message="Choose the month the usage belongs to."),
                                              Regexp(r"^\d{4}-\d{2}$", message="Use the form YYYY-MM.")])
    description = TextAreaField("What was it for?", validators=[DataRequired(message="Say what the money was spent on.")])
    approver_email = SelectField("Approver", choices=[], validate_choice=False)


class DecisionForm(FlaskForm):
    """Approve or Reject on the Approvals page (the button pressed decides)."""

    reason = TextAreaField("Reason", validators=[Optional()])


class AlertActionForm(FlaskForm):
    """Acknowledge, Resolve, Reopen or Snooze on the Alerts page (the button pressed says which)."""

    snooze = SelectField("Snooze for", choices=[], validate_choice=False)


class LinkTicketForm(FlaskForm):
    """Link an existing ticket to an alert on the Alerts page: which connector, and the ticket's key or URL."""

    connector = SelectField("Ticketing system", choices=[], validate_choice=False)
    key = StringField("Ticket key or URL")
