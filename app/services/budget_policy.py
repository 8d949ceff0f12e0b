"""The built-in budget policy: an alert when period spend crosses the threshold, and again at 100%."""
from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Alert, Organization
from app.services.alerts import FiredAlert, fire_alert
from app.services.budget import budget_status

POLICY = "Budget"


def budget_dedup_key(period_key: str, threshold: int) -> str:
    """The key that makes a threshold fire once per period."""
    return f"budget:{period_key}:{threshold}"


def check_budget_thresholds(org: Organization) -> list[FiredAlert]:
    """Fire the budget alerts the current spend calls for, each at most once per period and threshold."""
    status = budget_status(org)
    if not status.monthly_limit_usd or status.percent_used is None:
        return []
    fired = []
    levels = {status.alert_threshold_pct: "high", 100: "critical"}
    for threshold, severity in sorted(levels.items()):
        if status.percent_used < threshold:
            continue
        key = budget_dedup_key(status.period.key, threshold)
        # Any alert with this key, open or acknowledged, means this threshold already fired this period.
        if db.session.scalar(sa.select(sa.exists().where(Alert.org_id == org.id, Alert.dedup_key == key))):
            continue
        what = "the monthly budget" if threshold == 100 else f"{threshold}% of the monthly budget"
        title = f"{org.name} has spent {what} for {status.period.label}"
        details = (f"Spent ${status.spent_usd:,.2f} of ${status.monthly_limit_usd:,.2f} "
                   f"({status.percent_used}%) in {status.period.label}.")
        result = fire_alert(org, severity, POLICY, title, details, dedup_key=key)
        if result.created:
            fired.append(result)
    return fired
