"""Slack workspaces installed for an organization, user links, alert routes and OAuth state."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.org import Organization, User
from app.models.types import EncryptedText, UTCDateTime, utcnow


class SlackWorkspace(db.Model):
    """One Slack workspace installation; tokens are encrypted at rest."""

    __tablename__ = "slack_workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[str] = mapped_column(sa.String(32))
    enterprise_id: Mapped[str] = mapped_column(sa.String(32), default="")  # "" when not Enterprise Grid
    team_name: Mapped[str] = mapped_column(sa.String(200), default="")
    app_id: Mapped[str | None] = mapped_column(sa.String(32))
    bot_id: Mapped[str | None] = mapped_column(sa.String(32))
    bot_user_id: Mapped[str | None] = mapped_column(sa.String(32))
    bot_token: Mapped[str | None] = mapped_column(EncryptedText)
    bot_refresh_token: Mapped[str | None] = mapped_column(EncryptedText)
    bot_token_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    scopes: Mapped[str] = mapped_column(sa.Text, default="")
    installed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    installed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(default=True)
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    deactivated_reason: Mapped[str | None] = mapped_column(sa.String(200))

    organization: Mapped[Organization] = relationship()
    installed_by: Mapped[User | None] = relationship()

    __table_args__ = (
        # A workspace (or an org-wide enterprise install) is installed once.
        sa.UniqueConstraint("enterprise_id", "team_id", name="uq_slack_workspace_team"),
    )


class SlackUserLink(db.Model):
    """A Slack user in a workspace, mapped to a Toktra user by email."""

    __tablename__ = "slack_user_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("slack_workspaces.id", ondelete="CASCADE"))
    slack_user_id: Mapped[str] = mapped_column(sa.String(32))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(320))
    refreshed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("workspace_id", "slack_user_id", name="uq_slack_user_link"),)


class AlertChannelRoute(db.Model):
    """A channel in a workspace that receives alerts of the listed severities."""

    __tablename__ = "alert_channel_routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("slack_workspaces.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[str] = mapped_column(sa.String(32))
    channel_name: Mapped[str] = mapped_column(sa.String(200), default="")
    severities: Mapped[str] = mapped_column(sa.String(64))  # comma-separated, e.g. "high,critical"
    # Remind the channel of an alert not acknowledged after this many minutes (again each interval); None: never.
    remind_after_minutes: Mapped[int | None] = mapped_column()
    # Per-severity exceptions to remind_after_minutes, e.g. {"critical": 15, "low": null}; null: never for it.
    remind_after_by_severity: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The latest delivery (or test alert) to this channel, for the admin page.
    last_delivery_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_delivery_ok: Mapped[bool | None] = mapped_column()
    last_delivery_error: Mapped[str | None] = mapped_column(sa.String(300))
    # realtime: each alert is posted as it fires; daily/weekly: one digest per period at digest_time (local
    # HH:MM in the organization's timezone), weekly on digest_weekday (0 = Monday).
    delivery: Mapped[str] = mapped_column(sa.String(16), default="realtime", server_default="realtime")
    digest_time: Mapped[str | None] = mapped_column(sa.String(5))
    digest_weekday: Mapped[int | None] = mapped_column(sa.SmallInteger)
    # The end of the last period whose digest was written (the scheduler's mark; the outbox key makes it once).
    last_digest_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    workspace: Mapped[SlackWorkspace] = relationship()

    @property
    def is_digest(self) -> bool:
        """True when alerts reach this channel as a daily or weekly digest, not one by one."""
        return self.delivery in ("daily", "weekly")

    def remind_minutes(self, severity: str) -> int | None:
        """The reminder interval for alerts of this severity here: its own if set, else the route's; None: never."""
        overrides = self.remind_after_by_severity or {}
        return overrides[severity] if severity in overrides else self.remind_after_minutes

    @property
    def severity_list(self) -> list[str]:
        """The severities routed here, lowest first."""
        return [s for s in self.severities.split(",") if s]

    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "channel_id", name="uq_alert_route_channel"),
        sa.CheckConstraint("delivery IN ('realtime', 'daily', 'weekly')", name="delivery"),
        sa.CheckConstraint("digest_weekday IS NULL OR digest_weekday BETWEEN 0 AND 6", name="digest_weekday"),
    )


class OAuthState(db.Model):
    """A single-use, expiring OAuth state bound to a browser and an organization."""

    __tablename__ = "oauth_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(200), unique=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class BudgetChannel(db.Model):
    """The channel where the organization's living budget card is posted (one per organization)."""

    __tablename__ = "budget_channels"

    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("slack_workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(sa.String(32))
    channel_name: Mapped[str] = mapped_column(sa.String(200), default="")
    chosen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    workspace: Mapped[SlackWorkspace] = relationship()
