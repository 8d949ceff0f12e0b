"""The outbox: every message that must reach Slack, its history, and each channel's pace."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

# What a message shows; the renderer for each kind reads its subject's current state at send time.
KINDS = ("alert_card", "alert_reply", "alert_unsnooze", "alert_reminder", "alert_digest", "reimbursement_request",
         "reimbursement_notice", "mention_reply", "home_view", "budget_card", "budget_reply", "pace_nudge")
STATES = ("pending", "sending", "posting", "sent", "failed", "skipped")


class OutboxMessage(db.Model):
    """One Slack message to post, then keep current: written with the change that causes it, sent by a job.

    pending -> sending (claimed) -> posting (channel slot taken, the call is under way) -> sent | failed;
    or sending -> skipped, when at send time the message no longer applies (a reminder for a resolved alert).
    A change to what the message shows raises `version`; a sent message whose `sent_version` is behind
    goes back to pending and is sent again as a chat.update (latest state wins, one sender at a time).
    """

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Names the message, so writing it twice (a rerun, a race) keeps one row.
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[int | None] = mapped_column()
    # Where it goes: a channel of a workspace, or a person (by email) whose DM is opened at send time.
    workspace_id: Mapped[int | None] = mapped_column(sa.ForeignKey("slack_workspaces.id", ondelete="CASCADE"))
    route_id: Mapped[int | None] = mapped_column(sa.ForeignKey("alert_channel_routes.id", ondelete="SET NULL"))
    channel_id: Mapped[str | None] = mapped_column(sa.String(32))
    recipient_email: Mapped[str | None] = mapped_column(sa.String(320))
    # A Slack user of the workspace, for what is published to one person (their App Home tab).
    recipient_user_id: Mapped[str | None] = mapped_column(sa.String(32))
    thread_ts: Mapped[str | None] = mapped_column(sa.String(32))
    # A reply in the thread of another outbox message: its thread_ts is the parent's ts, known once posted.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox_messages.id", ondelete="CASCADE"),
                                                  index=True)
    # Also shown in the channel (chat.postMessage reply_broadcast).
    broadcast: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    message_ts: Mapped[str | None] = mapped_column(sa.String(32))

    state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    version: Mapped[int] = mapped_column(default=1)
    sent_version: Mapped[int] = mapped_column(default=0)
    claimed_version: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    # An answer lost after the request reached Slack: re-posted at most once, after a delay.
    ambiguous_posts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list["OutboxEvent"]] = relationship(order_by="OutboxEvent.id", viewonly=True)

    __table_args__ = (
        sa.CheckConstraint("state IN ('pending', 'sending', 'posting', 'sent', 'failed', 'skipped')", name="state"),
        sa.Index("ix_outbox_due", "state", "not_before"),
        sa.Index("ix_outbox_subject", "kind", "subject_id"),
    )


class OutboxEvent(db.Model):
    """One step in a message's history (sent, rate limited, ambiguous, failed...), for operators."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    event: Mapped[str] = mapped_column(sa.String(32))
    detail: Mapped[str | None] = mapped_column(sa.String(500))


class ChannelPace(db.Model):
    """When a channel may receive its next message: Slack's pace, or the end of a 429 hold."""

    __tablename__ = "slack_channel_pace"

    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("slack_workspaces.id", ondelete="CASCADE"),
                                              primary_key=True)
    channel_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    next_send_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    held_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class DeferredJob(db.Model):
    """A job that could not be queued (Redis unreachable): kept here until the dispatcher queues it."""

    __tablename__ = "deferred_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    func: Mapped[str] = mapped_column(sa.String(200))
    kwargs: Mapped[str] = mapped_column(sa.Text)  # JSON of primitives
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
