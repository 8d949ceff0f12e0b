"""An alert's life after it fires: resolve, reopen, snooze (announced again when it ends), reminders per channel."""
from __future__ import annotations

import datetime as dt
import math

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Alert, AlertChannelRoute, AlertEvent, Organization, OutboxMessage, User
from app.models.types import utcnow
from app.services.alert_timeline import ALERT_CARD, record_event
from app.services.errors import CONFLICT, DomainError
from app.services.home import refresh_homes
from app.services.outbox import add_reply, refresh_message
from app.services.periods import zone
from app.slack.blocks.format import slack_time

ALERT_UNSNOOZE = "alert_unsnooze"  # outbox kind: the snooze's end, subject the "snoozed" AlertEvent
ALERT_REMINDER = "alert_reminder"  # outbox kind: "still not acknowledged", subject the alert

SNOOZE_CHOICES = {"1h": "1 hour", "4h": "4 hours", "1d": "1 day", "tomorrow": "until tomorrow 09:00"}
STATUSES = ("open", "acknowledged", "resolved")
MAX_REMIND_MINUTES = 7 * 24 * 60


def snooze_end(choice: str, now: dt.datetime, tz: str) -> dt.datetime:
    """When a snooze chosen now ends: in 1 h, 4 h, 1 day, or tomorrow at 09:00 in the organization's timezone."""
    if choice == "tomorrow":
        local = now.astimezone(zone(tz))
        nine = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(9), tzinfo=zone(tz))
        return nine.astimezone(dt.timezone.utc)
    hours = {"1h": 1, "4h": 4, "1d": 24}.get(choice)
    if hours is None:
        raise DomainError(f"snooze must be one of {', '.join(SNOOZE_CHOICES)}")
    return now + dt.timedelta(hours=hours)


def resolve_alert(alert_id: int, org_id: int, actor: User | None, detail: str | None = None) -> tuple[bool, Alert | None]:
    """Resolve an open or acknowledged alert of the organization (committed); (True, alert) for the one that wins.

    A resolved alert no longer holds its dedup key: the same key fires a new alert.
    """
    now = utcnow()
    result = db.session.execute(
        sa.update(Alert).where(Alert.id == alert_id, Alert.org_id == org_id, Alert.status != "resolved")
        .values(status="resolved", resolved_by_id=actor.id if actor else None, resolved_at=now, snoozed_until=None)
        .execution_options(synchronize_session=False))
    won = result.rowcount == 1
    if won:
        record_event(db.session.get(Alert, alert_id, populate_existing=True), "resolved", actor, detail)
        refresh_homes(org_id)
    db.session.commit()
    return won, _own(alert_id, org_id)


def reopen_alert(alert_id: int, actor: User) -> tuple[bool, Alert | None]:
    """Reopen a resolved alert of actor's organization (committed): open again, reminders start again.

    Refused (DomainError, conflict) while a newer open alert holds the same dedup key.
    """
    try:
        with db.session.begin_nested():
            result = db.session.execute(
                sa.update(Alert).where(Alert.id == alert_id, Alert.org_id == actor.org_id, Alert.status == "resolved")
                .values(status="open", resolved_by_id=None, resolved_at=None)
                .execution_options(synchronize_session=False))
    except IntegrityError:
        db.session.rollback()
        alert = _own(alert_id, actor.org_id)
        newer = db.session.scalar(sa.select(Alert.id).where(
            Alert.org_id == actor.org_id, Alert.dedup_key == alert.dedup_key, Alert.status == "open"))
        raise DomainError(f"This alert can't be reopened: a newer alert for the same thing is open (#{newer}); "
                          "act on that one instead.", CONFLICT) from None
    won = result.rowcount == 1
    if won:
        alert = db.session.get(Alert, alert_id, populate_existing=True)
        record_event(alert, "reopened", actor)
        schedule_reminders(alert, utcnow())
        refresh_homes(actor.org_id)
    db.session.commit()
    return won, _own(alert_id, actor.org_id)


def snooze_alert(alert_id: int, actor: User, choice: str, now: dt.datetime | None = None) -> tuple[bool, Alert | None]:
    """Snooze an alert that is not resolved (committed): no reminders until the snooze ends, when the alert is
    announced again in each channel's thread and the channel, once, unless resolved or snoozed again meanwhile."""
    now = now or utcnow()
    org = db.session.get(Organization, actor.org_id)
    until = snooze_end(choice, now, org.timezone)
    result = db.session.execute(
        sa.update(Alert).where(Alert.id == alert_id, Alert.org_id == actor.org_id, Alert.status != "resolved")
        .values(snoozed_until=until).execution_options(synchronize_session=False))
    won = result.rowcount == 1
    if won:
        alert = db.session.get(Alert, alert_id, populate_existing=True)
        event = record_event(alert, "snoozed", actor, f"until {slack_time(until, org.timezone)}")
        for copy_key in _copy_keys(alert.id):
            add_reply(f"alert-unsnooze:{event.id}:{copy_key}", copy_key, ALERT_UNSNOOZE, event.id, broadcast=True,
                      not_before=until)
        refresh_homes(actor.org_id)
    db.session.commit()
    return won, _own(alert_id, actor.org_id)


def _own(alert_id: int, org_id: int) -> Alert | None:
    alert = db.session.get(Alert, alert_id, populate_existing=True)
    return alert if alert is not None and alert.org_id == org_id else None


def _copy_keys(alert_id: int) -> list[str]:
    return list(db.session.scalars(sa.select(OutboxMessage.key).where(
        OutboxMessage.kind == ALERT_CARD, OutboxMessage.subject_id == alert_id).order_by(OutboxMessage.id)))


