"""The REST API's request and response bodies, declared once: validation and the OpenAPI document both come from here."""

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    RootModel,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from app.models import SEVERITIES
from app.models.alerts import ALERT_EVENTS
from app.services.alert_routes import (
    MAX_REMIND_MINUTES,
    parse_remind_by_severity,
    parse_remind_minutes,
    parse_severities,
)
from app.services.alerts import MAX_DETAILS, MAX_POLICY, MAX_TITLE
from app.services.pace_nudges import parse_allowance
from app.services.budget import MAX_THRESHOLDS, parse_budget_limit, parse_threshold, parse_thresholds
from app.services.reimbursements import MAX_DESCRIPTION, MAX_EMAIL, parse_amount, parse_period
from app.services.text import text_problem
from app.services.usage import MAX_TOKENS, parse_cost, parse_occurred_at

# Errors raised with this type carry the project's own wording; other pydantic errors are reworded below.
OUR_WORDS = "toktra"
TOO_LARGE = "toktra_too_large"


def _storable(value: str, info: ValidationInfo) -> str:
    problem = text_problem(value)
    if problem:
        raise PydanticCustomError(OUR_WORDS, f"{info.field_name} {problem}")
    return value


def Text(max_length: int, min_length: int = 1, pattern: str | None = None, **schema) -> Any:
    """A stripped string that PostgreSQL can store, within our column's length."""
    constraints = StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length, pattern=pattern)
    return Annotated[str, constraints,
                     AfterValidator(_storable), Field(json_schema_extra=schema or None)]


def _ours(parse, schema: dict) -> Any:
    """A field validated by a service parser (its ValueError is the message) and documented by schema."""

    def validate(value):
        try:
            return parse(value)
        except ValueError as exc:
            raise PydanticCustomError(OUR_WORDS, str(exc)) from None

    return Annotated[Any, PlainValidator(validate), WithJsonSchema(schema)]


SEVERITY = {"type": "string", "enum": list(SEVERITIES)}
Severity = Literal[tuple(SEVERITIES)]
EMAIL = {"format": "email", "example": "bob@globex.com"}


def _text_messages(name: str) -> dict[str, str]:
    return {"string_too_long": f"{name} is longer than {{max_length:,}} characters",
            "default": f"{name} must be a non-empty string"}


class RequestBody(BaseModel):
    """A JSON request body: unknown fields refused, no type coercion, messages in our words."""

    model_config = ConfigDict(extra="forbid", strict=True)
    # field -> message, or {pydantic error type: message, "default": message}; {max_length} etc. come from pydantic.
    MESSAGES: ClassVar[dict[str, str | dict[str, str]]] = {}


class ResponseBody(BaseModel):
    """A JSON answer."""

    model_config = ConfigDict(extra="forbid")


# --- usage ----------------------------------------------------------------------------------------

class UsageEvent(RequestBody):
    """One usage event; resending an id already stored is a no-op."""

    model_config = ConfigDict(extra="ignore", strict=True)
    MESSAGES = {
        "id": "id must be a non-empty string of at most 200 characters",
        "user_email": "user_email must be an email address",
        "provider": 'provider must be a name such as "openai" or "anthropic"',
        "model": "model must be a non-empty string of at most 200 characters",
        "input_tokens": f"input_tokens must be a whole number from 0 to {MAX_TOKENS:,}",
        "output_tokens": f"output_tokens must be a whole number from 0 to {MAX_TOKENS:,}",
        "cost_usd": 'cost_usd must be a decimal string such as "0.0125"',
        "occurred_at": 'occurred_at must be an ISO 8601 timestamp such as "2025-01-15T09:30:00Z"',
    }

    id: Text(200, description="Your unique id for the event; resending it is a no-op.")
    user_email: Text(MAX_EMAIL, pattern="@", **EMAIL)
    provider: Text(64, example="openai")
    model: Text(200, example="gpt-4o")
    input_tokens: int = Field(ge=0, le=MAX_TOKENS)
    output_tokens: int = Field(ge=0, le=MAX_TOKENS)
    cost_usd: _ours(parse_cost, {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]{1,6})?\s*$", "example": "0.0125",
                                 "description": "Decimal string, at most 6 decimals."})
    occurred_at: _ours(parse_occurred_at, {"type": "string", "format": "date-time",
                                           "example": "2025-01-15T09:30:00Z"})


