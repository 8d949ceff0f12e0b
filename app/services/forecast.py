"""Where the period's spend is heading: a projection of its end, and the day it would pass the budget.

The method: the median of the last seven complete days' spend (in the organization's timezone) is the
daily pace; the projection is the spend so far plus that pace for the rest of the period. A median
ignores a one-off spike or a quiet weekend day, so the forecast moves only when the pace really changes.
There is no forecast before the period's first complete day.
"""
from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from app.extensions import db
from app.models import Organization, UsageDayTotal
from app.services.periods import Period, zone

WINDOW_DAYS = 7


@dataclass(frozen=True)
class Forecast:
    """The projected spend at the period's end, and when the budget would be passed at this pace."""

    daily_pace_usd: Decimal
    projected_usd: Decimal
    projected_pct: Decimal | None
    period_last_day: dt.date
    exceeds_on: dt.date | None

    def in_words(self) -> str:
        """'on pace for $12,340 (123%) by 31 Jan'."""
        percent = f" ({self.projected_pct:.0f}%)" if self.projected_pct is not None else ""
        return f"on pace for ${self.projected_usd:,.0f}{percent} by {self.period_last_day.day} " \
               f"{self.period_last_day:%b}"


def project(spent: Decimal, limit: Decimal | None, daily: dict[dt.date, Decimal], period: Period, tz: str,
            now: dt.datetime) -> Forecast | None:
    """The forecast from the period's daily spend so far (a pure function: tests give it synthetic curves)."""
    local = zone(tz)
    first_day = period.starts_at.astimezone(local).date()
    last_day = (period.ends_at.astimezone(local) - dt.timedelta(days=1)).date()
    today = now.astimezone(local).date()
    complete = [first_day + dt.timedelta(days=n) for n in range((min(today, last_day + dt.timedelta(days=1))
                                                                 - first_day).days)]
    if not complete:
        return None
    window = [daily.get(day, Decimal(0)) for day in complete[-WINDOW_DAYS:]]
    pace = Decimal(statistics.median(window))
    days_left = Decimal(max(0.0, (period.ends_at - now).total_seconds() / 86400))
    projected = (spent + pace * days_left).quantize(Decimal("0.01"), ROUND_HALF_UP)
    percent = (projected * 100 / limit).quantize(Decimal("0.1"), ROUND_HALF_UP) if limit else None
    exceeds_on = None
    if limit and spent < limit <= projected and pace > 0:
        exceeds_on = (now + dt.timedelta(days=float((limit - spent) / pace))).astimezone(local).date()
    return Forecast(pace.quantize(Decimal("0.01"), ROUND_HALF_UP), projected, percent, last_day, exceeds_on)


def budget_forecast(org: Organization, period: Period, spent: Decimal, now: dt.datetime | None = None,
                    limit: Decimal | None = None) -> Forecast | None:
    """The organization's forecast for a period, from its daily totals (against limit, else the monthly limit)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    local = zone(org.timezone)
    rows = db.session.execute(sa.select(UsageDayTotal.day, UsageDayTotal.cost_usd).where(
        UsageDayTotal.org_id == org.id,
        UsageDayTotal.day >= period.starts_at.astimezone(local).date(),
        UsageDayTotal.day < period.ends_at.astimezone(local).date())).all()
    return project(spent, limit if limit is not None else org.monthly_budget_usd, dict(rows), period, org.timezone, now)
