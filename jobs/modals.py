"""Modal jobs: open a modal with the click's trigger_id (Slack accepts it for 3 seconds)."""
from __future__ import annotations

import logging

from app.extensions import db
from app.models import SlackWorkspace
from app.services.reimbursements import ReimbursementError, request_to_decide
from app.slack.blocks import cards
from app.slack.blocks.modals import render_reject_modal
from app.slack.blocks.reimbursement_cards import decision_words
from app.slack.client.respond import post_response_if_alive
from app.slack.client.web import SlackError, WorkspaceClient
from jobs.reimbursements import clicked_request

log = logging.getLogger(__name__)

TRIGGER_EXPIRED = ("Slack closed the window for opening the reason form before Toktra could open it. "
                   "Click Reject again.")


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
    try:
        client = WorkspaceClient(db.session.get(SlackWorkspace, workspace_id))
        client.views_open(trigger_id=trigger_id, view=render_reject_modal(request, response_url))
    except SlackError as exc:  # expired_trigger_id above all: the 3 seconds are over, retrying cannot help
        log.warning("views.open for request %s failed: %s", request_id, exc)
        post_response_if_alive(response_url, *cards.notice(TRIGGER_EXPIRED))
        return f"not opened: {exc.error}"
    return "opened"