@dataclass(frozen=True)
class CheckedEvent:
    """One event of a batch: its position, what was sent, and why it was refused here (if it was)."""

    index: int
    raw: Any
    errors: list[str]


def _each_event_on_its_own(value, handler, info: ValidationInfo):
    """Take the events one by one, so one bad event never sinks the batch (the batch size is checked first).

    Only an event that is not an object is refused here: the ingest service checks each field of the
    others, in the words of UsageEvent (which documents them), so no event is validated twice.
    """
    from flask import current_app

    if not isinstance(value, list):
        raise PydanticCustomError(OUR_WORDS, 'The body must have an "events" array.')
    limit = current_app.config["USAGE_BATCH_MAX_EVENTS"]
    if len(value) > limit:
        raise PydanticCustomError(TOO_LARGE, f"A batch holds at most {limit} events; this one has {len(value)}. "
                                             "Split it.")
    return [CheckedEvent(index, raw, [] if isinstance(raw, dict) else ["each event must be a JSON object"])
            for index, raw in enumerate(value)]


class UsageBatch(RequestBody):
    """A batch of usage events (at most USAGE_BATCH_MAX_EVENTS, 5,000 by default)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    MESSAGES = {"events": 'The body must have an "events" array.'}

    events: Annotated[list[UsageEvent], WrapValidator(_each_event_on_its_own)]


class Rejection(ResponseBody):
    """A refused event: its position in the batch, its id (cut to 256 characters) and one reason per bad field."""

    index: int
    id: str | None = None
    errors: list[str]


class IngestResult(ResponseBody):
    """What was stored, skipped as a duplicate, or refused."""

    accepted: int
    duplicates: int
    rejected: list[Rejection]


class UsageSummaryQuery(RequestBody):
    """GET /usage/summary's query."""

    model_config = ConfigDict(extra="ignore", strict=True)

    user_email: Text(MAX_EMAIL, min_length=0, description="One person's usage; the whole organization's when omitted.",
                     **EMAIL) = ""


class Money(RootModel[str]):
    """Dollars as a decimal string, at least two decimals."""

    root: str = Field(pattern=r"^-?[0-9]+(\.[0-9]{1,6})?$", examples=["24.81"])


class Period(ResponseBody):
    """A billing period: the calendar month in the organization's timezone."""

    key: str = Field(examples=["2025-01"])
    label: str = Field(examples=["January 2025"])
    starts_at: str = Field(json_schema_extra={"format": "date-time"})
    ends_at: str = Field(json_schema_extra={"format": "date-time"})


class ProviderUsage(ResponseBody):
    """Tokens and cost for one provider."""

    provider: str
    name: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: Money


class UsageTotal(ResponseBody):
    """Tokens and cost over every provider."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: Money


class UsageSummary(ResponseBody):
    """A period's usage per provider, biggest first, and the total."""

    period: Period
    user_email: str | None
    providers: list[ProviderUsage]
    total: UsageTotal


# --- budget ---------------------------------------------------------------------------------------

class BudgetForecast(ResponseBody):
    """Where the period's spend is heading at its recent pace (the median of the last 7 complete days)."""

    daily_pace_usd: Money
    projected_usd: Money
    projected_pct: str | None = Field(examples=["123.4"])
    by: str = Field(description="The period's last day (YYYY-MM-DD), in the organization's timezone.")
    exceeds_on: str | None = Field(description="The day spend would pass the limit at this pace, if it would.")
    summary: str = Field(examples=["on pace for $12,340 (123%) by 31 Jan"])


