"""How deliveries to Slack are going, read from the outbox: counts by state, the oldest unsent message, each
channel's recent deliveries, and the admin's DM after repeated failures to a channel."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import AlertChannelRoute, SlackWorkspace, User
from app.models.org import Role
from app.models.outbox import OutboxMessage
from app.models.types import utcnow
from app.services.outbox import add_message

UNSENT = ("pending", "sending", "posting")


def live_state_counts() -> tuple[dict[str, int], float]:
    """Outbox messages by state, and the age in seconds of the oldest one not yet sent (0 when none)."""
    rows = db.session.execute(sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state))
    counts = {state: count for state, count in rows}
    now = utcnow()
    # A message due later and not tried yet (a snooze's end, a reminder) is on time, however old.
    scheduled = sa.and_(OutboxMessage.state == "pending", OutboxMessage.attempts == 0, OutboxMessage.not_before > now)
    oldest = db.session.scalar(sa.select(sa.func.min(OutboxMessage.created_at))
                               .where(OutboxMessage.state.in_(UNSENT), sa.not_(scheduled)))
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    return counts, max(age, 0.0)


# --- per channel: recent deliveries, consecutive failures, and the one DM to an admin about them ----------

ALARM_KIND = "delivery_alarm"
RECENT = 20


@dataclass
class Delivery:
    """One alert delivery to a channel, as the admin page shows it."""

    message: OutboxMessage
    still_failing: bool  # failed, and nothing reached the channel since


def _channel_posts(workspace_id: int, channel_id: str):
    return sa.select(OutboxMessage).where(OutboxMessage.workspace_id == workspace_id,
                                          OutboxMessage.channel_id == channel_id,
                                          OutboxMessage.route_id.is_not(None))


def _last_sent_id(workspace_id: int, channel_id: str) -> int | None:
    return db.session.scalar(_channel_posts(workspace_id, channel_id).with_only_columns(sa.func.max(OutboxMessage.id))
                             .where(OutboxMessage.message_ts.is_not(None)))


def recent_deliveries(route: AlertChannelRoute, limit: int = RECENT) -> list[Delivery]:
    """The channel's latest deliveries, newest first; failures after its last success are still failing."""
    last_sent = _last_sent_id(route.workspace_id, route.channel_id) or 0
    rows = db.session.scalars(_channel_posts(route.workspace_id, route.channel_id)
                              .order_by(OutboxMessage.id.desc()).limit(limit))
    return [Delivery(m, m.state == "failed" and m.id > last_sent) for m in rows]


def consecutive_failures(workspace_id: int, channel_id: str) -> tuple[int, int | None]:
    """How many posts to the channel failed since its last success, and that success's message id."""
    last_sent = _last_sent_id(workspace_id, channel_id)
    failed = db.session.scalar(_channel_posts(workspace_id, channel_id).with_only_columns(sa.func.count())
                               .where(OutboxMessage.state == "failed", OutboxMessage.message_ts.is_(None),
                                      OutboxMessage.id > (last_sent or 0)))
    return failed or 0, last_sent


def _admin_to_tell(workspace: SlackWorkspace) -> User | None:
    if workspace.installed_by is not None and workspace.installed_by.is_admin:
        return workspace.installed_by
    return db.session.scalar(sa.select(User).where(User.org_id == workspace.org_id, User.role == Role.ADMIN.value)
                             .order_by(User.id))


def after_failure(message: OutboxMessage) -> bool:
    """After N failed posts in a row to a channel, queue one DM to the installing admin (committed).

    The DM's outbox key names the channel's last success, so it is sent once per run of failures: again only
    after the channel recovered and then failed N times more. Returns whether a DM was queued.
    """
    if message.route_id is None or message.channel_id is None or message.workspace_id is None:
        return False
    failures, last_sent = consecutive_failures(message.workspace_id, message.channel_id)
    if failures < current_app.config["DELIVERY_FAILURES_BEFORE_DM"]:
        return False
    workspace = db.session.get(SlackWorkspace, message.workspace_id)
    admin = _admin_to_tell(workspace) if workspace is not None else None
    if admin is None:
        return False
    key = f"{ALARM_KIND}:{message.workspace_id}:{message.channel_id}:{last_sent or 0}"
    add_message(key, message.org_id, ALARM_KIND, message.route_id, recipient_email=admin.email)
    db.session.commit()
    return True


def render_delivery_alarm(message: OutboxMessage) -> tuple[str, list[dict]]:
    """The admin's DM: which channel stopped receiving alerts, Slack's reason in words, and where to fix it."""
    route = db.session.get(AlertChannelRoute, message.subject_id)
    if route is None:
        text = "Toktra could not deliver alerts to a channel that has since been removed from Alert channels."
        return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    failures, _ = consecutive_failures(route.workspace_id, route.channel_id)
    reason = db.session.scalar(_channel_posts(route.workspace_id, route.channel_id)
                               .with_only_columns(OutboxMessage.last_error)
                               .where(OutboxMessage.state == "failed").order_by(OutboxMessage.id.desc()).limit(1))
    channel = f"#{route.channel_name}" if route.channel_name else route.channel_id
    page = f"{current_app.config['PUBLIC_BASE_URL']}/integrations/slack/alert-channels"
    text = (f":warning: Toktra could not deliver the last {failures} alerts to {channel}. "
            f"{reason or 'Slack refused them.'} Once fixed, use *Send test alert* under "
            f"Integrations → Slack → Alert channels: {page}")
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
