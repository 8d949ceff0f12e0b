"""The organization's monthly budget: limit, spend, remaining and alert thresholds."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa

from app.extensions import db, insert_ignoring_duplicates
from app.models import BudgetCrossing, BudgetOverride, Organization
from app.models.outbox import OutboxMessage
from app.services.budget_card import refresh_budget_card, reply_key
from app.services.forecast import Forecast, budget_forecast
from app.services.periods import Period, current_period
from app.services.usage import period_spend_query

MAX_BUDGET = Decimal("1000000000")
# The crossing recorded when the forecast first passes 100% (real thresholds are 1 to 100).
FORECAST = 0


@dataclass(frozen=True)
class BudgetStatus:
    """Where the organization stands against its monthly budget this period."""

    period: Period
    monthly_limit_usd: Decimal | None
    spent_usd: Decimal
    alert_threshold_pct: int
    alert_thresholds: tuple[int, ...] = ()
    forecast: Forecast | None = None
    # Extra budget approved for this period only (already included in monthly_limit_usd).
    period_extra_usd: Decimal = Decimal(0)

    @property
    def thresholds(self) -> tuple[int, ...]:
        """Every alert threshold (%), ascending (the single alert_threshold_pct when none are listed)."""
        return self.alert_thresholds or (self.alert_threshold_pct,)

    @property
    def remaining_usd(self) -> Decimal | None:
        """Limit minus spend (negative when over budget); None without a budget."""
        if self.monthly_limit_usd is None:
            return None
        return self.monthly_limit_usd - self.spent_usd

    @property
    def percent_used(self) -> Decimal | None:
        """Spend as a percentage of the limit, to one decimal; None without a budget."""
        if not self.monthly_limit_usd:
            return None
        return (self.spent_usd * 100 / self.monthly_limit_usd).quantize(Decimal("0.1"), ROUND_HALF_UP)


def budget_status(org: Organization, period: Period | None = None) -> BudgetStatus:
    """The organization's budget status for a period (current by default)."""
    period = period or current_period(org.timezone)
    # The spend and the period's extra budget in one round trip: every budget card reads both.
    spent, extra = db.session.execute(sa.select(period_spend_query(org.id, period.key), sa.select(
        BudgetOverride.extra_usd).where(BudgetOverride.org_id == org.id, BudgetOverride.period == period.key)
        .scalar_subquery())).one()
    spent, extra = spent if spent is not None else Decimal("0.000000"), extra or Decimal(0)
    limit = org.monthly_budget_usd + extra if org.monthly_budget_usd is not None else None
    return BudgetStatus(period, limit, spent, org.alert_threshold_pct, tuple(org.thresholds),
                        budget_forecast(org, period, spent, limit=limit), extra)


def raise_budget(org: Organization, amount: Decimal, scope: str, period_key: str) -> None:
    """Raise this period's limit ("period") or the monthly limit from now on ("monthly"), in the caller's
    transaction; the additions are atomic, so two approvals at once both count."""
    if scope == "monthly":
        db.session.execute(sa.update(Organization).where(Organization.id == org.id)
                           .values(monthly_budget_usd=sa.func.coalesce(Organization.monthly_budget_usd, 0) + amount)
                           .execution_options(synchronize_session=False))
        db.session.expire(org, ["monthly_budget_usd"])
        return
    db.session.execute(insert_ignoring_duplicates(BudgetOverride).values(
        org_id=org.id, period=period_key, extra_usd=Decimal(0)))
    db.session.execute(sa.update(BudgetOverride)
                       .where(BudgetOverride.org_id == org.id, BudgetOverride.period == period_key)
                       .values(extra_usd=BudgetOverride.extra_usd + amount))


