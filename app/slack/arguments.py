"""Parsing slash-command arguments; errors say what is wrong and what would be right."""
from __future__ import annotations

import re
from dataclasses import dataclass

from app.models import SEVERITIES

ALERTS_USAGE = ("Use `/toktra-alerts`, optionally with `severity:<low|medium|high|critical>` and `limit:<1-50>`, "
                "in any order, e.g. `/toktra-alerts severity:critical limit:5`.")
USAGE_USAGE = ("Use `/toktra-usage` for your own usage, or `/toktra-usage someone@company.com` (admins only) "
               "for someone else's.")
BUDGET_USAGE = "Use `/toktra-budget` with no arguments."

DEFAULT_ALERT_LIMIT = 10
MAX_ALERT_LIMIT = 50
_EMAIL = re.compile(r"^[^@\s<>|]+@[^@\s<>|]+\.[^@\s<>|]+$")
_MAILTO = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$")


class ArgumentError(ValueError):
    """A slash command's arguments are not usable; str() is the message for the user."""


@dataclass(frozen=True)
class AlertsQuery:
    """What /toktra-alerts asked for."""

    severity: str | None = None
    limit: int = DEFAULT_ALERT_LIMIT


def parse_alerts_args(text: str) -> AlertsQuery:
    """`severity:<level>` and `limit:<n>`, in any order and any case."""
    severity, limit = None, None
    for token in text.split():
        key, sep, value = token.partition(":")
        key, value = key.lower(), value.strip().lower()
        if not sep or key not in ("severity", "limit"):
            raise ArgumentError(f"`{token}` is not an argument of `/toktra-alerts`. {ALERTS_USAGE}")
        if key == "severity":
            if severity is not None:
                raise ArgumentError(f"`severity` is given twice. {ALERTS_USAGE}")
            if value not in SEVERITIES:
                raise ArgumentError(f"`{token}`: severity must be one of low, medium, high or critical. {ALERTS_USAGE}")
            severity = value
        else:
            if limit is not None:
                raise ArgumentError(f"`limit` is given twice. {ALERTS_USAGE}")
            if not value.isdigit() or not 1 <= int(value) <= MAX_ALERT_LIMIT:
                raise ArgumentError(f"`{token}`: limit must be a whole number from 1 to {MAX_ALERT_LIMIT}. {ALERTS_USAGE}")
            limit = int(value)
    return AlertsQuery(severity, limit or DEFAULT_ALERT_LIMIT)


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
    if not _EMAIL.match(email):
        raise ArgumentError(f"`{token}` is not an email address. {USAGE_USAGE}")
    return email.lower()


def parse_budget_args(text: str) -> None:
    """/toktra-budget takes nothing."""
    if text.strip():
        raise ArgumentError(f"`/toktra-budget` takes no arguments, but got `{text.strip()}`. {BUDGET_USAGE}")
