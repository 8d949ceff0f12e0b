"""What one person's App Home tab shows: their usage, the budget, open alerts they act on, requests for them."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Alert, Organization, ReimbursementRequest, User
from app.models.reimbursements import BUDGET_INCREASE
from app.services.alerts import has_active_itsm
from app.services.budget import BudgetStatus, budget_status
from app.services.usage import UsageSummary, usage_summary

MAX_HOME_ALERTS = 10
MAX_HOME_REQUESTS = 10


@dataclass(frozen=True)
class HomeContent:
    """Everything one person's Home tab shows."""

    user: User
    org: Organization
    usage: UsageSummary
    budget: BudgetStatus
    alerts: list[Alert]
    open_alert_count: int
    can_ticket: bool
    requests: list[ReimbursementRequest]


def alerts_visible_to(user: User):
    """Which open alerts a person acts on from Home: admins all, managers theirs and their reports', members theirs."""
    query = sa.select(Alert).where(Alert.org_id == user.org_id, Alert.status == "open")
    if user.is_admin:
        return query
    people = [user.id]
    if user.role == "manager":
        people += db.session.scalars(sa.select(User.id).where(User.manager_id == user.id)).all()
    return query.where(Alert.subject_user_id.in_(people))


def waiting_for(user: User):
    """The requests user decides: those assigned to them, and for admins every budget request but their own."""
    mine = ReimbursementRequest.approver_id == user.id
    if not user.is_admin:
        return mine
    return sa.or_(mine, sa.and_(ReimbursementRequest.org_id == user.org_id, ReimbursementRequest.kind == BUDGET_INCREASE,
                                ReimbursementRequest.employee_id != user.id))


def home_content(user: User) -> HomeContent:
    """Load what user's Home tab shows now."""
    org = user.organization
    visible = alerts_visible_to(user)
    alerts = db.session.scalars(
        visible.options(selectinload(Alert.subject_user), selectinload(Alert.tickets))
        .order_by(Alert.fired_at.desc(), Alert.id.desc()).limit(MAX_HOME_ALERTS)).all()
    count = db.session.scalar(sa.select(sa.func.count()).select_from(visible.subquery()))
    requests = db.session.scalars(
        sa.select(ReimbursementRequest)
        .where(waiting_for(user), ReimbursementRequest.status == "pending")
        .options(selectinload(ReimbursementRequest.employee))
        .order_by(ReimbursementRequest.created_at, ReimbursementRequest.id).limit(MAX_HOME_REQUESTS)).all()
    return HomeContent(user, org, usage_summary(org, user), budget_status(org), list(alerts), count,
                       has_active_itsm(org), list(requests))