class BudgetChannelOut(ResponseBody):
    """The channel where Toktra keeps the living budget card."""

    team_id: str
    channel_id: str
    channel_name: str


class Budget(ResponseBody):
    """Where the organization stands against its monthly budget."""

    period: Period
    monthly_limit_usd: Money | None
    alert_threshold_pct: int = Field(ge=1, le=100, description="The lowest alert threshold.")
    alert_thresholds: list[int] = Field(description="Every alert threshold (%), ascending; 100% fires too.")
    spent_usd: Money
    remaining_usd: Money | None = Field(description="Negative when over budget.")
    percent_used: str | None = Field(examples=["75.2"])
    forecast: BudgetForecast | None = Field(None, description="None until the period's first complete day.")
    channel: BudgetChannelOut | None = Field(None, description="Where the living budget card is posted; null for "
                                                                "nowhere.")
    pace_nudges_enabled: bool = Field(True, description="Whether people whose own spend runs far above their usual "
                                                        "pace get a DM (once a month at most).")



def _ascii(parse, message: str):
    """parse, for text written in ASCII: int() and Decimal() would also read "٨٠" or "８０"."""

    def checked(value):
        if isinstance(value, str) and not value.isascii():
            raise ValueError(message)
        return parse(value)

    return checked


class BudgetUpdate(RequestBody):
    """A new monthly limit, alert thresholds, budget channel or pace nudge switch; a field left out keeps its value."""

    MESSAGES = {"channel": _text_messages("channel") | {"default": "channel must be a channel name such as "
                                                                   "\"#budget\", a channel ID, or null"},
                "team_id": _text_messages("team_id") | {"default": "team_id must be a string such as \"T0123ABCD\""},
                "pace_nudges_enabled": "pace_nudges_enabled must be true or false"}

    monthly_limit_usd: _ours(_ascii(parse_budget_limit, 'monthly_limit_usd must be a decimal string such as '
                                                        '"10000.00", or null for no budget'), {
        "anyOf": [{"type": "string", "example": "10000.00"}, {"type": "integer", "minimum": 0}, {"type": "null"}],
        "description": "Dollars, at most 2 decimals; null for no budget."}) = None
    alert_threshold_pct: _ours(_ascii(parse_threshold, "alert_threshold_pct must be a whole number from 1 to 100"),
                               {"type": "integer", "minimum": 1, "maximum": 100,
                                "description": "One alert threshold (replaces the list)."}) = None
    alert_thresholds: _ours(_ascii(parse_thresholds, "alert_thresholds must be whole percentages from 1 to 100, "
                                                     "such as [50, 75, 90]"), {
        "type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 100}, "minItems": 1,
        "maxItems": MAX_THRESHOLDS, "example": [50, 75, 90],
        "description": "Every alert threshold (%); each fires once per period, and 100% always does."}) = None
    channel: Text(201, example="#budget",
                  description="The channel for the living budget card, by name or ID; null to stop posting it."
                  ) | None = None
    team_id: Text(32, min_length=0,
                  description="With channel, when the organization has several workspaces.") | None = None
    pace_nudges_enabled: bool | None = Field(None, description="Turn personal pace nudges on or off for everyone.")


class AllowanceIn(RequestBody):
    """A person's monthly allowance: their pace nudges measure their month against it (null: their history)."""

    MESSAGES = {"user_email": _text_messages("user_email") | {"default": "user_email must be a string"}}

    user_email: Text(MAX_EMAIL, **EMAIL)
    monthly_allowance_usd: _ours(parse_allowance, {
        "anyOf": [{"type": "string", "example": "150.00"}, {"type": "integer", "minimum": 0}, {"type": "null"}],
        "description": "Dollars, at most 2 decimals; null to measure the person against their own history."})


class Allowance(ResponseBody):
    """A person and their monthly allowance."""

    user_email: str
    name: str
    monthly_allowance_usd: Money | None


