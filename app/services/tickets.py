"""Tickets that stay current: linking an existing ticket to an alert, the status poller's bookkeeping, and
carrying a ticket over to the same alert firing again. No ITSM calls here (jobs make them)."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import unquote, urlparse

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.itsm import KIND_LABELS, ItsmError, TicketStatus
from app.itsm.jira import ISSUE_KEY
from app.itsm.servicenow import INCIDENT_NUMBER, SYS_ID
from app.models import Alert, ItsmConnector, Ticket, User
from app.models.types import utcnow
from app.services.alert_timeline import ALERT_CARD, record_event
from app.services.errors import CONFLICT, DomainError
from app.services.home import refresh_homes
from app.slack.blocks.format import plain
from app.services.outbox import refresh_messages
# A claimed poll is left to its job this long; a poll whose job was lost is taken again after it.
POLL_CLAIM = dt.timedelta(minutes=2)
MAX_POLL_BACKOFF = dt.timedelta(hours=6)
MAX_KEY_INPUT = 1000


class TicketError(DomainError):
    """A ticket cannot be linked; str() says why and what would work."""


def connector_label(connector: ItsmConnector) -> str:
    """The connector's name, or its kind in words."""
    return connector.name or KIND_LABELS.get(connector.kind, connector.kind)


def ticket_key_from(connector: ItsmConnector, typed: str) -> str:
    """The ticket key in what someone typed: a key (OPS-123, INC0010002) or the ticket's URL in this connector.

    Checks the form only (no ITSM call); TicketError says what is wrong and what would be right.
    """
    text = (typed or "").strip()[:MAX_KEY_INPUT]
    jira = connector.kind.startswith("jira")
    base = (connector.base_url or "").rstrip("/")
    example = f"OPS-123 or {base}/browse/OPS-123" if jira else "INC0010002 or the incident's URL"
    if not text:
        raise TicketError(f"Enter the ticket's key or URL, such as {example}.")
    if text.startswith(("https://", "http://")):
        url = urlparse(text)
        own = urlparse(connector.base_url or "")
        if (url.hostname or "").lower() != (own.hostname or "").lower():
            raise TicketError(f"That URL is not on {connector_label(connector)} ({own.hostname}); "
                              f"paste a link to a ticket there, or type its key ({example}).")
        found = _key_in_url(text, jira)
        if found is None:
            raise TicketError(f"No ticket key found in that URL; type the key instead ({example}).")
        return found
    key = text.upper() if jira or not SYS_ID.fullmatch(text) else text
    pattern = ISSUE_KEY if jira else INCIDENT_NUMBER
    if pattern.fullmatch(key) or (not jira and SYS_ID.fullmatch(key)):
        return key
    raise TicketError(f"“{text[:60]}” is not a {'Jira issue key' if jira else 'ServiceNow incident number'}; "
                      f"enter something like {example}.")


def _key_in_url(url: str, jira: bool) -> str | None:
    """The issue key in a Jira link (/browse/OPS-1, ?selectedIssue=OPS-1), or the sys_id or number in a
    ServiceNow link (also inside nav_to.do?uri=…, encoded once or twice)."""
    decoded = unquote(unquote(url))
    if jira:
        parts = urlparse(decoded)
        for candidate in re.findall(r"[A-Za-z][A-Za-z0-9_]*-[0-9]+", f"{parts.path}?{parts.query}"):
            if ISSUE_KEY.fullmatch(candidate.upper()):
                return candidate.upper()
        return None
    found = re.search(r"sys_id=([0-9a-f]{32})", decoded) or re.search(r"number=([A-Z]{2,10}[0-9]{4,20})", decoded)
    return found.group(1) if found else None


def _poll_seconds(closed: bool) -> int:
    config = current_app.config
    return config["TICKET_POLL_CLOSED_SECONDS"] if closed else config["TICKET_POLL_SECONDS"]


def refuse_second_ticket(alert_id: int, connector: ItsmConnector) -> Ticket | None:
    """The alert's earlier ticket row in connector (one that failed, to reuse), if any; TicketError when the alert
    already has a ticket there, created or being created."""
    existing = db.session.scalar(sa.select(Ticket).where(Ticket.alert_id == alert_id,
                                                         Ticket.connector_id == connector.id))
    if existing is not None and existing.state in ("created", "creating"):
        what = existing.external_key or "a ticket being created"
        raise TicketError(f"This alert already has {what} in {connector_label(connector)}.", CONFLICT)
    return existing


def link_ticket(alert: Alert, connector: ItsmConnector, found: TicketStatus, user: User | None) -> Ticket:
    """Link an existing ticket (fetched just now) to the alert, refresh its cards (committed); TicketError when
    the alert already has a ticket in that connector."""
    existing = refuse_second_ticket(alert.id, connector)
    now = utcnow()
    ticket = existing or Ticket(alert_id=alert.id, connector_id=connector.id)
    ticket.state, ticket.linked, ticket.requested_by_id, ticket.error = "created", True, user.id if user else None, None
    ticket.external_key, ticket.external_id, ticket.url = found.ref.key, found.ref.external_id, found.ref.url
    ticket.status, ticket.status_category = found.status[:100], "closed" if found.closed else "open"
    ticket.last_polled_at, ticket.poll_errors, ticket.last_poll_error = now, 0, None
    ticket.next_poll_at = now + dt.timedelta(seconds=_poll_seconds(found.closed))
    db.session.add(ticket)
    try:
        db.session.flush()
    except IntegrityError:  # a Create ticket or another link won the race
        db.session.rollback()
        raise TicketError(f"This alert got a {connector_label(connector)} ticket meanwhile; see its card.",
                          CONFLICT) from None
    # Every channel copy shows the ticket and says so in its thread, committed with the link.
    record_event(alert, "ticket_linked", user, f"<{found.ref.url}|{plain(found.ref.key)}> ({plain(found.status)})")
    refresh_homes(alert.org_id)
    db.session.commit()
    return ticket


