"""Policy-violation alerts and their delivery to Slack channels."""
from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.org import User
from app.models.types import UTCDateTime, utcnow


class Severity(str, enum.Enum):
    """Alert severities, lowest first."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITIES = [s.value for s in Severity]


class Alert(db.Model):
    """An alert fired by a policy for an organization."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    severity: Mapped[str] = mapped_column(sa.String(16))
    policy: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str] = mapped_column(sa.String(500))
    details: Mapped[str] = mapped_column(sa.Text, default="")
    subject_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(sa.String(16), default="open")  # open | acknowledged | resolved
    dedup_key: Mapped[str | None] = mapped_column(sa.String(200))
    fired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Why, when acknowledged with a reason: false_positive | approved_exception | needs_follow_up, and a note.
    ack_reason: Mapped[str | None] = mapped_column(sa.String(32))
    ack_note: Mapped[str | None] = mapped_column(sa.Text)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Quiet until then (no reminders); at that time it is announced again unless resolved meanwhile.
    snoozed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    subject_user: Mapped[User | None] = relationship(foreign_keys=[subject_user_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
    tickets: Mapped[list["Ticket"]] = relationship(  # noqa: F821 (app.models.itsm)
        primaryjoin="and_(Alert.id == Ticket.alert_id, Ticket.state == 'created')", viewonly=True,
        order_by="Ticket.id")

    def snoozed(self, now: dt.datetime) -> bool:
        """True while a snooze runs."""
        return self.status != "resolved" and self.snoozed_until is not None and self.snoozed_until > now

    __table_args__ = (
        sa.CheckConstraint("severity IN ('low', 'medium', 'high', 'critical')", name="severity"),
        sa.CheckConstraint("status IN ('open', 'acknowledged', 'resolved')", name="status"),
        sa.Index("ix_alerts_org_fired", "org_id", "fired_at"),
        sa.Index("ix_alerts_org_dedup", "org_id", "dedup_key"),
        # While an alert with a dedup key is open, the same key cannot fire again (race-safe).
        sa.Index("uq_alerts_open_dedup", "org_id", "dedup_key", unique=True,
                 postgresql_where=sa.text("status = 'open' AND dedup_key IS NOT NULL"),
                 sqlite_where=sa.text("status = 'open' AND dedup_key IS NOT NULL")),
    )


ALERT_EVENTS = ("acknowledged", "resolved", "reopened", "snoozed", "unsnoozed", "reminder", "ticket_created",
                "ticket_linked", "ticket_status")


class AlertEvent(db.Model):
    """One event in an alert's life (acknowledged, resolved, a ticket...), told in the thread of each copy."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(sa.ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(sa.String(32))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # Slack mrkdwn shown after the event's words (a reason, a ticket link, "until <date token>").
    detail: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    alert: Mapped[Alert] = relationship()
    actor: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("event IN (" + ", ".join(f"'{e}'" for e in ALERT_EVENTS) + ")", name="event"),
    )
