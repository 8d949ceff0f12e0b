"""Create ticket: at most one ServiceNow incident or Jira issue per alert and connector, never a duplicate."""
from __future__ import annotations

import datetime as dt
import json
import logging

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.itsm import ItsmError, TicketRequest, client_for
from app.models import Alert, ItsmConnector, SlackWorkspace, Ticket, User
from app.models.types import utcnow
from app.services.alert_timeline import record_event
from app.services.alerts import active_connectors
from app.services.home import refresh_homes
from app.services.ticket_link_attempts import FAILED, LINKED, note_link_attempt
from app.services.tickets import TicketError, connector_label, link_ticket, start_polling
from app.slack.blocks import cards
from app.slack.blocks.format import plain, when
from app.slack.blocks.modals import render_link_outcome, render_link_ticket_modal
from app.slack.client.respond import post_response, post_response_if_alive
from app.slack.client.web import SlackError, WorkspaceClient
from jobs import enqueue_in
from jobs.alerts import clicked_alert_button
from jobs.slack_retry import reschedule_on_rate_limit

log = logging.getLogger(__name__)

# Another job's claim on a ticket this recent is left alone; an older one (a lost job) is taken over.
CLAIM_TIMEOUT = dt.timedelta(minutes=2)
MAX_ITSM_ATTEMPTS = 4


def ticket_request(alert: Alert, tz: str) -> TicketRequest:
    """What the ticket says: the alert's details and a link back to it."""
    person = alert.subject_user.name + f" <{alert.subject_user.email}>" if alert.subject_user else "—"
    link = f"{current_app.config['PUBLIC_BASE_URL']}/alerts?alert={alert.id}"
    description = "\n".join([
        f"Severity: {alert.severity}", f"Policy: {alert.policy}", f"Person: {person}",
        f"Fired: {when(alert.fired_at, tz)}", "", alert.details or alert.title,
    ])
    return TicketRequest(correlation_key=f"toktra-alert-{alert.id}", summary=f"[Toktra] {alert.title}"[:250],
                         description=description, link=link, severity=alert.severity)


def _claim(alert_id: int, connector_id: int, user: User) -> tuple[Ticket, bool, bool]:
    """(ticket row, whether this job should create it, whether the row is brand new).

    The unique (alert, connector) row is claimed before the ITSM is called, so two clicks or two jobs
    cannot both create a ticket.
    """
    ticket = Ticket(alert_id=alert_id, connector_id=connector_id, requested_by_id=user.id, state="creating")
    db.session.add(ticket)
    try:
        db.session.commit()
        return ticket, True, True
    except IntegrityError:
        db.session.rollback()
    ticket = db.session.scalar(sa.select(Ticket).where(Ticket.alert_id == alert_id, Ticket.connector_id == connector_id)
                               .with_for_update())
    retry = ticket.state == "failed" or (ticket.state == "creating" and ticket.created_at < utcnow() - CLAIM_TIMEOUT)
    if retry:
        ticket.state, ticket.created_at, ticket.error = "creating", utcnow(), None
    db.session.commit()
    return ticket, retry, False


def open_ticket(alert: Alert, connector: ItsmConnector, user: User, tz: str, attempt: int) -> str:
    """Open (or find) the alert's ticket in one connector; returns the sentence to tell the user."""
    ticket, mine, brand_new = _claim(alert.id, connector.id, user)
    system = connector.name or connector.kind.replace("_", " ").title()
    if not mine:
        if ticket.state == "created":
            return f"{ticket.external_key} already exists for this alert: {ticket.url}"
        return f"A {system} ticket for this alert is being created; it will appear on the alert card."
    request = ticket_request(alert, tz)
    try:
        client = client_for(connector)
        # An earlier attempt may have reached the ITSM before failing: look it up before creating again.
        existing = None if brand_new else client.find_ticket(request.correlation_key)
        ref = existing or client.create_ticket(request)
    except ItsmError as exc:
        ticket.state, ticket.error = "failed", exc.message[:500]
        db.session.commit()
        if exc.retryable and attempt < MAX_ITSM_ATTEMPTS:
            raise _Retry(exc.retry_after or 30, exc.message) from exc
        return f"Could not create the {system} ticket: {exc.message}"
    ticket.state, ticket.external_key, ticket.external_id, ticket.url = "created", ref.key, ref.external_id, ref.url
    start_polling(ticket)  # its status shows on the card from the poller's next round
    # Every channel copy links the ticket and says so in its thread, committed with it.
    record_event(alert, "ticket_created", user, f"<{ref.url}|{ref.key}>" if ref.url else ref.key)
    refresh_homes(alert.org_id)
    db.session.commit()
    return f"Created {ref.key}: {ref.url}"


class _Retry(Exception):
    def __init__(self, seconds: int, message: str):
        super().__init__(message)
        self.seconds = seconds
        self.message = message


def clicked_alert(workspace_id: int, value: str, slack_user_id: str, response_url: str) -> tuple[User, Alert] | str:
    """(the verified Toktra user, the alert of their organization) behind an alert button, or why not (told)."""
    clicked = clicked_alert_button(workspace_id, value, slack_user_id, response_url)
    if isinstance(clicked, str):
        return clicked
    _, user, button = clicked
    alert = db.session.get(Alert, button.alert_id)
    if alert is None or alert.org_id != user.org_id:
        post_response_if_alive(response_url, *cards.notice("This alert no longer exists in Toktra."))
        return "missing"
    return user, alert