class AllowanceList(ResponseBody):
    """The people who have a monthly allowance."""

    allowances: list[Allowance]


# --- alerts ---------------------------------------------------------------------------------------

def _severity(raw) -> str:
    if not isinstance(raw, str) or raw.strip().lower() not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
    return raw.strip().lower()


class AlertIn(RequestBody):
    """An alert to fire; with dedup_key, the same key does not fire again while an alert with it is open."""

    MESSAGES = {"severity": f"severity must be one of {', '.join(SEVERITIES)}",
                "policy": _text_messages("policy"), "title": _text_messages("title"),
                "details": _text_messages("details") | {"default": "details must be a string"},
                "dedup_key": _text_messages("dedup_key") | {"default": "dedup_key must be a string"},
                "user_email": _text_messages("user_email") | {"default": "user_email must be a string"}}

    severity: _ours(_severity, SEVERITY)
    policy: Text(MAX_POLICY)
    title: Text(MAX_TITLE)
    details: Text(MAX_DETAILS, min_length=0) = ""
    user_email: Text(MAX_EMAIL, min_length=0, description="The person involved.", **EMAIL) | None = None
    dedup_key: Text(200, min_length=0) | None = None


class Ticket(ResponseBody):
    """A ServiceNow or Jira ticket made from an alert, or an existing one linked to it."""

    key: str
    url: str
    status: str | None = Field(None, description="The ticket's status as ServiceNow or Jira names it, "
                                                 "as last read (every few minutes).")
    closed: bool = Field(False, description="Whether that status counts as done (Jira's done category; "
                                            "ServiceNow Resolved, Closed or Canceled).")
    linked: bool = Field(False, description="An existing ticket linked to the alert, rather than one Toktra "
                                            "created.")


class Alert(ResponseBody):
    """An alert as the API shows it."""

    id: int
    severity: Severity
    policy: str
    title: str
    details: str
    user_email: str | None
    status: Literal["open", "acknowledged", "resolved"]
    dedup_key: str | None
    fired_at: str = Field(json_schema_extra={"format": "date-time"})
    acknowledged_by: str | None
    acknowledged_at: str | None = Field(json_schema_extra={"format": "date-time"})
    resolved_by: str | None = Field(description="Who resolved it (email); null when resolved through the API.")
    resolved_at: str | None = Field(json_schema_extra={"format": "date-time"})
    snoozed_until: str | None = Field(json_schema_extra={"format": "date-time"},
                                      description="While snoozed: when it is announced again.")
    tickets: list[Ticket]


class FiredAlert(ResponseBody):
    """The alert, whether it is new, and how many channel deliveries were queued."""

    alert: Alert
    created: bool
    deliveries: int


class ResolvedAlert(ResponseBody):
    """The alert after a resolve, and whether this request resolved it (false: it was resolved already)."""

    alert: Alert
    resolved_now: bool


class AlertList(ResponseBody):
    """Alerts, newest first."""

    alerts: list[Alert]


class AlertEvent(ResponseBody):
    """One event of an alert's life: a person's action, a ticket, or what Toktra posted (a reminder, a snooze's
    end)."""

    event: Literal[ALERT_EVENTS]
    summary: str = Field(description='The event in words, e.g. "Reminder sent in #security".')
    actor: str | None = Field(description="Who did it (email); null for what Toktra or a connector did.")
    at: str = Field(json_schema_extra={"format": "date-time"})


class AlertTimeline(ResponseBody):
    """An alert's events, oldest first."""

    events: list[AlertEvent]


