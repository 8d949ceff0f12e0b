"""Reimbursement requests for personal LLM usage, decided by an approver."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.org import Organization, User
from app.models.types import Money, UTCDateTime, utcnow


class PayrollBatch(db.Model):
    """A payroll export: the approved requests it carried, each exported exactly once."""

    __tablename__ = "payroll_batches"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    request_count: Mapped[int] = mapped_column(default=0)


REIMBURSEMENT = "reimbursement"
BUDGET_INCREASE = "budget_increase"
BUDGET_SCOPES = ("period", "monthly")  # raise this period's limit only, or the monthly limit from now on


class ReimbursementRequest(db.Model):
    """A request decided once by an approver: an employee's reimbursement (exported to payroll at most once) or a
    manager's request for more budget (kind budget_increase: amount raises the limit of budget_scope on approval).
    """

    __tablename__ = "reimbursement_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16), default=REIMBURSEMENT, server_default=REIMBURSEMENT)
    budget_scope: Mapped[str | None] = mapped_column(sa.String(8))  # budget_increase only: period | monthly
    employee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    approver_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    period: Mapped[str] = mapped_column(sa.String(7))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")  # pending | approved | rejected
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(sa.Text)
    payroll_batch_id: Mapped[str | None] = mapped_column(sa.ForeignKey("payroll_batches.id"), index=True)
    slack_workspace_id: Mapped[int | None] = mapped_column(sa.ForeignKey("slack_workspaces.id", ondelete="SET NULL"))
    slack_channel_id: Mapped[str | None] = mapped_column(sa.String(32))
    slack_message_ts: Mapped[str | None] = mapped_column(sa.String(32))
    notify_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
    employee: Mapped[User] = relationship(foreign_keys=[employee_id])
    approver: Mapped[User] = relationship(foreign_keys=[approver_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("kind IN ('reimbursement', 'budget_increase')", name="kind"),
        sa.CheckConstraint("(kind = 'reimbursement' AND budget_scope IS NULL) OR "
                           "(kind = 'budget_increase' AND budget_scope IN ('period', 'monthly'))", name="budget_scope"),
        sa.Index("ix_reimbursements_org_status", "org_id", "status"),
    )


class BudgetOverride(db.Model):
    """Extra budget approved for one period only: the period's limit is the monthly limit plus extra_usd."""

    __tablename__ = "budget_overrides"

    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    extra_usd: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
