"""Parsing slash-command arguments; errors say what is wrong and what would be right."""
from __future__ import annotations

import re
from dataclasses import dataclass

from app.models import SEVERITIES
from app.slack.blocks.format import echo

ALERTS_USAGE = ("Use `/toktra-alerts`, optionally with `severity:<low|medium|high|critical>`, "
                "`status:<open|acknowledged|resolved|all>` and `limit:<1-50>`, "
                "in any order, e.g. `/toktra-alerts severity:critical limit:5`. "
                "`/toktra-alerts help` shows every argument with examples.")
USAGE_USAGE = ("Use `/toktra-usage` for your own usage, or `/toktra-usage someone@company.com` (admins only) "
               "for someone else's. `/toktra-usage help` shows examples.")
BUDGET_USAGE = "Use `/toktra-budget` with no arguments (`/toktra-budget help` says what it shows)."

DEFAULT_ALERT_LIMIT = 10
ALERT_STATUSES = ("open", "acknowledged", "resolved", "all")
MAX_ALERT_LIMIT = 50
MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path
# Printable characters only: a NUL or control character can be neither an address nor stored.
_NOT_IN_EMAIL = r"@\s<>|\x00-\x1f\x7f-\x9f\ud800-\udfff"
_EMAIL = re.compile(rf"^[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+\.[^{_NOT_IN_EMAIL}]+$")
_MAILTO = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$")
# str.isdigit() also accepts "²", "①" and "١"; int() refuses the first two and reads the last as 1.
_ASCII_DIGITS = re.compile(r"[0-9]{1,10}")
PG_INT_MAX = 2**31 - 1  # PostgreSQL's integer: the ids of our rows


def bounded_int(text: str, low: int, high: int) -> int | None:
    """text as a whole number from low to high when it is ASCII digits only, else None; never raises."""
    if not isinstance(text, str) or not _ASCII_DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if low <= number <= high else None


class ArgumentError(ValueError):
    """A slash command's arguments are not usable; str() is the message for the user."""


@dataclass(frozen=True)
class AlertsQuery:
    """What /toktra-alerts asked for."""

    severity: str | None = None
    limit: int = DEFAULT_ALERT_LIMIT
    status: str | None = None  # open | acknowledged | resolved | all; None: every alert not resolved

    def as_text(self) -> str:
        """The query in its canonical, short form (what an alert list's buttons carry)."""
        parts = [f"severity:{self.severity}"] if self.severity else []
        if self.status:
            parts.append(f"status:{self.status}")
        if self.limit != DEFAULT_ALERT_LIMIT:
            parts.append(f"limit:{self.limit}")
        return " ".join(parts)

    @property
    def statuses(self) -> tuple[str, ...] | None:
        """The alert statuses listed (None: all of them)."""
        if self.status == "all":
            return None
        return (self.status,) if self.status else ("open", "acknowledged")


def parse_alerts_args(text: str) -> AlertsQuery:
    """`severity:<level>`, `status:<status>` and `limit:<n>`, in any order and any case."""
    severity, limit, status = None, None, None
    for token in text.split():
        key, sep, value = token.partition(":")
        key, value = key.lower(), value.strip().lower()
        if not sep or key not in ("severity", "limit", "status"):
            raise ArgumentError(f"`{echo(token)}` is not an argument of `/toktra-alerts`. {ALERTS_USAGE}")
        if key == "status":
            if status is not None:
                raise ArgumentError(f"`status` is given twice. {ALERTS_USAGE}")
            if value not in ALERT_STATUSES:
                raise ArgumentError(f"`{echo(token)}`: status must be one of open, acknowledged, resolved or all. "
                                    f"{ALERTS_USAGE}")
            status = value
        elif key == "severity":
            if severity is not None:
                raise ArgumentError(f"`severity` is given twice. {ALERTS_USAGE}")
            if value not in SEVERITIES:
                raise ArgumentError(f"`{echo(token)}`: severity must be one of low, medium, high or critical. "
                                    f"{ALERTS_USAGE}")
            severity = value
        else:
            if limit is not None:
                raise ArgumentError(f"`limit` is given twice. {ALERTS_USAGE}")
            limit = bounded_int(value.lstrip("0") or "0", 1, MAX_ALERT_LIMIT)  # leading zeros are harmless
            if limit is None:
                raise ArgumentError(f"`{echo(token)}`: limit must be a whole number from 1 to {MAX_ALERT_LIMIT}. "
                                    f"{ALERTS_USAGE}")
    return AlertsQuery(severity, limit or DEFAULT_ALERT_LIMIT, status)


def parse_usage_args(text: str) -> str | None:
    """None for the caller's own usage, or the email whose usage is asked for."""
    tokens = text.split()
    if not tokens:
        return None
    if len(tokens) > 1:
        raise ArgumentError(f"`/toktra-usage` takes at most one email address. {USAGE_USAGE}")
    token = tokens[0]
    mailto = _MAILTO.match(token)
    email = mailto.group(1) if mailto else token
    if len(email) > MAX_EMAIL_LENGTH:
        raise ArgumentError(f"`{echo(token)}` is too long for an email address (at most {MAX_EMAIL_LENGTH} "
                            f"characters). {USAGE_USAGE}")
    if not _EMAIL.match(email):
        raise ArgumentError(f"`{echo(token)}` is not an email address. {USAGE_USAGE}")
    return email.lower()


def parse_budget_args(text: str) -> None:
    """/toktra-budget takes nothing."""
    if text.strip():
        raise ArgumentError(f"`/toktra-budget` takes no arguments, but got `{echo(text.strip())}`. {BUDGET_USAGE}")