def unsnooze_due(message: OutboxMessage, now: dt.datetime) -> str | None:
    """At the end of a snooze, before announcing it in one copy's thread: why not (resolved, snoozed again),
    or None, having refreshed that card (it drops "Snoozed") and restarted its reminders."""
    event = db.session.get(AlertEvent, message.subject_id)
    if event is None:
        return "Not needed: the alert was deleted."
    alert = event.alert
    if alert.status == "resolved" or alert.snoozed_until is None:
        return "Not needed: the alert was resolved while snoozed."
    latest = db.session.scalar(sa.select(sa.func.max(AlertEvent.id)).where(
        AlertEvent.alert_id == alert.id, AlertEvent.event == "snoozed"))
    if latest != event.id:
        return "Not needed: the alert was snoozed again."
    parent = db.session.get(OutboxMessage, message.parent_id)
    # Last shown while snoozed: update it once (this check runs again if the post has to wait its turn).
    if parent is not None and parent.state == "sent" and (parent.sent_at is None or parent.sent_at <= alert.snoozed_until):
        refresh_message(parent.key)
    minutes = _route_minutes(parent, alert)
    if minutes and alert.status == "open":
        add_reminder(alert, parent, minutes, now)
    return None


# --- reminders ---------------------------------------------------------------------------------

def reminder_key(alert_id: int, minutes: int, interval: int, copy_key: str) -> str:
    """The outbox key of the reminder for one interval in one copy's thread (at most one each).

    The interval's length is part of it: after a change of length the chain goes on with new keys rather than
    running into an earlier interval's.
    """
    return f"alert-reminder:{alert_id}:{minutes}m{interval}:{copy_key}"


def add_reminder(alert: Alert, copy: OutboxMessage, minutes: int, after: dt.datetime) -> None:
    """Write the copy's next reminder: the first interval end (fired_at + n·minutes) later than `after`."""
    every = dt.timedelta(minutes=minutes)
    interval = max(1, math.floor((after - alert.fired_at) / every) + 1)
    add_reply(reminder_key(alert.id, minutes, interval, copy.key), copy.key, ALERT_REMINDER, alert.id, broadcast=True,
              not_before=alert.fired_at + interval * every)


def schedule_reminders(alert: Alert, after: dt.datetime) -> None:
    """Write the next reminder of every copy whose channel route asks for reminders at the alert's severity
    (caller's transaction)."""
    copies = db.session.execute(
        sa.select(OutboxMessage, AlertChannelRoute)
        .join(AlertChannelRoute, AlertChannelRoute.id == OutboxMessage.route_id)
        .where(OutboxMessage.kind == ALERT_CARD, OutboxMessage.subject_id == alert.id)).all()
    for copy, route in copies:
        minutes = route.remind_minutes(alert.severity)
        if minutes:
            add_reminder(alert, copy, minutes, after)


def _route_minutes(copy: OutboxMessage | None, alert: Alert) -> int | None:
    """The reminder interval for this alert of the channel route a card copy went to, if reminders are on."""
    route = db.session.get(AlertChannelRoute, copy.route_id) if copy is not None and copy.route_id else None
    return route.remind_minutes(alert.severity) if route is not None else None


def reminder_due(reminder: OutboxMessage, now: dt.datetime) -> str | None:
    """Before posting a reminder: why not (acknowledged, resolved, snoozed, reminders off), or None, having
    written the next interval's reminder (so the chain never depends on this post's outcome)."""
    alert = db.session.get(Alert, reminder.subject_id)
    if alert is None:
        return "Not needed: the alert was deleted."
    if alert.status != "open":
        return f"Not needed: the alert was {alert.status}."
    if alert.snoozed(now):
        return "Not needed: the alert is snoozed."
    parent = db.session.get(OutboxMessage, reminder.parent_id)
    minutes = _route_minutes(parent, alert)
    if not minutes:
        return f"Not needed: reminders were turned off for {alert.severity} alerts in this channel."
    add_reminder(alert, parent, minutes, now)
    return None


# --- the timeline of what Toktra itself posted ---------------------------------------------------------

def record_reminder_sent(reminder: OutboxMessage) -> None:
    """A reminder was just posted in one copy's thread: the alert's timeline says so (committed). The reminder
    is that copy's reply already, so no other reply is written."""
    copy = db.session.get(OutboxMessage, reminder.parent_id) if reminder.parent_id else None
    route = db.session.get(AlertChannelRoute, copy.route_id) if copy is not None and copy.route_id else None
    where = f"#{route.channel_name}" if route is not None and route.channel_name else (reminder.channel_id or "Slack")
    if db.session.get(Alert, reminder.subject_id) is None:
        return
    db.session.add(AlertEvent(alert_id=reminder.subject_id, event="reminder", detail=f"in {where}", at=utcnow()))
    db.session.commit()


def record_snooze_ended(announcement: OutboxMessage) -> None:
    """The end of a snooze was just announced in one copy's thread: the timeline says so once, however many
    channels announce it (committed; the snooze's row is locked so copies sent at once record it once)."""
    snoozed = db.session.scalar(sa.select(AlertEvent).where(AlertEvent.id == announcement.subject_id)
                                .with_for_update())
    if snoozed is not None and db.session.scalar(sa.select(AlertEvent.id).where(
            AlertEvent.alert_id == snoozed.alert_id, AlertEvent.event == "unsnoozed",
            AlertEvent.id > snoozed.id).limit(1)) is None:
        db.session.add(AlertEvent(alert_id=snoozed.alert_id, event="unsnoozed", at=utcnow()))
    db.session.commit()
