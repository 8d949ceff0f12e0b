"""The short thread replies that tell an alert's life under each copy of its card."""
from __future__ import annotations

from app.models import Alert, AlertEvent
from app.slack.blocks.cards import SEVERITY_EMOJI, Message, _message, section
from app.slack.blocks.format import clip, plain, slack_time

# event -> (the line, how its detail follows); {actor} is who did it.
LINES = {
    "acknowledged": ("✅ Acknowledged by {actor}", " — {detail}"),
    "resolved": ("☑️ Resolved by {actor}", " — {detail}"),
    "reopened": ("🔁 Reopened by {actor}", " — {detail}"),
    "snoozed": ("💤 Snoozed by {actor}", " {detail}"),
    "unsnoozed": ("⏰ Snooze over: {title} is still {status}", " — {detail}"),
    "reminder": ("⏰ Reminder: {title} is still not acknowledged", " ({detail})"),
    "ticket_created": ("🎫 Ticket created by {actor}", ": {detail}"),
    "ticket_linked": ("🔗 Ticket linked by {actor}", ": {detail}"),
    "ticket_status": ("🎫 Ticket updated", ": {detail}"),
}


def alert_reply_line(event: AlertEvent, alert: Alert) -> str:
    """One event as a line of Slack mrkdwn."""
    line, then = LINES.get(event.event, (event.event.replace("_", " ").capitalize(), " — {detail}"))
    title = _title(alert)
    actor = plain(event.actor.name) if event.actor else "Toktra"
    text = line.format(actor=actor, title=title, status=alert.status)
    return text + then.format(detail=clip(event.detail, 1500)) if event.detail else text


def render_alert_reply(event: AlertEvent, alert: Alert) -> Message:
    """The thread reply for one event of an alert's life."""
    line = alert_reply_line(event, alert)
    return _message(line, [section(line)])


def _title(alert: Alert) -> str:
    return f"{SEVERITY_EMOJI[alert.severity]} *{plain(clip(alert.title, 200))}*"


def render_unsnooze(alert: Alert, tz: str) -> Message:
    """The snooze is over: the alert, announced again in the thread and the channel."""
    line = f"⏰ Snooze over: {_title(alert)} is still {alert.status} (fired {slack_time(alert.fired_at, tz)})"
    return _message(line, [section(line)])


def render_reminder(alert: Alert, tz: str) -> Message:
    """A reminder that an alert is still not acknowledged, in the thread and the channel."""
    line = f"⏰ Reminder: {_title(alert)} is still not acknowledged (fired {slack_time(alert.fired_at, tz)})"
    return _message(line, [section(line)])