class AlertsQuery(RequestBody):
    """GET /alerts's query."""

    model_config = ConfigDict(extra="ignore", strict=True)
    MESSAGES = {"severity": f"severity must be one of {', '.join(SEVERITIES)}.",
                "status": "status must be open, acknowledged or resolved.",
                "limit": "limit must be a whole number from 1 to 200."}

    severity: _ours(lambda raw: _severity(raw) if raw else None, SEVERITY) = None
    status: _ours(lambda raw: _choice(raw, ("open", "acknowledged", "resolved"),
                                      "status must be open, acknowledged or resolved."),
                  {"type": "string", "enum": ["open", "acknowledged", "resolved"]}) = None
    limit: _ours(lambda raw: _whole_number(raw, 1, 200, "limit must be a whole number from 1 to 200."),
                 {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}) = 50


def _choice(raw: str, choices: tuple[str, ...], message: str) -> str | None:
    value = raw.strip().lower()
    if value and value not in choices:
        raise ValueError(message)
    return value or None


def _whole_number(raw: str, low: int, high: int, message: str) -> int:
    # ASCII digits only: str.isdigit() is also true for "²" and "١", which int() refuses or misreads.
    value = raw.strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 9 and low <= int(value) <= high):
        raise ValueError(message)
    return int(value)


def _severities(raw) -> list[str]:
    # Bounded first: the service names unknown severities in its message.
    items = raw.split(",") if isinstance(raw, str) else raw
    if isinstance(items, list) and (len(items) > 20 or any(isinstance(i, str) and len(i) > 20 for i in items)):
        raise ValueError('severities must be a list such as ["high", "critical"]')
    return parse_severities(raw)


SEVERITY_LIST = {"type": "array", "items": SEVERITY, "minItems": 1, "maxItems": 20}
REMIND_MINUTES = {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_REMIND_MINUTES,
                  "description": "Remind the channel of an alert nobody acknowledged after this many minutes, "
                                 "again every interval, in the alert's thread and the channel; null: never."}
REMIND_BY_SEVERITY = {
    "type": ["object", "null"], "additionalProperties": False,
    "properties": {s: {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_REMIND_MINUTES} for s in SEVERITIES},
    "description": "Exceptions to remind_after_minutes for some of the severities the channel receives, in minutes; "
                   "null for a severity: no reminders of its alerts. Severities left out use remind_after_minutes.",
    "example": {"critical": 15},
}


Delivery = Annotated[Literal["realtime", "daily", "weekly"], Field(
    description="realtime (default): each alert is posted as it fires; daily or weekly: one digest per period "
                "at digest_time, with counts and the top open alerts.")]
DigestTime = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$"),
                       Field(description="The digest's local time (the organization's timezone), HH:MM; "
                                         "default 09:00.", json_schema_extra={"example": "09:00"})]
DigestWeekday = Annotated[int, Field(ge=0, le=6, description="A weekly digest's day: 0 = Monday … 6 = Sunday; "
                                                             "default Monday.")]
DELIVERY_MESSAGES = {
    "delivery": "delivery must be realtime, daily or weekly",
    "digest_time": 'digest_time must be a local time as HH:MM (24-hour), such as "09:00"',
    "digest_weekday": "digest_weekday must be a whole number from 0 (Monday) to 6 (Sunday)",
}


class AlertChannelIn(RequestBody):
    """Route severities to a channel, named by channel_id or channel_name; in real time or as a digest."""

    model_config = ConfigDict(extra="ignore", strict=True)
    MESSAGES = {name: _text_messages(name) | {"default": f"{name} must be a string"}
                for name in ("channel_id", "channel_name", "team_id")} | DELIVERY_MESSAGES

    channel_id: Text(32, min_length=0, example="C0123ABCD") | None = None
    channel_name: Text(201, min_length=0, example="security-incidents") | None = None
    severities: _ours(_severities, SEVERITY_LIST)
    team_id: Text(32, min_length=0, description="Required when the organization has several workspaces.") | None = None
    remind_after_minutes: _ours(parse_remind_minutes, REMIND_MINUTES) = None
    remind_after_by_severity: _ours(parse_remind_by_severity, REMIND_BY_SEVERITY) = None
    delivery: Delivery | None = None
    digest_time: DigestTime | None = None
    digest_weekday: DigestWeekday | None = None


