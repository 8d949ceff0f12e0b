"""Billing periods: the calendar month in the organization's timezone."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class Period:
    """A billing month: key "YYYY-MM", label "January 2025", and its UTC bounds."""

    key: str
    label: str
    starts_at: dt.datetime
    ends_at: dt.datetime


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; ValueError with a clear message if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a directory, not a zone
        raise ValueError(f"unknown timezone {name!r}; use an IANA name such as 'Europe/Paris' or 'UTC'") from None


def period_key(moment: dt.datetime, tz: str) -> str:
    """The "YYYY-MM" period that moment falls in, in timezone tz."""
    return moment.astimezone(zone(tz)).strftime("%Y-%m")


def period_for(key: str, tz: str) -> Period:
    """The Period named by key ("YYYY-MM") in timezone tz."""
    year, month = (int(part) for part in key.split("-"))
    local = zone(tz)
    start = dt.datetime(year, month, 1, tzinfo=local)
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=local)
    utc = dt.timezone.utc
    return Period(key, start.strftime("%B %Y"), start.astimezone(utc), end.astimezone(utc))


def current_period(tz: str, now: dt.datetime | None = None) -> Period:
    """The period containing now (default: the current time) in timezone tz."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return period_for(period_key(now, tz), tz)
