"""The API's answers, built through their response models (app/api/schemas.py); money is always a decimal string."""
from __future__ import annotations

from decimal import Decimal

from app.api import schemas
from app.extensions import db
from app.models import BudgetChannel, User
from app.models.types import utcnow
from app.services.budget import BudgetStatus
from app.services.periods import Period
from app.services.usage import ProviderUsage, UsageSummary


def money(value: Decimal | None) -> str | None:
    """Dollars as a decimal string with at least two decimals ("24.81", "0.0125")."""
    if value is None:
        return None
    value = value.normalize()
    return str(value.quantize(Decimal("0.01")) if value.as_tuple().exponent > -2 else value)


def period_json(period: Period) -> dict:
    """A billing period: key, label and UTC bounds."""
    return {"key": period.key, "label": period.label,
            "starts_at": period.starts_at.isoformat(), "ends_at": period.ends_at.isoformat()}


def _provider_json(p: ProviderUsage) -> dict:
    return {"provider": p.provider, "name": p.name, "input_tokens": p.input_tokens,
            "output_tokens": p.output_tokens, "total_tokens": p.tokens, "cost_usd": money(p.cost_usd)}


def usage_summary_json(summary: UsageSummary, user: User | None) -> dict:
    """A usage summary for one person (or the org when user is None)."""
    total = _provider_json(summary.total)
    del total["provider"], total["name"]
    return schemas.UsageSummary.model_validate({
        "period": period_json(summary.period),
        "user_email": user.email if user else None,
        "providers": [_provider_json(p) for p in summary.providers],
        "total": total,
    }).model_dump()


def budget_json(status: BudgetStatus, org=None) -> dict:
    """A budget status (with the organization's budget channel and pace nudge switch when org is given)."""
    extra = {}
    if org is not None:
        chosen = db.session.get(BudgetChannel, org.id)
        extra = {"pace_nudges_enabled": org.pace_nudges_enabled, "channel": None if chosen is None else {
            "team_id": chosen.workspace.team_id, "channel_id": chosen.channel_id, "channel_name": chosen.channel_name}}
    return schemas.Budget.model_validate(extra | {
        "period": period_json(status.period),
        "monthly_limit_usd": money(status.monthly_limit_usd),
        "alert_threshold_pct": status.alert_threshold_pct,
        "alert_thresholds": list(status.thresholds),
        "spent_usd": money(status.spent_usd),
        "remaining_usd": money(status.remaining_usd),
        "percent_used": str(status.percent_used) if status.percent_used is not None else None,
        "forecast": _forecast_json(status.forecast),
    }).model_dump()


def _forecast_json(forecast) -> dict | None:
    if forecast is None:
        return None
    return {"daily_pace_usd": money(forecast.daily_pace_usd), "projected_usd": money(forecast.projected_usd),
            "projected_pct": str(forecast.projected_pct) if forecast.projected_pct is not None else None,
            "by": forecast.period_last_day.isoformat(),
            "exceeds_on": forecast.exceeds_on.isoformat() if forecast.exceeds_on else None,
            "summary": forecast.in_words()}


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def alert_json(alert) -> dict:
    """An alert as the API shows it."""
    return schemas.Alert.model_validate({
        "id": alert.id,
        "severity": alert.severity,
        "policy": alert.policy,
        "title": alert.title,
        "details": alert.details,
        "user_email": alert.subject_user.email if alert.subject_user else None,
        "status": alert.status,
        "dedup_key": alert.dedup_key,
        "fired_at": _iso(alert.fired_at),
        "acknowledged_by": alert.acknowledged_by.email if alert.acknowledged_by else None,
        "acknowledged_at": _iso(alert.acknowledged_at),
        "resolved_by": alert.resolved_by.email if alert.resolved_by else None,
        "resolved_at": _iso(alert.resolved_at),
        "snoozed_until": _iso(alert.snoozed_until) if alert.snoozed(utcnow()) else None,
        "tickets": [{"key": t.external_key, "url": t.url, "status": t.status, "closed": t.closed, "linked": t.linked}
                    for t in alert.tickets],
    }).model_dump()


def route_json(route) -> dict:
    """An alert channel route."""
    return schemas.AlertChannel.model_validate({
        "id": route.id,
        "team_id": route.workspace.team_id,
        "workspace": route.workspace.team_name,
        "channel_id": route.channel_id,
        "channel_name": route.channel_name,
        "severities": route.severity_list,
        "delivery": route.delivery,
        "digest_time": route.digest_time,
        "digest_weekday": route.digest_weekday,
        "remind_after_minutes": route.remind_after_minutes,
        "remind_after_by_severity": route.remind_after_by_severity or {},
        "last_delivery": None if route.last_delivery_at is None else {
            "at": _iso(route.last_delivery_at), "ok": route.last_delivery_ok, "error": route.last_delivery_error},
    }).model_dump()


def reimbursement_json(request) -> dict:
    """A reimbursement request and where it stands."""
    return schemas.Reimbursement.model_validate({
        "id": request.id,
        "employee_email": request.employee.email,
        "approver_email": request.approver.email,
        "amount": f"{request.amount:.2f}",
        "currency": request.currency,
        "period": request.period,
        "description": request.description,
        "status": request.status,
        "decided_by": request.decided_by.email if request.decided_by else None,
        "decided_at": _iso(request.decided_at),
        "rejection_reason": request.rejection_reason,
        "payroll_batch_id": request.payroll_batch_id,
        "approver_notified": request.slack_message_ts is not None,
        "notify_error": request.notify_error,
        "created_at": _iso(request.created_at),
    }).model_dump()


def budget_request_json(request) -> dict:
    """A request for more budget and where it stands."""
    return schemas.BudgetRequest.model_validate({
        "id": request.id,
        "requester_email": request.employee.email,
        "amount": f"{request.amount:.2f}",
        "scope": request.budget_scope,
        "period": request.period,
        "reason": request.description,
        "status": request.status,
        "decided_by": request.decided_by.email if request.decided_by else None,
        "decided_at": _iso(request.decided_at),
        "rejection_reason": request.rejection_reason,
        "created_at": _iso(request.created_at),
    }).model_dump()