class SeveritiesIn(RequestBody):
    """Which severities a channel receives, its reminder interval and how it receives alerts (real time or a
    digest); what is left out is kept."""

    model_config = ConfigDict(extra="ignore", strict=True)
    MESSAGES = DELIVERY_MESSAGES

    severities: _ours(_severities, SEVERITY_LIST) | None = None
    remind_after_minutes: _ours(parse_remind_minutes, REMIND_MINUTES) = None
    remind_after_by_severity: _ours(parse_remind_by_severity, REMIND_BY_SEVERITY) = None
    delivery: Delivery | None = None
    digest_time: DigestTime | None = None
    digest_weekday: DigestWeekday | None = None


class LastDelivery(ResponseBody):
    """How the last post to a channel went."""

    at: str = Field(json_schema_extra={"format": "date-time"})
    ok: bool | None
    error: str | None


class AlertChannel(ResponseBody):
    """A channel that receives alerts."""

    id: int
    team_id: str
    workspace: str
    channel_id: str
    channel_name: str
    severities: list[Severity]
    remind_after_minutes: int | None
    remind_after_by_severity: dict[Severity, int | None] = Field(
        description="Per-severity exceptions to remind_after_minutes (null: no reminders for that severity); "
                    "empty when every severity uses remind_after_minutes.")
    delivery: Literal["realtime", "daily", "weekly"]
    digest_time: str | None = Field(description="Local HH:MM of a digest (organization's timezone).")
    digest_weekday: int | None = Field(description="A weekly digest's day, 0 = Monday.")
    last_delivery: LastDelivery | None


class AlertChannelList(ResponseBody):
    """Every channel that receives alerts."""

    alert_channels: list[AlertChannel]


# --- reimbursements -------------------------------------------------------------------------------

class ReimbursementIn(RequestBody):
    """A reimbursement request; its approver (the employee's manager by default) gets a Slack DM."""

    MESSAGES = {
        "employee_email": _text_messages("employee_email") | {"default": "employee_email must be a string"},
        "approver_email": _text_messages("approver_email") | {"default": "approver_email must be a string"},
        "currency": 'currency must be a three-letter ISO 4217 code such as "USD"',
        "description": {"string_too_long": "description is longer than {max_length:,} characters",
                        "default": "description must say what the money was spent on (1 to 2,000 characters)"},
        "period": 'period must be a month written YYYY-MM, such as "2025-01"',
    }

    employee_email: Text(MAX_EMAIL, **EMAIL)
    amount: _ours(parse_amount, {
        "anyOf": [{"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]{1,2})?\s*$", "example": "42.50"},
                  {"type": "integer", "minimum": 1, "maximum": 1000000}],
        "description": "More than 0 and at most 1,000,000: a decimal string with at most 2 decimals, "
                       "or a whole number."})
    currency: Text(3, example="USD", pattern="^[A-Za-z]{3}$") = "USD"
    description: Text(MAX_DESCRIPTION)
    period: _ours(parse_period, {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$", "example": "2025-01",
                                 "description": "The month the expense belongs to, from 2000-01 to this month."})
    approver_email: Text(MAX_EMAIL, min_length=0, description="Defaults to the employee's manager.",
                         **EMAIL) | None = None


class Reimbursement(ResponseBody):
    """A reimbursement request and where it stands."""

    id: int
    employee_email: str
    approver_email: str
    amount: str = Field(examples=["42.50"])
    currency: str
    period: str
    description: str
    status: Literal["pending", "approved", "rejected"]
    decided_by: str | None
    decided_at: str | None = Field(json_schema_extra={"format": "date-time"})
    rejection_reason: str | None
    payroll_batch_id: str | None
    approver_notified: bool
    notify_error: str | None
    created_at: str = Field(json_schema_extra={"format": "date-time"})


# --- budget requests -----------------------------------------------------------------------------

