"""Forms for Integrations → Slack → Alert channels and Integrations → ITSM (Flask-WTF: each carries a CSRF token)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import Email, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.models import SEVERITIES
from app.services.alert_routes import MAX_REMIND_MINUTES, parse_remind_minutes

JIRA_PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,99}")


class MultiCheckboxField(SelectMultipleField):
    """Several values under one name (checkboxes); the templates render them, the form checks them."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _weekday(value):
    """A weekday number from the form, or the raw value for the validator to name."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _severities_field() -> MultiCheckboxField:
    return MultiCheckboxField("Severities", validate_choice=False)


def _check_severities(field) -> None:
    chosen = field.data or []
    unknown = [s for s in chosen if s not in SEVERITIES]
    if unknown:
        raise ValidationError(f"Choose from {', '.join(SEVERITIES)}.")
    if not chosen:
        raise ValidationError("Choose at least one severity: low, medium, high or critical.")


def _remind_field() -> StringField:
    return StringField("Remind if not acknowledged after (minutes)", validators=[Optional(), Length(max=10)],
                       filters=[lambda v: v.strip() if isinstance(v, str) else v])


def _check_remind(field) -> None:
    try:
        parse_remind_minutes(field.data)
    except ValueError:
        raise ValidationError(f"Leave empty for no reminders, or give whole minutes from 1 to {MAX_REMIND_MINUTES} "
                              "(7 days).") from None


class ActionForm(FlaskForm):
    """An empty form whose CSRF token protects a button (remove, test, refresh, delete, ...)."""


DELIVERY_CHOICES = [("realtime", "Real time: each alert as it fires"), ("daily", "Daily digest"),
                    ("weekly", "Weekly digest")]
WEEKDAY_CHOICES = [(i, day) for i, day in enumerate(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                                     "Saturday", "Sunday"))]


class DeliveryFields:
    """Real time or a digest, its local time and (weekly) its day; `delivery_setting` is the checked choice."""

    delivery_setting = ("realtime", None, None)

    # The page lists DELIVERY_CHOICES and WEEKDAY_CHOICES itself; check_delivery validates what comes back.
    delivery = SelectField("Delivery", default="realtime", validate_choice=False)
    digest_time = StringField("Digest time", default="09:00",
                              filters=[lambda v: v.strip() if isinstance(v, str) else v])
    digest_weekday = SelectField("Weekly digest day", default=0, coerce=_weekday, validate_choice=False)

    def validate_delivery(self, field):
        from app.services.digests import DigestError, check_delivery

        try:
            self.delivery_setting = check_delivery(field.data, self.digest_time.data, self.digest_weekday.data)
        except DigestError as exc:
            raise ValidationError(str(exc).replace("digest_time", "The digest time")
                                  .replace("digest_weekday", "The day")) from None


NEVER = "never"  # typed in a severity's reminder field: no reminders for that severity


class SeverityReminderFields:
    """A reminder interval per severity, as exceptions to the channel's: empty uses remind_after_minutes,
    "never" turns reminders off for that severity, else whole minutes (only for severities the channel gets)."""

    remind_low = _remind_field()
    remind_medium = _remind_field()
    remind_high = _remind_field()
    remind_critical = _remind_field()

    def validate(self, extra_validators=None) -> bool:
        """The form's checks, then each severity's reminder interval (only for severities the channel receives)."""
        valid = super().validate(extra_validators)
        for severity in SEVERITIES:
            field = self[f"remind_{severity}"]
            problem = _severity_remind_problem(severity, field.data, self.severities.data or [])
            if problem:
                field.errors = [*field.errors, problem]
                valid = False
        return valid

    def remind_by_severity(self) -> dict[str, int | None] | None:
        """The per-severity intervals filled in (None for "never"), or None when every field is empty."""
        chosen = {s: (None if self[f"remind_{s}"].data.lower() == NEVER else int(self[f"remind_{s}"].data))
                  for s in SEVERITIES if self[f"remind_{s}"].data}
        return chosen or None


class AddChannelForm(DeliveryFields, SeverityReminderFields, FlaskForm):
    """Route alerts of some severities to a Slack channel picked from the list or typed by name, with its
    reminders (one interval, and exceptions per severity)."""

    workspace_id = IntegerField("Slack workspace", validators=[Optional()])
    channel_id = StringField("Channel", validators=[Optional(), Length(max=32)])
    channel_name = StringField("Or type a channel name", validators=[Optional(), Length(max=200)],
                               filters=[lambda v: v.strip() if isinstance(v, str) else v])
    severities = _severities_field()
    remind_after_minutes = _remind_field()

    def validate_severities(self, field):
        _check_severities(field)

    def validate_remind_after_minutes(self, field):
        _check_remind(field)


class BudgetChannelForm(FlaskForm):
    """The channel for the living budget card, picked from the list or typed by name."""

    workspace_id = IntegerField("Slack workspace", validators=[Optional()])
    channel_id = StringField("Channel", validators=[Optional(), Length(max=32)])
    channel_name = StringField("Or type a channel name", validators=[Optional(), Length(max=200)],
                               filters=[lambda v: v.strip() if isinstance(v, str) else v])


class RouteSeveritiesForm(DeliveryFields, SeverityReminderFields, FlaskForm):
    """Change which severities a channel receives, its reminders (one interval, and exceptions per severity),
    and how it receives alerts."""

    severities = _severities_field()
    remind_after_minutes = _remind_field()

    def validate_severities(self, field):
        _check_severities(field)

    def validate_remind_after_minutes(self, field):
        _check_remind(field)

    @staticmethod
    def by_severity_data(route) -> dict[str, str]:
        """The per-severity fields' values showing a route's exceptions."""
        overrides = route.remind_after_by_severity or {}
        return {f"remind_{s}": NEVER if overrides[s] is None else str(overrides[s]) for s in overrides}


def _severity_remind_problem(severity: str, text: str | None, chosen: list[str]) -> str | None:
    """What is wrong with one severity's reminder field, if anything."""
    if not text or (text.lower() == NEVER and severity in chosen):
        return None
    if severity not in chosen:
        return f"This channel does not receive {severity} alerts: tick {severity} above or leave this empty."
    try:
        parse_remind_minutes(text)
    except ValueError:
        return (f"Leave empty to use the channel's interval, type {NEVER} for no reminders, or give whole minutes "
                f"from 1 to {MAX_REMIND_MINUTES} (7 days).")
    return None


