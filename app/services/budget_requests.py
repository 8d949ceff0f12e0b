"""Requests for more budget: a manager or admin asks, the organization's other admins decide.

A budget request is a ReimbursementRequest of kind budget_increase, so it is decided by the same one conditional
UPDATE, with the same self-decision refusal, DMs, notices and audit fields (decided_by, decided_at, reason) as a
reimbursement; app.services.reimbursements.decide raises the limit when it approves one.
"""
from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Organization, ReimbursementRequest, User
from app.models.reimbursements import BUDGET_INCREASE, BUDGET_SCOPES
from app.services.budget import MAX_BUDGET
from app.services.errors import FORBIDDEN
from app.services.home import refresh_homes
from app.services.outbox import add_message
from app.services.periods import current_period
from app.services.reimbursements import MAX_DESCRIPTION, REQUEST_DM, ReimbursementError, _checked_text, parse_amount

SCOPE_WORDS = {"period": "this period only", "monthly": "the monthly limit from now on"}
MEMBER_REFUSAL = ("Only managers and admins can ask for more budget. Ask your manager to request it, "
                  "or an admin to raise the monthly limit.")


def may_request_budget(user: User) -> bool:
    """Managers and admins may ask for more budget; members may not."""
    return user.role in ("manager", "admin")


def budget_approvers(org_id: int, requester: User) -> list[User]:
    """Who decides a budget request: every active admin of the organization but the requester, oldest first."""
    return list(db.session.scalars(
        sa.select(User).where(User.org_id == org_id, User.role == "admin", User.active.is_(True),
                              User.id != requester.id).order_by(User.id)))


def parse_scope(raw) -> str:
    """"period" (this period's limit only) or "monthly" (the monthly limit from now on)."""
    if raw not in BUDGET_SCOPES:
        raise ReimbursementError('scope must be "period" (this period only) or "monthly" (the monthly limit from now on)')
    return raw


def parse_reason(raw) -> str:
    """Why more budget is needed: required, at most 2,000 characters."""
    reason = _checked_text("reason", raw, 10 * MAX_DESCRIPTION).strip()
    if not reason or len(reason) > MAX_DESCRIPTION:
        raise ReimbursementError("reason must say why more budget is needed (1 to 2,000 characters)")
    return reason


def submit_budget_request(org: Organization, requester: User, amount, reason, scope) -> ReimbursementRequest:
    """Validate and store a pending budget request; every other admin gets a DM with Approve and Reject."""
    if requester.org_id != org.id or not may_request_budget(requester):
        raise ReimbursementError(MEMBER_REFUSAL, FORBIDDEN)
    value = parse_amount(amount)
    reason = parse_reason(reason)
    scope = parse_scope(scope)
    if org.monthly_budget_usd is None:
        raise ReimbursementError(f"No monthly budget is set for {org.name}, so there is no limit to raise; "
                                 "an admin can set one under Settings.")
    if org.monthly_budget_usd + value > MAX_BUDGET:
        raise ReimbursementError("amount would take the monthly limit over 1,000,000,000")
    approvers = budget_approvers(org.id, requester)
    if not approvers:
        raise ReimbursementError(f"{org.name} has no other admin to approve a budget request; "
                                 "an admin can raise the monthly limit under Settings.")
    request = ReimbursementRequest(org_id=org.id, kind=BUDGET_INCREASE, budget_scope=scope, employee_id=requester.id,
                                   approver_id=approvers[0].id, amount=value, currency="USD",
                                   period=current_period(org.timezone).key, description=reason)
    db.session.add(request)
    db.session.flush()
    # Every admin gets the DM (one decision wins; every copy then shows who decided), written with the request.
    for admin in approvers:
        add_message(f"budget-request:{request.id}:request:{admin.id}", org.id, REQUEST_DM, request.id,
                    recipient_email=admin.email)
    refresh_homes(org.id)
    db.session.commit()
    return request
