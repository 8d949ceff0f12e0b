"""Reimbursements → New request and the decisions taken on Reimbursements → Approvals."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.dashboard import bp
from app.dashboard.auth import role_required
from app.errors import status_for
from app.dashboard.forms import DecisionForm, ReimbursementForm
from app.extensions import db
from app.models import User
from app.services.periods import current_period
from app.services.reimbursements import ReimbursementError, decide, submit_request


def _approver_choices() -> list[tuple[str, str]]:
    people = db.session.scalars(
        sa.select(User).where(User.org_id == current_user.org_id, User.role.in_(("manager", "admin")),
                              User.id != current_user.id).order_by(User.name)).all()
    default = current_user.manager
    first = [("", f"My manager ({default.name})" if default else "Choose an approver")]
    return first + [(u.email, f"{u.name} ({u.role})") for u in people]


@bp.route("/reimbursements/new", methods=["GET", "POST"])
@login_required
def new_reimbursement():
    """An employee asks to be reimbursed for personal LLM usage."""
    form = ReimbursementForm()
    form.approver_email.choices = _approver_choices()
    if request.method == "GET":
        form.period.data = current_period(current_user.organization.timezone).key
    elif form.validate_on_submit():
        try:
            created = submit_request(current_user.organization, current_user.email, form.amount.data,
                                     form.currency.data, form.description.data, form.period.data,
                                     form.approver_email.data or None)
        except ReimbursementError as exc:
            form.form_errors.append(str(exc))
        else:
            flash(f"Request sent to {created.approver.name} for approval.", "success")
            return redirect(url_for("dashboard.new_reimbursement"), 303)
    failed = bool(form.errors or form.form_errors)
    return render_template("reimbursement_new.html", form=form), 400 if failed else 200


@bp.post("/reimbursements/<int:request_id>/decision")
@role_required("admin", "manager")
def decide_reimbursement(request_id: int):
    """Approve or Reject from the dashboard; the Slack DM card is updated and the employee told."""
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400, description="The form expired; reload the page and try again.")
    approve = request.form.get("decision") == "approve"
    if request.form.get("decision") not in ("approve", "reject"):
        abort(400, description="Choose Approve or Reject.")
    try:
        outcome = decide(request_id, current_user, approve, form.reason.data)
    except ReimbursementError as exc:
        abort(status_for(exc), description=str(exc))
    decided = outcome.request
    if outcome.decided:
        flash(f"{decided.employee.name}'s request was {decided.status}.", "success")
    else:
        by = decided.decided_by.name if decided.decided_by else "someone"
        flash(f"This request was already {decided.status} by {by}; nothing changed.", "error")
    return redirect(url_for("dashboard.approvals"), 303)