# ----------------------------------------------------------------------------------------------------- ITSM

def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ConnectorForm(FlaskForm):
    """One ITSM connector. Which fields apply depends on the kind; secrets are never rendered back."""

    name = StringField("Name", validators=[Optional(), Length(max=200)], filters=[_strip])
    base_url = StringField("URL", validators=[Length(max=500)], filters=[_strip])
    # ServiceNow
    auth = StringField("Sign in with", default="basic")  # basic (username and password) | oauth (token)
    username = StringField("Username", validators=[Optional(), Length(max=200)], filters=[_strip])
    password = PasswordField("Password", validators=[Optional(), Length(max=1000)])
    assignment_group = StringField("Assignment group", validators=[Optional(), Length(max=200)], filters=[_strip])
    # Jira Cloud
    email = EmailField("Email", validators=[Optional(), Email(message="Enter the Atlassian account's email address."),
                                            Length(max=320)], filters=[_strip])
    api_token = PasswordField("API token", validators=[Optional(), Length(max=1000)])
    # Jira Server / Data Center, and ServiceNow OAuth
    token = PasswordField("Token", validators=[Optional(), Length(max=2000)])
    # Jira
    project = StringField("Project key", validators=[Optional(), Length(max=100)],
                          filters=[lambda v: v.strip().upper() if isinstance(v, str) else v])
    issue_type = StringField("Issue type", validators=[Optional(), Length(max=100)], filters=[_strip])

    def validate_project(self, field):
        if field.data and not JIRA_PROJECT_KEY.fullmatch(field.data):
            raise ValidationError("Enter the project's key, such as OPS: letters, digits and _, "
                                  "starting with a letter.")


def check_base_url(raw: str, require_https: bool, what: str, example: str = "https://acme.example") -> str:
    """The URL without a trailing slash, or ValueError saying what is wrong with it."""
    url = (raw or "").strip().rstrip("/")
    if not url:
        raise ValueError(f"Enter the {what}, such as {example}.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ValueError(f"The {what} is not a valid URL.") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"Enter the full {what}, starting with https://.")
    if parts.scheme != "https" and require_https:
        raise ValueError(f"The {what} must start with https:// so that credentials are sent encrypted.")
    if parts.username or parts.password:
        raise ValueError(f"Put the credentials in their own fields, not in the {what}.")
    if parts.query or parts.fragment:
        raise ValueError(f"The {what} cannot contain ? or #; enter only the address of the site.")
    if any(c.isspace() for c in url):
        raise ValueError(f"The {what} cannot contain spaces.")
    return url


def same_site(a: str, b: str) -> bool:
    """Whether two base URLs point at the same scheme, host and port (a stored secret may follow)."""
    pa, pb = urlsplit(a or ""), urlsplit(b or "")
    return (pa.scheme, (pa.hostname or "").lower(), pa.port) == (pb.scheme, (pb.hostname or "").lower(), pb.port)