class BudgetRequestIn(RequestBody):
    """A manager's or admin's request for more budget; the organization's other admins get a Slack DM."""

    MESSAGES = {
        "requester_email": _text_messages("requester_email"),
        "reason": {"string_too_long": "reason is longer than {max_length:,} characters",
                   "default": "reason must say why more budget is needed (1 to 2,000 characters)"},
        "scope": 'scope must be "period" (this period only) or "monthly" (the monthly limit from now on)',
    }

    requester_email: Text(MAX_EMAIL, description="A manager or admin of the organization.", **EMAIL)
    amount: _ours(parse_amount, {
        "anyOf": [{"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]{1,2})?\s*$", "example": "1500.00"},
                  {"type": "integer", "minimum": 1, "maximum": 1000000}],
        "description": "Extra budget in USD: more than 0 and at most 1,000,000, with at most 2 decimals."})
    reason: Text(MAX_DESCRIPTION)
    scope: Literal["period", "monthly"] = Field(
        "period", description="period raises this period's limit only; monthly raises the monthly limit from now on.")


class BudgetRequest(ResponseBody):
    """A request for more budget and where it stands."""

    id: int
    requester_email: str
    amount: str = Field(examples=["1500.00"])
    scope: Literal["period", "monthly"]
    period: str
    reason: str
    status: Literal["pending", "approved", "rejected"]
    decided_by: str | None
    decided_at: str | None = Field(json_schema_extra={"format": "date-time"})
    rejection_reason: str | None
    created_at: str = Field(json_schema_extra={"format": "date-time"})


class ErrorDetail(ResponseBody):
    """What went wrong, and what would be right."""

    status: int
    message: str


class Error(ResponseBody):
    """Every error answer."""

    error: ErrorDetail


# --- reading a request ----------------------------------------------------------------------------

MAX_ECHOED_NAMES = 10
MAX_ECHO = 60


def echo(text: str) -> str:
    """Input quoted back in a message, cut short so a huge input never makes a huge answer."""
    return text if len(text) <= MAX_ECHO else text[:MAX_ECHO] + "…"


def validation_messages(model: type[RequestBody], data: dict) -> list[str]:
    """[] when data fits model, else one message per bad field in the project's words (unknown fields first)."""
    from pydantic import ValidationError

    try:
        model.model_validate(data)
    except ValidationError as exc:
        return error_messages(model, exc)
    return []


def error_messages(model: type[RequestBody], exc) -> list[str]:
    """A ValidationError as messages: one for unknown fields, then one per bad field."""
    errors = exc.errors(include_url=False, include_input=False)
    messages, seen = [], set()
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        named = ", ".join(echo(name) for name in unknown[:MAX_ECHOED_NAMES])
        more = f" and {len(unknown) - MAX_ECHOED_NAMES:,} more" if len(unknown) > MAX_ECHOED_NAMES else ""
        messages.append(f"Unknown field(s): {named}{more}. Accepted: {', '.join(model.model_fields)}.")
    for e in errors:
        field = str(e["loc"][0]) if e["loc"] else ""
        if e["type"] == "extra_forbidden" or field in seen:
            continue
        seen.add(field)
        messages.append(_message(model, field, e))
    return messages


def _message(model: type[RequestBody], field: str, error: dict) -> str:
    if error["type"] in (OUR_WORDS, TOO_LARGE):
        return error["msg"]
    if error["type"] == "string_unicode":  # a lone surrogate such as "\ud800" in the JSON
        return f"{field} must be valid Unicode text (it contains a lone surrogate such as \\ud800)"
    known = model.MESSAGES.get(field)
    if isinstance(known, dict):
        known = known.get(error["type"], known.get("default"))
    if known is None and error["type"] == "string_too_long":
        known = f"{field} is longer than {{max_length:,}} characters"
    if known is None:
        return f"{field}: {error['msg']}"
    return known.format(**error.get("ctx", {}))
