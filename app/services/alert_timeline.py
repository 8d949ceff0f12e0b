"""An alert's timeline: each event (acknowledged, resolved, a ticket...) is a row and a reply in every copy's thread."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Alert, AlertEvent, OutboxMessage, User
from app.models.types import utcnow
from app.services.digests import refresh_digests_showing
from app.services.outbox import add_reply, refresh_messages
from app.slack.blocks.format import unformatted

ALERT_CARD = "alert_card"  # outbox kind: subject is the alert, one copy per channel
ALERT_REPLY = "alert_reply"  # outbox kind: subject is the AlertEvent, parent an alert_card copy


def alert_copy_keys(alert_id: int) -> list[str]:
    """The outbox keys of every channel copy of an alert's card."""
    return list(db.session.scalars(sa.select(OutboxMessage.key).where(
        OutboxMessage.kind == ALERT_CARD, OutboxMessage.subject_id == alert_id).order_by(OutboxMessage.id)))


def reply_key(event_id: int, copy_key: str) -> str:
    """The outbox key of one event's reply in the thread of one copy (one reply per event and copy)."""
    return f"alert-reply:{event_id}:{copy_key}"


def record_event(alert: Alert, event: str, actor: User | None = None, detail: str | None = None,
                 broadcast: bool = False, not_before: dt.datetime | None = None) -> AlertEvent:
    """Add the event and, in the caller's transaction, its reply in the thread of every channel copy of the
    alert (also shown in the channel when broadcast; not before not_before), and refresh every card."""
    row = AlertEvent(alert_id=alert.id, event=event, actor_id=actor.id if actor else None, detail=detail,
                     at=utcnow())
    db.session.add(row)
    db.session.flush()
    for copy_key in alert_copy_keys(alert.id):
        add_reply(reply_key(row.id, copy_key), copy_key, ALERT_REPLY, row.id, broadcast=broadcast,
                  not_before=not_before)
    refresh_messages(ALERT_CARD, alert.id)
    refresh_digests_showing(alert)  # a digest that counts the alert shows its new state too
    return row


# event -> (its words, how its detail follows), for the dashboard and the API; {actor} is who did it.
EVENT_WORDS = {
    "acknowledged": ("Acknowledged by {actor}", " — {detail}"),
    "resolved": ("Resolved by {actor}", " — {detail}"),
    "reopened": ("Reopened by {actor}", " — {detail}"),
    "snoozed": ("Snoozed by {actor}", " {detail}"),
    "unsnoozed": ("Snooze ended: announced again", " — {detail}"),
    "reminder": ("Reminder sent", " {detail}"),
    "ticket_created": ("Ticket created by {actor}", ": {detail}"),
    "ticket_linked": ("Ticket linked by {actor}", ": {detail}"),
    "ticket_status": ("Ticket updated", ": {detail}"),
}


def event_words(event: AlertEvent) -> str:
    """One event of an alert's timeline in plain words ("Reminder sent in #security", "Snooze ended…")."""
    line, then = EVENT_WORDS.get(event.event, (event.event.replace("_", " ").capitalize(), " — {detail}"))
    text = line.format(actor=event.actor.name if event.actor else "Toktra")
    return text + then.format(detail=unformatted(event.detail)) if event.detail else text


def timelines(alert_ids: list[int]) -> dict[int, list[AlertEvent]]:
    """The events of several alerts (actors loaded), oldest first, by alert id."""
    found: dict[int, list[AlertEvent]] = {alert_id: [] for alert_id in alert_ids}
    if alert_ids:
        for event in db.session.scalars(sa.select(AlertEvent).where(AlertEvent.alert_id.in_(alert_ids))
                                        .options(selectinload(AlertEvent.actor)).order_by(AlertEvent.id)):
            found[event.alert_id].append(event)
    return found
