"""Budget request jobs: the Request more budget modal was submitted (the approvers' DMs are outbox messages)."""
from __future__ import annotations

import logging
from typing import Callable

from app.extensions import db
from app.models import SlackWorkspace, User
from app.services.budget_requests import SCOPE_WORDS, submit_budget_request
from app.services.reimbursements import ReimbursementError
from app.slack.actions import INVALID_BUTTON, parse_org_id
from app.slack.blocks import cards
from app.slack.blocks.modals import render_notice_modal
from app.slack.client.respond import post_response_if_alive
from app.slack.client.users import clicking_user
from app.slack.client.web import SlackError, WorkspaceClient
from jobs.slack_retry import reschedule_on_rate_limit

log = logging.getLogger(__name__)


def clicked_budget(workspace_id: int, value: str, slack_user_id: str, response_url: str,
                   tell: Callable[[str], None] | None = None) -> User | str:
    """The verified Toktra user behind a Request more budget click, if the button is for their organization;
    else why not (already told: through tell when given, else at response_url)."""
    clicked = clicking_user(workspace_id, slack_user_id, response_url, tell)
    if isinstance(clicked, str):
        return clicked
    workspace, actor = clicked
    if parse_org_id(value) != actor.org_id or workspace.org_id != actor.org_id:
        if tell is not None:
            tell(INVALID_BUTTON)
        else:
            post_response_if_alive(response_url, *cards.notice(INVALID_BUTTON))
        return "invalid button"
    return actor


@reschedule_on_rate_limit
def submit_budget_request_from_slack(workspace_id: int, value: str, slack_user_id: str, response_url: str,
                                     amount: str, reason: str, scope: str, view_id: str = "") -> str:
    """Store the request of the verified Slack user (never of what the modal says) and tell them who decides:
    at response_url, or in the modal view_id when it was opened from the Home tab (which has no response_url)."""
    def tell(text: str) -> None:
        if response_url or not view_id:
            post_response_if_alive(response_url, *cards.notice(text))
            return
        try:
            WorkspaceClient(db.session.get(SlackWorkspace, workspace_id)).views_update(
                view_id=view_id, view=render_notice_modal("Request more budget", text))
        except SlackError as exc:  # closed meanwhile: the admins' DMs and the decision DM still tell the story
            log.info("views.update of the Request more budget modal failed: %s", exc)

    clicked = clicked_budget(workspace_id, value, slack_user_id, response_url, tell if view_id else None)
    if isinstance(clicked, str):
        return clicked
    try:
        request = submit_budget_request(clicked.organization, clicked, amount, reason, scope)
    except ReimbursementError as exc:
        log.warning("refused budget request by %s: %s", clicked.email, exc)
        tell(f":no_entry: {exc}")
        return "refused"
    try:
        tell(f":inbox_tray: Your request for ${request.amount:,.2f} more budget ({SCOPE_WORDS[request.budget_scope]}) "
             f"was sent to {clicked.organization.name}'s admins for approval. You'll get a DM with their decision.")
    except Exception:  # stored and sent to the admins: a rerun (429, retry) would store it twice
        log.warning("budget request %s stored, but its confirmation to %s failed", request.id, clicked.email,
                    exc_info=True)
    return "submitted"