def start_polling(ticket: Ticket) -> None:
    """A ticket Toktra just created: its status is read on the poller's next round (in the caller's transaction)."""
    ticket.next_poll_at = utcnow()


def claim_due_polls(now: dt.datetime | None = None, limit: int = 100) -> list[int]:
    """Take the tickets whose status is due to be read (committed): moving next_poll_at forward in one
    conditional UPDATE is the claim, so two schedulers never poll a ticket twice."""
    now = now or utcnow()
    due = (sa.select(Ticket.id).where(Ticket.state == "created", Ticket.next_poll_at <= now)
           .order_by(Ticket.next_poll_at).limit(limit).with_for_update(skip_locked=True))
    taken = db.session.execute(
        sa.update(Ticket).where(Ticket.id.in_(due.scalar_subquery()), Ticket.next_poll_at <= now)
        .values(next_poll_at=now + POLL_CLAIM).returning(Ticket.id)
        .execution_options(synchronize_session=False)).scalars().all()
    db.session.commit()
    return sorted(taken)


def release_polls(ticket_ids: list[int]) -> None:
    """These polls could not be queued (Redis down): due again at once."""
    if ticket_ids:
        db.session.execute(sa.update(Ticket).where(Ticket.id.in_(ticket_ids)).values(next_poll_at=utcnow())
                           .execution_options(synchronize_session=False))
        db.session.commit()


def record_status(ticket: Ticket, found: TicketStatus, now: dt.datetime | None = None) -> bool:
    """The connector answered: keep the status, schedule the next poll, and when it changed (once, however
    many polls race) refresh the cards and tell the alert's thread. Committed; True when it changed."""
    now = now or utcnow()
    category = "closed" if found.closed else "open"
    status = found.status[:100]
    previous = ticket.status
    changed = db.session.execute(
        sa.update(Ticket).where(Ticket.id == ticket.id, sa.or_(Ticket.status.is_distinct_from(status),
                                                               Ticket.status_category.is_distinct_from(category)))
        .values(status=status, status_category=category).execution_options(synchronize_session=False)
    ).rowcount == 1
    alert = db.session.get(Alert, ticket.alert_id)
    done = found.closed and alert is not None and alert.status == "resolved"
    db.session.execute(sa.update(Ticket).where(Ticket.id == ticket.id).values(
        last_polled_at=now, poll_errors=0, last_poll_error=None, url=found.ref.url,
        next_poll_at=None if done else now + dt.timedelta(seconds=_poll_seconds(found.closed)))
        .execution_options(synchronize_session=False))
    if changed and alert is not None:
        refresh_homes(alert.org_id)  # the Home tabs show tickets on the open alerts
        if previous is None:  # the first reading of a created ticket is no news: the cards just show it
            refresh_messages(ALERT_CARD, alert.id)
        else:
            record_event(alert, "ticket_status", None, f"{plain(ticket.external_key)} is now {plain(status)}"
                         + (" — the ticket is closed; resolve the alert if the work is done." if found.closed
                            else ""))
    db.session.commit()
    db.session.refresh(ticket)
    return changed and previous is not None


def record_poll_error(ticket: Ticket, error: ItsmError, now: dt.datetime | None = None) -> dt.datetime:
    """The connector could not be read: change nothing about the ticket's status, try again later (after
    Retry-After for a 429, with growing back-off otherwise). Committed; returns the next poll time."""
    now = now or utcnow()
    errors = ticket.poll_errors + 1
    if error.status == 429 and error.retry_after:
        delay = dt.timedelta(seconds=error.retry_after)
    else:
        delay = min(dt.timedelta(seconds=_poll_seconds(False) * 2 ** (errors - 1)), MAX_POLL_BACKOFF)
        delay = max(delay, dt.timedelta(seconds=error.retry_after or 0))
    ticket.poll_errors, ticket.last_poll_error, ticket.next_poll_at = errors, error.message[:500], now + delay
    db.session.commit()
    return ticket.next_poll_at


def carry_over_tickets(alert: Alert) -> int:
    """The same dedup key fired again: the earlier alert's tickets show on the new one (in the caller's
    transaction), so nobody opens a second ticket for the same problem. Returns how many."""
    if not alert.dedup_key:
        return 0
    earlier = db.session.scalars(
        sa.select(Ticket).join(Alert, Ticket.alert_id == Alert.id)
        .where(Alert.org_id == alert.org_id, Alert.dedup_key == alert.dedup_key, Alert.id != alert.id,
               Ticket.state == "created")
        .order_by(Ticket.alert_id.desc(), Ticket.id)).all()
    now, seen = utcnow(), set()
    for old in earlier:
        if old.connector_id in seen:
            continue  # the newest earlier alert's ticket per connector
        seen.add(old.connector_id)
        db.session.add(Ticket(alert_id=alert.id, connector_id=old.connector_id, state="created", linked=True,
                              external_key=old.external_key, external_id=old.external_id, url=old.url,
                              status=old.status, status_category=old.status_category,
                              last_polled_at=old.last_polled_at, next_poll_at=now, created_at=now))
    return len(seen)