def forget_unreached_crossings(org: Organization) -> list[int]:
    """The limit changed: forget this period's crossings that spend no longer reaches at the new limit (the
    forecast's too, once it no longer passes the budget), with their thread replies, so each fires again if spend
    reaches it; crossings still reached stay. In the caller's transaction; returns the thresholds forgotten."""
    status = budget_status(org)
    percent = status.percent_used
    passes = status.forecast is not None and status.forecast.exceeds_on is not None
    crossed = db.session.scalars(sa.select(BudgetCrossing.threshold).where(
        BudgetCrossing.org_id == org.id, BudgetCrossing.period == status.period.key)).all()
    gone = [t for t in crossed if (not passes if t == FORECAST else percent is None or percent < t)]
    if not gone:
        return []
    db.session.execute(sa.delete(BudgetCrossing).where(
        BudgetCrossing.org_id == org.id, BudgetCrossing.period == status.period.key,
        BudgetCrossing.threshold.in_(gone)).execution_options(synchronize_session=False))
    # A reply is posted once per key: the old one makes way for the next under another key. It is kept, not
    # deleted, so a worker sending it right now finishes cleanly and its history stays.
    db.session.execute(sa.update(OutboxMessage).where(
        OutboxMessage.key.in_([reply_key(org.id, status.period.key, t) for t in gone]))
        .values(key=OutboxMessage.key + ":superseded:" + sa.cast(OutboxMessage.id, sa.String))
        .execution_options(synchronize_session=False))
    return sorted(gone)


def parse_budget_limit(raw) -> Decimal | None:
    """A monthly limit from user input ("10000", "10000.00"; None or "" clears it)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise ValueError('monthly_limit_usd must be a decimal string such as "10000.00", or null for no budget')
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError('monthly_limit_usd must be a decimal string such as "10000.00", or null for no budget') from None
    if not value.is_finite() or value < 0 or value > MAX_BUDGET or value != value.quantize(Decimal("0.01")):
        raise ValueError("monthly_limit_usd must be between 0 and 1,000,000,000 with at most 2 decimals")
    return value


def parse_threshold(raw) -> int:
    """An alert threshold percentage, a whole number from 1 to 100."""
    try:
        if isinstance(raw, bool) or isinstance(raw, float):
            raise ValueError
        value = int(raw)
    except (TypeError, ValueError):
        raise ValueError("alert_threshold_pct must be a whole number from 1 to 100") from None
    if not 1 <= value <= 100:
        raise ValueError("alert_threshold_pct must be a whole number from 1 to 100")
    return value


MAX_THRESHOLDS = 10


def parse_thresholds(raw) -> list[int]:
    """Alert thresholds from a list of whole percentages or text such as "50, 75, 90": distinct, 1 to 100, ascending."""
    items = raw.replace("%", "").split(",") if isinstance(raw, str) else raw
    if not isinstance(items, (list, tuple)) or not items or len(items) > MAX_THRESHOLDS:
        raise ValueError(f"alert_thresholds must be a list of 1 to {MAX_THRESHOLDS} whole percentages, "
                         "such as [50, 75, 90]")
    try:
        if any(isinstance(i, str) and not i.isascii() for i in items):
            raise ValueError  # int() would also read "٨٠" or "８０"
        values = sorted({parse_threshold(i.strip() if isinstance(i, str) else i) for i in items})
    except ValueError:
        raise ValueError("alert_thresholds must be whole percentages from 1 to 100, such as [50, 75, 90]") from None
    return values


def update_budget(org: Organization, monthly_limit_usd: Decimal | None, thresholds: list[int] | int) -> None:
    """Save a new monthly limit and alert threshold(s) (the lowest is also alert_threshold_pct)."""
    thresholds = sorted(set([thresholds] if isinstance(thresholds, int) else thresholds))
    org.monthly_budget_usd = monthly_limit_usd
    org.alert_threshold_pct = thresholds[0]
    org.alert_thresholds = ",".join(map(str, thresholds)) if len(thresholds) > 1 else None
    forget_unreached_crossings(org)
    refresh_budget_card(org)
    db.session.commit()
