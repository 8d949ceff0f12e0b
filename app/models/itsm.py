"""ITSM connectors (ServiceNow, Jira) and the tickets opened from alerts."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import EncryptedText, UTCDateTime, utcnow


class ItsmConnector(db.Model):
    """An organization's ServiceNow or Jira connection; credentials are encrypted at rest."""

    __tablename__ = "itsm_connectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))  # servicenow | jira_cloud | jira_server
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    base_url: Mapped[str] = mapped_column(sa.String(500))
    credentials: Mapped[str] = mapped_column(EncryptedText)  # JSON document, encrypted
    project: Mapped[str | None] = mapped_column(sa.String(200))  # Jira project key / ServiceNow assignment group
    issue_type: Mapped[str | None] = mapped_column(sa.String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_test_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_test_result: Mapped[str | None] = mapped_column(sa.String(500))
    last_test_ok: Mapped[bool | None] = mapped_column()

    __table_args__ = (
        sa.CheckConstraint("kind IN ('servicenow', 'jira_cloud', 'jira_server')", name="kind"),
    )


class Ticket(db.Model):
    """A ticket opened for an alert; at most one per alert and connector (the row is claimed first)."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(sa.ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    connector_id: Mapped[int] = mapped_column(sa.ForeignKey("itsm_connectors.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(sa.String(16), default="creating")  # creating | created | failed
    external_key: Mapped[str | None] = mapped_column(sa.String(100))
    external_id: Mapped[str | None] = mapped_column(sa.String(100))
    url: Mapped[str | None] = mapped_column(sa.String(1000))
    error: Mapped[str | None] = mapped_column(sa.String(500))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # An existing ticket linked by someone (or carried over from an earlier alert with the same dedup key),
    # rather than one Toktra created.
    linked: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The ticket's status as the connector names it ("In Progress", "Resolved") and whether that counts as closed.
    status: Mapped[str | None] = mapped_column(sa.String(100))
    status_category: Mapped[str | None] = mapped_column(sa.String(16))  # open | closed
    last_polled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When the poller looks at the ticket next; None stops polling. Claimed by moving it forward.
    next_poll_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    poll_errors: Mapped[int] = mapped_column(default=0, server_default="0")
    last_poll_error: Mapped[str | None] = mapped_column(sa.String(500))

    connector: Mapped[ItsmConnector] = relationship()

    @property
    def closed(self) -> bool:
        """True when the connector says the ticket is done (Jira's done category, ServiceNow resolved/closed)."""
        return self.status_category == "closed"

    __table_args__ = (
        sa.UniqueConstraint("alert_id", "connector_id", name="uq_ticket_alert_connector"),
        sa.CheckConstraint("status_category IS NULL OR status_category IN ('open', 'closed')",
                           name="status_category"),
        sa.Index("ix_tickets_next_poll", "next_poll_at"),
    )
