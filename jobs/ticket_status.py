"""Tickets that stay current: the poller reads each linked or created ticket's status from its connector."""
from __future__ import annotations

import datetime as dt
import logging

from app.extensions import db
from app.itsm import ItsmError, client_for
from app.models import Ticket
from app.models.types import utcnow
from app.services.tickets import claim_due_polls, record_poll_error, record_status, release_polls
from jobs import QueueUnavailable, enqueue

log = logging.getLogger(__name__)


def poll_ticket(ticket_id: int) -> str:
    """Read one ticket's status; when it changed, the alert's cards and thread say so (once). An error changes
    nothing but the time of the next try."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or ticket.state != "created" or not ticket.external_key:
        return "ticket gone"
    connector = ticket.connector
    if not connector.active:  # looked at again later, in case the connector is switched back on
        ticket.next_poll_at = utcnow() + dt.timedelta(hours=1)
        db.session.commit()
        return "connector inactive"
    try:
        found = client_for(connector).fetch_ticket(ticket.external_key)
    except ItsmError as exc:
        at = record_poll_error(ticket, exc)
        log.info("ticket %s: %s; next poll at %s", ticket.external_key, exc.message, at.isoformat())
        return f"error: {exc.message}"
    changed = record_status(ticket, found)
    return f"{ticket.external_key}: {found.status}{' (changed)' if changed else ''}"


def queue_ticket_polls() -> int:
    """The scheduler's round: queue a poll for each ticket that is due (claimed, so never twice)."""
    due = claim_due_polls()
    for index, ticket_id in enumerate(due):
        try:
            enqueue(poll_ticket, ticket_id=ticket_id, retry=None, job_timeout=60, result_ttl=60)
        except QueueUnavailable:
            release_polls(due[index:])
            raise
    return len(due)
