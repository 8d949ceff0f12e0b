"""The dashboard's pages."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from app.dashboard import bp
from app.dashboard.auth import role_required
from app.dashboard.forms import (AlertActionForm, AllowanceForm, BudgetForm, LinkTicketForm, MyNudgesForm,
                                 PaceNudgesForm)
from app.extensions import db
from app.models.types import utcnow
from app.models import SEVERITIES, Alert, ReimbursementRequest
from app.services.alert_lifecycle import SNOOZE_CHOICES, reopen_alert, resolve_alert, snooze_alert
from app.services.alerts import ACK_REASONS, acknowledge_alert, active_connectors
from app.services.alert_timeline import event_words, timelines
from app.services.ticket_link_attempts import CHECKING, forget_link_attempt, link_attempts, note_link_attempt
from app.services.tickets import TicketError, connector_label, refuse_second_ticket, ticket_key_from
from app.services.errors import DomainError
from app.services.budget import budget_status, parse_budget_limit, parse_thresholds, update_budget
from app.services.accounts import find_user
from app.services.pace_nudges import parse_allowance, people_with_allowances, set_allowance
from app.services.usage import usage_summary
from app.services.budget_policy import check_budget_thresholds
from jobs import QueueUnavailable, enqueue
from jobs.tickets import link_ticket_from_dashboard

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
                 selectinload(Alert.resolved_by), selectinload(Alert.tickets))
        .order_by(Alert.fired_at.desc(), Alert.id.desc())
        .limit(200)
    )
    if severity in SEVERITIES:
        query = query.where(Alert.severity == severity)
    if status in ALERT_STATUSES:
        query = query.where(Alert.status == status)
    shown = db.session.scalars(query).all()
    attempts = link_attempts(current_user.id, [a.id for a in shown])
    events = timelines([a.id for a in shown])
    return render_template("alerts.html", alerts=shown, severities=SEVERITIES, statuses=ALERT_STATUSES,
                           severity=severity, status=status, ack_reasons=ACK_REASONS, snooze_choices=SNOOZE_CHOICES,
                           now=utcnow(), connectors=active_connectors(current_user.org_id),
                           connector_label=connector_label, attempts=attempts, timelines=events,
                           event_words=event_words,
                           poll=any(n.get("state") == CHECKING for n in attempts.values()))


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


@bp.post("/alerts/<int:alert_id>/link-ticket")
@login_required
def alert_link_ticket(alert_id: int):
    """Link an existing ServiceNow or Jira ticket to an alert: the key or URL is checked here, the ticket itself by
    a job (the web process never calls the connector); the page shows the outcome."""
    form = LinkTicketForm()
    if not form.validate_on_submit():
        abort(400, description="The form expired; reload the page and try again.")
    alert = db.session.get(Alert, alert_id)
    if alert is None or alert.org_id != current_user.org_id:
        abort(404, description="No such alert in your organization.")
    back = redirect(url_for("dashboard.alerts") + f"#alert-{alert.id}")
    connectors = active_connectors(current_user.org_id)
    try:
        if not connectors:
            raise TicketError("No active ServiceNow or Jira connector is set up; an admin can add one under "
                              "Integrations → ITSM.")
        connector = next((c for c in connectors if str(c.id) == (form.connector.data or "").strip()), None)
        if connector is None:
            raise TicketError("That ticketing system is no longer set up in Toktra; choose another.")
        key = ticket_key_from(connector, form.key.data or "")
        refuse_second_ticket(alert.id, connector)
    except TicketError as exc:
        flash(f"Ticket not linked: {exc}", "error")
        return back
    note_link_attempt(alert.id, current_user.id, CHECKING, f"Checking {key} in {connector_label(connector)}…")
    try:
        enqueue(link_ticket_from_dashboard, alert_id=alert.id, user_id=current_user.id, connector_id=connector.id,
                key=key, retry=None)
    except QueueUnavailable:
        forget_link_attempt(alert.id, current_user.id)
        flash(f"Toktra's job queue is unreachable right now, so {key} was not linked. Try again in a minute.",
              "error")
        return back
    flash(f"Checking {key} in {connector_label(connector)}…", "info")
    return back


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
    return _settings_page(form=form, status=status)


def _settings_page(status: int = 200, **forms):
    """The settings page with its forms (those given keep what was typed and their errors)."""
    org = current_user.organization
    form = forms.get("form") or BudgetForm(formdata=None)
    if "form" not in forms:
        form.monthly_limit_usd.data = f"{org.monthly_budget_usd:.2f}" if org.monthly_budget_usd is not None else ""
        form.alert_threshold_pct.data = ", ".join(map(str, org.thresholds))
    nudges_form = PaceNudgesForm(formdata=None, enabled=org.pace_nudges_enabled)
    return render_template(
        "settings.html", form=form, budget=budget_status(org), nudges_form=nudges_form, my_nudges_form=MyNudgesForm(),
        allowance_form=forms.get("allowance_form") or AllowanceForm(formdata=None),
        allowances=people_with_allowances(org.id) if current_user.is_admin else []), status


@bp.post("/settings/pace-nudges")
@role_required("admin")
def settings_pace_nudges():
    """Turn personal pace nudges on or off for the whole organization."""
    form = PaceNudgesForm()
    if form.validate_on_submit():
        current_user.organization.pace_nudges_enabled = form.enabled.data
        db.session.commit()
        flash("Pace nudges are on." if form.enabled.data else "Pace nudges are off for everyone.", "success")
    return redirect(url_for("dashboard.settings") + "#pace-nudges", 303)


@bp.post("/settings/my-pace-nudges")
@login_required
def settings_my_pace_nudges():
    """Turn one's own pace nudges on or off."""
    form = MyNudgesForm()
    if form.validate_on_submit():
        current_user.pace_nudges = form.on.data == "1"
        db.session.commit()
        flash("You will get pace nudges." if current_user.pace_nudges else "You will not get pace nudges.", "success")
    return redirect(url_for("dashboard.settings") + "#pace-nudges", 303)


@bp.post("/settings/allowances")
@role_required("admin")
def settings_allowance():
    """Set (or, left empty, clear) a person's monthly allowance, the measure of their pace nudges."""
    form = AllowanceForm()
    if form.validate_on_submit():
        person = find_user(form.email.data, current_user.org_id)
        if person is None:
            form.email.errors.append(f"No one with email {form.email.data} in {current_user.organization.name}.")
        try:
            amount = parse_allowance(form.amount.data)
        except ValueError:
            form.amount.errors.append("Enter an amount in dollars such as 150 or 150.50, or leave it empty for none.")
        if not form.errors:
            set_allowance(person, amount)
            what = f"${amount:,.2f}" if amount is not None else "cleared"
            flash(f"{person.name}'s monthly allowance is {what}.", "success")
            return redirect(url_for("dashboard.settings") + "#allowances", 303)
    return _settings_page(allowance_form=form, status=400)
