"""Modal jobs: open a modal with the click's trigger_id (Slack accepts it for 3 seconds)."""
from __future__ import annotations

import json
import logging

from app.extensions import db
from app.models import SlackWorkspace
from app.services.budget import budget_status
from app.services.budget_requests import MEMBER_REFUSAL, may_request_budget
from app.services.reimbursements import ReimbursementError, request_to_decide
from app.slack.blocks import cards
from app.services.alerts import active_connectors
from app.slack.blocks.modals import (render_acknowledge_modal, render_budget_request_modal, render_link_ticket_modal,
                                     render_notice_modal, render_reject_modal)
from app.slack.blocks.reimbursement_cards import decision_words
from app.slack.client.respond import post_response_if_alive
from app.slack.client.web import SlackError, WorkspaceClient
from jobs.alerts import already_acknowledged
from jobs.budget_requests import clicked_budget
from jobs.reimbursements import clicked_request
from jobs.tickets import clicked_alert

log = logging.getLogger(__name__)

TRIGGER_EXPIRED = ("Slack closed the window for opening the reason form before Toktra could open it. "
                   "Click {button} again.")


def open_reject_modal(workspace_id: int, value: str, slack_user_id: str, response_url: str, trigger_id: str) -> str:
    """Reject clicked: open the Reject-with-a-reason modal, or tell the clicker why they cannot reject."""
    clicked = clicked_request(workspace_id, value, slack_user_id, response_url)
    if isinstance(clicked, str):
        return clicked
    actor, request_id = clicked
    try:
        request = request_to_decide(request_id, actor)
    except ReimbursementError as exc:
        post_response_if_alive(response_url, *cards.notice(f":no_entry: {exc}"))
        return "refused"
    if request.status != "pending":
        tz = request.employee.organization.timezone
        post_response_if_alive(response_url, *cards.notice(
            f"This request was already decided: {decision_words(request, tz)}."))
        return "already decided"
    return _open(workspace_id, trigger_id, render_reject_modal(request, response_url), response_url, "Reject")


def open_acknowledge_modal(workspace_id: int, value: str, slack_user_id: str, response_url: str, trigger_id: str,
                           is_ephemeral: bool = False) -> str:
    """Acknowledge with reason clicked: open its modal, or tell the clicker why not (gone, already acknowledged)."""
    clicked = clicked_alert(workspace_id, value, slack_user_id, response_url)
    if isinstance(clicked, str):
        return clicked
    user, alert = clicked
    if alert.status != "open":
        post_response_if_alive(response_url, *cards.notice(already_acknowledged(alert, user.organization)))
        return "already acknowledged"
    metadata = json.dumps({"value": value, "response_url": response_url, "is_ephemeral": is_ephemeral})
    return _open(workspace_id, trigger_id, render_acknowledge_modal(alert, metadata), response_url,
                 "Acknowledge with reason")


def open_budget_request_modal(workspace_id: int, value: str, slack_user_id: str, response_url: str,
                              trigger_id: str) -> str:
    """Request more budget clicked: open its modal for managers and admins; tell anyone else why not."""
    def tell(text: str) -> None:
        _refuse(workspace_id, trigger_id, response_url, "Request more budget", text)

    clicked = clicked_budget(workspace_id, value, slack_user_id, response_url, tell)
    if isinstance(clicked, str):
        return clicked
    if not may_request_budget(clicked):
        tell(f":no_entry: {MEMBER_REFUSAL}")
        return "refused"
    org = clicked.organization
    status = budget_status(org)
    if not status.monthly_limit_usd:
        tell(f"No monthly budget is set for {org.name}, so there is no limit to raise; an admin can set one under "
             "Settings.")
        return "no budget"
    return _open(workspace_id, trigger_id, render_budget_request_modal(status, org.name, org.id, response_url),
                 response_url, "Request more budget")


def open_link_ticket_modal(workspace_id: int, value: str, slack_user_id: str, response_url: str,
                           trigger_id: str) -> str:
    """Link ticket clicked: open its modal (connector and key or URL), or say why not (no connector, gone)."""
    clicked = clicked_alert(workspace_id, value, slack_user_id, response_url)
    if isinstance(clicked, str):
        return clicked
    user, alert = clicked
    connectors = active_connectors(user.org_id)
    if not connectors:
        post_response_if_alive(response_url, *cards.notice(
            "No active ServiceNow or Jira connector is set up; an admin can add one in Toktra under "
            "Integrations → ITSM."))
        return "no connector"
    metadata = json.dumps({"value": value, "response_url": response_url})
    return _open(workspace_id, trigger_id, render_link_ticket_modal(alert, connectors, metadata), response_url,
                 "Link ticket")


def _refuse(workspace_id: int, trigger_id: str, response_url: str, title: str, text: str) -> None:
    """Tell the clicker why not: where they clicked when the click came with a response_url, else (a Home tab
    click has none) in a small modal opened with the click's trigger_id."""
    if response_url:
        post_response_if_alive(response_url, *cards.notice(text))
        return
    try:
        WorkspaceClient(db.session.get(SlackWorkspace, workspace_id)).views_open(
            trigger_id=trigger_id, view=render_notice_modal(title, text))
    except SlackError as exc:  # the trigger expired: there is nowhere else to say it
        log.warning("views.open for the %s refusal failed: %s", title, exc)


def _open(workspace_id: int, trigger_id: str, view: dict, response_url: str, button: str) -> str:
    """views.open with the click's trigger_id; if Slack refuses (the 3 seconds are over), say to click again."""
    try:
        WorkspaceClient(db.session.get(SlackWorkspace, workspace_id)).views_open(trigger_id=trigger_id, view=view)
    except SlackError as exc:  # expired_trigger_id above all: retrying cannot help
        log.warning("views.open for %s failed: %s", button, exc)
        post_response_if_alive(response_url, *cards.notice(TRIGGER_EXPIRED.format(button=button)))
        return f"not opened: {exc.error}"
    return "opened"
