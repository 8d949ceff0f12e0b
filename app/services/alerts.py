"""Alerts: firing (with their deliveries), listing, acknowledging, and the ticketing capability."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import SEVERITIES, Alert, AlertChannelRoute, ItsmConnector, Organization, SlackWorkspace, User
from app.models.types import utcnow
from app.services.alert_lifecycle import schedule_reminders
from app.services.alert_timeline import ALERT_CARD, record_event
from app.services.home import refresh_homes
from app.slack.blocks.format import plain
from app.services.outbox import add_message
from app.services.tickets import carry_over_tickets

log = logging.getLogger(__name__)

MAX_TITLE = 500
MAX_POLICY = 200
MAX_DETAILS = 10_000


@dataclass
class FiredAlert:
    """The outcome of firing: the alert, whether it is new, and how many channel copies it will have."""

    alert: Alert
    created: bool
    channels: int


def matching_routes(org_id: int, severity: str) -> list[AlertChannelRoute]:
    """Every channel route of the organization's active workspaces that takes this severity."""
    routes = db.session.scalars(
        sa.select(AlertChannelRoute)
        .join(SlackWorkspace, AlertChannelRoute.workspace_id == SlackWorkspace.id)
        .where(SlackWorkspace.org_id == org_id, SlackWorkspace.active.is_(True))
        .order_by(AlertChannelRoute.id)
    ).all()
    return [r for r in routes if severity in r.severity_list]


def fire_alert(org: Organization, severity: str, policy: str, title: str, details: str = "",
               subject: User | None = None, dedup_key: str | None = None) -> FiredAlert:
    """Commit an alert together with one pending delivery per matching channel (before anything is queued).

    While an open alert has the same dedup_key, nothing new fires and the open alert is returned.
    """
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
    for _ in range(2):  # a concurrent fire with the same key can win the insert; then return its alert
        if dedup_key:
            existing = open_alert_with_key(org.id, dedup_key)
            if existing is not None:
                return FiredAlert(existing, False, 0)
        fired = _insert_alert(org, severity, policy, title, details, subject, dedup_key)
        if fired is not None:
            return fired
    raise RuntimeError(f"alert with dedup key {dedup_key!r} could neither be fired nor found")


def _insert_alert(org: Organization, severity: str, policy: str, title: str, details: str, subject: User | None,
                  dedup_key: str | None) -> FiredAlert | None:
    """Insert the alert and its deliveries in one transaction; None if the dedup key is taken meanwhile."""
    alert = Alert(org_id=org.id, severity=severity, policy=policy[:MAX_POLICY], title=title[:MAX_TITLE],
                  details=(details or "")[:MAX_DETAILS], subject_user_id=subject.id if subject else None,
                  dedup_key=dedup_key, fired_at=utcnow())
    db.session.add(alert)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return None
    # Digest channels get the alert in their next digest, not on its own.
    routes = [r for r in matching_routes(org.id, severity) if not r.is_digest]
    for route in routes:
        add_message(alert_copy_key(alert.id, route.workspace_id, route.channel_id), org.id, ALERT_CARD, alert.id,
                    workspace_id=route.workspace_id, channel_id=route.channel_id, route_id=route.id)
    carry_over_tickets(alert)  # the same problem again: its existing ticket, not an offer to open another
    schedule_reminders(alert, alert.fired_at)  # the channels that want a reminder if nobody acknowledges
    refresh_homes(org.id)  # a new open alert (a budget crossing included) shows on the Home tabs
    db.session.commit()
    return FiredAlert(alert, True, len(routes))


def alert_copy_key(alert_id: int, workspace_id: int, channel_id: str) -> str:
    """The outbox key of an alert's copy in one channel (one copy per channel, however often it is written)."""
    return f"alert:{alert_id}:{workspace_id}:{channel_id}"


def open_alert_with_key(org_id: int, dedup_key: str) -> Alert | None:
    """The open alert carrying dedup_key, if any."""
    return db.session.scalar(
        sa.select(Alert).where(Alert.org_id == org_id, Alert.dedup_key == dedup_key, Alert.status == "open")
    )


def recent_alerts(org: Organization, severity: str | None = None, limit: int = 10,
                  status: str | tuple[str, ...] | None = None, with_tickets: bool = False) -> list[Alert]:
    """The organization's most recent alerts (of one status, or of any of several), newest first."""
    query = (
        sa.select(Alert)
        .where(Alert.org_id == org.id)
        .options(selectinload(Alert.subject_user), selectinload(Alert.acknowledged_by), selectinload(Alert.resolved_by))
        .order_by(Alert.fired_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    if with_tickets:
        query = query.options(selectinload(Alert.tickets))
    if severity:
        query = query.where(Alert.severity == severity)
    if status:
        query = query.where(Alert.status.in_((status,) if isinstance(status, str) else status))
    return list(db.session.scalars(query))


ACK_REASONS = {"false_positive": "False positive", "approved_exception": "Approved exception",
               "needs_follow_up": "Needs follow-up"}
MAX_ACK_NOTE = 2000


def acknowledge_alert(alert_id: int, actor: User, reason: str | None = None,
                      note: str | None = None) -> tuple[bool, Alert | None]:
    """Acknowledge an open alert of actor's organization, optionally with a reason (ACK_REASONS) and a note;
    (True, alert) for the one click that wins."""
    if reason is not None and reason not in ACK_REASONS:
        raise ValueError(f"reason must be one of {', '.join(ACK_REASONS)}")
    result = db.session.execute(
        sa.update(Alert)
        .where(Alert.id == alert_id, Alert.org_id == actor.org_id, Alert.status == "open")
        .values(status="acknowledged", acknowledged_by_id=actor.id, acknowledged_at=utcnow(), ack_reason=reason,
                ack_note=((note or "").strip()[:MAX_ACK_NOTE] or None) if reason else None)
    )
    if result.rowcount == 1:
        # Every channel copy shows who acknowledged, and says so in its thread, in this transaction.
        record_event(db.session.get(Alert, alert_id), "acknowledged", actor, ack_detail(reason, note))
        refresh_homes(actor.org_id)
    db.session.commit()
    alert = db.session.get(Alert, alert_id, populate_existing=True)
    if alert is not None and alert.org_id != actor.org_id:
        return False, None
    return result.rowcount == 1, alert


def ack_detail(reason: str | None, note: str | None) -> str | None:
    """How an acknowledgement's reason reads in its thread reply (mrkdwn): "False positive: “note”"."""
    if reason is None:
        return None
    note = plain((note or "").strip()[:MAX_ACK_NOTE])
    return ACK_REASONS[reason] + (f": “{note}”" if note else "")


def active_connectors(org_id: int) -> list[ItsmConnector]:
    """The organization's active ITSM connectors, oldest first."""
    return list(db.session.scalars(
        sa.select(ItsmConnector).where(ItsmConnector.org_id == org_id, ItsmConnector.active.is_(True))
        .order_by(ItsmConnector.id)
    ))


def has_active_itsm(org: Organization) -> bool:
    """True when the organization has at least one active ServiceNow or Jira connector."""
    return db.session.scalar(
        sa.select(sa.exists().where(ItsmConnector.org_id == org.id, ItsmConnector.active.is_(True)))
    )
