"""The built-in budget policy: an alert when period spend crosses each threshold, and again at 100%."""
from __future__ import annotations

from app.extensions import db, insert_ignoring_duplicates
from app.models import BudgetCrossing, Organization
from app.models.types import utcnow
from app.services.alerts import FiredAlert, fire_alert
from app.services.budget import FORECAST, budget_status
from app.services.budget_card import add_crossing_reply

POLICY = "Budget"


def budget_dedup_key(period_key: str, threshold: int | str) -> str:
    """The key that makes a threshold fire once per period."""
    return f"budget:{period_key}:{threshold}"


def check_budget_thresholds(org: Organization) -> list[FiredAlert]:
    """Fire the budget alerts the current spend calls for, each at most once per period and threshold."""
    status = budget_status(org)
    if not status.monthly_limit_usd or status.percent_used is None:
        return []
    fired = []
    # Every threshold crossed fires, lowest first, once per period (a batch may cross several at once).
    levels = {**{t: "high" for t in status.thresholds}, 100: "critical"}
    for threshold, severity in sorted(levels.items()):
        if status.percent_used < threshold:
            continue
        key = budget_dedup_key(status.period.key, threshold)
        # Whoever records the crossing fires its alert; a racing worker's insert waits, then finds the row.
        if not _first_crossing(org, status, threshold):
            continue
        add_crossing_reply(org, status.period.key, threshold)
        what = "the monthly budget" if threshold == 100 else f"{threshold}% of the monthly budget"
        title = f"{org.name} has spent {what} for {status.period.label}"
        details = (f"Spent ${status.spent_usd:,.2f} of ${status.monthly_limit_usd:,.2f} "
                   f"({status.percent_used}%) in {status.period.label}.")
        result = fire_alert(org, severity, POLICY, title, details, dedup_key=key)
        if result.created:
            fired.append(result)
    forecast = status.forecast
    if forecast is not None and forecast.exceeds_on is not None and _first_crossing(org, status, FORECAST):
        add_crossing_reply(org, status.period.key, FORECAST)
        title = (f"{org.name} is projected to exceed the monthly budget on {forecast.exceeds_on.day} "
                 f"{forecast.exceeds_on:%b}")
        details = (f"Spent ${status.spent_usd:,.2f} of ${status.monthly_limit_usd:,.2f} so far in "
                   f"{status.period.label}; at ${forecast.daily_pace_usd:,.2f} a day (the median of the last 7 "
                   f"days) it is {forecast.in_words()}.")
        result = fire_alert(org, "medium", POLICY, title, details,
                            dedup_key=budget_dedup_key(status.period.key, "forecast"))
        if result.created:
            fired.append(result)
    return fired


def _first_crossing(org: Organization, status, threshold: int) -> bool:
    """Record that a threshold was crossed this period; True only for the one caller that records it first."""
    crossed = db.session.execute(insert_ignoring_duplicates(BudgetCrossing).values(
        org_id=org.id, period=status.period.key, threshold=threshold, crossed_at=utcnow())
        .returning(BudgetCrossing.threshold)).first() is not None
    if not crossed:
        db.session.rollback()
    return crossed
