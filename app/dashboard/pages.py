"""The dashboard's pages."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from app.dashboard import bp
from app.dashboard.auth import role_required
from app.dashboard.forms import AlertActionForm, BudgetForm
from app.extensions import db
from app.models.types import utcnow
from app.models import SEVERITIES, Alert, ReimbursementRequest
from app.services.alert_lifecycle import SNOOZE_CHOICES, reopen_alert, resolve_alert, snooze_alert
from app.services.alerts import ACK_REASONS, acknowledge_alert
from app.services.errors import DomainError
from app.services.budget import budget_status, parse_budget_limit, parse_thresholds, update_budget
from app.services.usage import usage_summary
from app.services.budget_policy import check_budget_thresholds

ALERT_STATUSES = ("open", "acknowledged", "resolved")


@bp.get("/")
@login_required
def overview():
    """Your usage and the organization's budget this billing period."""
    org = current_user.organization
    return render_template(
        "overview.html",
        mine=usage_summary(org, current_user),
        org_usage=usage_summary(org),
        budget=budget_status(org),
    )


@bp.get("/alerts")
@login_required
def alerts():
    """The organization's alerts, newest first, filterable by severity and status."""
    severity = request.args.get("severity", "")
    status = request.args.get("status", "")
    query = (
        sa.select(Alert)
        .where(Alert.org_id == current_user.org_id)
        .options(selectinload(Alert.subject_user), selectinload(Alert.acknowledged_by),
                 selectinload(Alert.resolved_by))
        .order_by(Alert.fired_at.desc(), Alert.id.desc())
        .limit(200)
    )
    if severity in SEVERITIES:
        query = query.where(Alert.severity == severity)
    if status in ALERT_STATUSES:
        query = query.where(Alert.status == status)
    return render_template("alerts.html", alerts=db.session.scalars(query).all(), severities=SEVERITIES,
                           statuses=ALERT_STATUSES, severity=severity, status=status, ack_reasons=ACK_REASONS,
                           snooze_choices=SNOOZE_CHOICES, now=utcnow())


@bp.post("/alerts/<int:alert_id>/<any(acknowledge, resolve, reopen, snooze):action>")
@login_required
def alert_action(alert_id: int, action: str):
    """Acknowledge, Resolve, Reopen or Snooze from the Alerts page; every Slack copy and its thread follow."""
    form = AlertActionForm()
    if not form.validate_on_submit():
        abort(400, description="The form expired; reload the page and try again.")
    try:
        if action == "snooze":
            if form.snooze.data not in SNOOZE_CHOICES:
                raise DomainError(f"Choose how long to snooze: {', '.join(SNOOZE_CHOICES.values())}.")
            won, alert = snooze_alert(alert_id, current_user, form.snooze.data)
        elif action == "acknowledge":
            won, alert = acknowledge_alert(alert_id, current_user)
        elif action == "resolve":
            won, alert = resolve_alert(alert_id, current_user.org_id, current_user)
        else:
            won, alert = reopen_alert(alert_id, current_user)
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for("dashboard.alerts"))
    if alert is None:
        abort(404, description="No such alert in your organization.")
    done = {"acknowledge": "acknowledged", "resolve": "resolved", "reopen": "reopened", "snooze": "snoozed"}[action]
    flash(f"Alert “{alert.title}” {done}." if won else f"Nothing changed: the alert is {alert.status}.",
          "success" if won else "info")
    return redirect(url_for("dashboard.alerts"))


@bp.get("/reimbursements/approvals")
@role_required("admin", "manager")
def approvals():
    """Requests waiting for your decision, and those already decided."""
    base = (
        sa.select(ReimbursementRequest)
        .where(ReimbursementRequest.org_id == current_user.org_id)
        .options(selectinload(ReimbursementRequest.employee), selectinload(ReimbursementRequest.decided_by),
                 selectinload(ReimbursementRequest.approver))
    )
    if not current_user.is_admin:
        base = base.where(ReimbursementRequest.approver_id == current_user.id)
    pending = db.session.scalars(
        base.where(ReimbursementRequest.status == "pending").order_by(ReimbursementRequest.created_at)
    ).all()
    decided = db.session.scalars(
        base.where(ReimbursementRequest.status != "pending").order_by(ReimbursementRequest.decided_at.desc()).limit(100)
    ).all()
    return render_template("approvals.html", pending=pending, decided=decided)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """The budget settings: everyone may read them, admins may change them."""
    org = current_user.organization
    form = BudgetForm()
    if request.method == "GET":
        form.monthly_limit_usd.data = f"{org.monthly_budget_usd:.2f}" if org.monthly_budget_usd is not None else ""
        form.alert_threshold_pct.data = ", ".join(map(str, org.thresholds))
    elif not current_user.is_admin:
        abort(403, description="Only admins can change the budget.")
    else:
        valid = form.validate_on_submit()
        limit: Decimal | None = None
        thresholds: list[int] = []
        if valid:
            try:
                limit = parse_budget_limit(form.monthly_limit_usd.data)
            except ValueError as exc:
                form.monthly_limit_usd.errors.append(str(exc))
        if form.alert_threshold_pct.data:
            try:
                thresholds = parse_thresholds(form.alert_threshold_pct.data)
            except ValueError:
                form.alert_threshold_pct.errors.append(
                    "Enter a whole number from 1 to 100, or several such as 50, 75, 90.")
        if valid and not form.errors:
            update_budget(org, limit, thresholds)
            check_budget_thresholds(org)
            flash("Budget saved.", "success")
            return redirect(url_for("dashboard.settings"), 303)
    status = 400 if form.errors else 200
    return render_template("settings.html", form=form, budget=budget_status(org)), status