@reschedule_on_rate_limit
def create_ticket_from_slack(workspace_id: int, value: str, slack_user_id: str, response_url: str,
                             attempt: int = 1) -> str:
    """Create ticket, clicked in Slack: open the alert's ticket in each active connector and reply with it."""
    clicked = clicked_alert(workspace_id, value, slack_user_id, response_url)
    if isinstance(clicked, str):
        return clicked
    user, alert = clicked
    org = user.organization
    connectors = active_connectors(org.id)
    if not connectors:
        post_response(response_url, *cards.notice("No active ServiceNow or Jira connector is set up; an admin can "
                                                  "add one in Toktra under Integrations → ITSM."))
        return "no connector"
    replies = []
    for connector in connectors:
        try:
            replies.append(open_ticket(alert, connector, user, org.timezone, attempt))
        except _Retry as retry:
            post_response(response_url, *cards.notice(f"{retry.message} Toktra will try again in {retry.seconds} s."))
            enqueue_in(retry.seconds, create_ticket_from_slack, workspace_id=workspace_id, value=value,
                       slack_user_id=slack_user_id, response_url=response_url, attempt=attempt + 1)
            return "retry scheduled"
    post_response_if_alive(response_url, *cards.notice("\n".join(replies)))
    return "; ".join(replies)


def link_ticket_from_slack(workspace_id: int, value: str, slack_user_id: str, response_url: str, connector_id: int,
                           key: str, typed: str, view_id: str) -> str:
    """Link ticket submitted: read the ticket from its connector, link it and say so in the modal; or show the
    connector's answer in the modal so the key can be corrected."""
    clicked = clicked_alert(workspace_id, value, slack_user_id, response_url)
    if isinstance(clicked, str):
        return clicked
    user, alert = clicked
    connectors = active_connectors(user.org_id)
    connector = next((c for c in connectors if c.id == connector_id), None)
    metadata = json.dumps({"value": value, "response_url": response_url})
    try:
        ticket = _fetch_and_link(alert, user, connector, key)
    except (ItsmError, TicketError) as exc:
        problem = exc.message if isinstance(exc, ItsmError) else str(exc)
        if not connectors:
            _show(workspace_id, view_id, render_link_outcome(alert, f":warning: {plain(problem)}"))
        else:
            _show(workspace_id, view_id, render_link_ticket_modal(alert, connectors, metadata, problem, typed,
                                                                  connector_id))
        return f"not linked: {problem}"
    words = (f"✅ Linked <{ticket.url}|{plain(ticket.external_key)}> ({plain(ticket.status)}) to this alert. "
             "Its cards show it, and Toktra keeps its status current.")
    _show(workspace_id, view_id, render_link_outcome(alert, words))
    return f"linked {ticket.external_key}"


def link_ticket_from_dashboard(alert_id: int, user_id: int, connector_id: int, key: str) -> str:
    """Link ticket on the dashboard's Alerts page: read the ticket from its connector and link it; the page shows
    the outcome, or the connector's answer so the key can be corrected."""
    user = db.session.get(User, user_id)
    alert = db.session.get(Alert, alert_id)
    if user is None or alert is None or alert.org_id != user.org_id:
        log.info("link ticket from the dashboard: alert %s or user %s is gone", alert_id, user_id)
        return "missing"
    connector = next((c for c in active_connectors(user.org_id) if c.id == connector_id), None)
    try:
        ticket = _fetch_and_link(alert, user, connector, key)
    except (ItsmError, TicketError) as exc:
        problem = exc.message if isinstance(exc, ItsmError) else str(exc)
        note_link_attempt(alert_id, user_id, FAILED, problem)
        return f"not linked: {problem}"
    except Exception:  # a bug must not leave the page checking: say so, and let RQ record it
        note_link_attempt(alert_id, user_id, FAILED, "Linking failed unexpectedly on Toktra's side; it has been "
                                                     "logged. Try again later.")
        raise
    note_link_attempt(alert_id, user_id, LINKED, f"Linked {ticket.external_key} ({ticket.status}) in "
                                                 f"{connector_label(connector)}; Toktra keeps its status current.")
    return f"linked {ticket.external_key}"


def _show(workspace_id: int, view_id: str, view: dict) -> None:
    """Replace the open modal; if the person closed it meanwhile, the card still shows the outcome."""
    try:
        WorkspaceClient(db.session.get(SlackWorkspace, workspace_id)).views_update(view_id=view_id, view=view)
    except SlackError as exc:
        log.info("views.update of the Link ticket modal failed: %s", exc)


def _fetch_and_link(alert: Alert, user: User, connector: ItsmConnector | None, key: str) -> Ticket:
    """Read the ticket from its connector and link it to the alert; raises ItsmError or TicketError in words."""
    if connector is None:
        raise TicketError("That ticketing system is no longer set up in Toktra; choose another.")
    return link_ticket(alert, connector, client_for(connector).fetch_ticket(key), user)
