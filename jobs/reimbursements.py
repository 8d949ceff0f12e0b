"""Reimbursement jobs: Approve or Reject clicked in Slack (the DMs themselves are outbox messages)."""
from __future__ import annotations

import logging

from app.models import User
from app.services.reimbursements import ReimbursementError, decide
from app.slack.blocks import cards
from app.slack.actions import INVALID_BUTTON, parse_request_id
from app.slack.blocks.reimbursement_cards import decision_words
from app.slack.client.respond import post_response, post_response_if_alive
from app.slack.client.users import clicking_user
from jobs.slack_retry import reschedule_on_rate_limit

log = logging.getLogger(__name__)


def clicked_request(workspace_id: int, value: str, slack_user_id: str, response_url: str) -> tuple[User, int] | str:
    """(the verified Toktra user, the request id) behind a reimbursement button, or why not (already told)."""
    clicked = clicking_user(workspace_id, slack_user_id, response_url)
    if isinstance(clicked, str):
        return clicked
    _, actor = clicked
    request_id = parse_request_id(value)
    if request_id is None:
        post_response(response_url, *cards.notice(INVALID_BUTTON))
        return "invalid button"
    return actor, request_id


@reschedule_on_rate_limit
def decide_from_slack(workspace_id: int, value: str, slack_user_id: str, response_url: str, approve: bool,
                      reason: str = "") -> str:
    """Approve or Reject clicked in Slack, by the verified Slack user (never by what the button says)."""
    clicked = clicked_request(workspace_id, value, slack_user_id, response_url)
    if isinstance(clicked, str):
        return clicked
    actor, request_id = clicked
    try:
        outcome = decide(request_id, actor, approve, reason)
    except ReimbursementError as exc:
        log.warning("refused reimbursement decision by %s on %s: %s", actor.email, value, exc)
        post_response_if_alive(response_url, *cards.notice(f":no_entry: {exc}"))
        return "refused"
    tz = outcome.request.employee.organization.timezone
    if not outcome.decided:
        post_response_if_alive(response_url, *cards.notice(
            f"This request was already decided: {decision_words(outcome.request, tz)}."))
        return "already decided"
    # The DM card and the employee's notice were committed with the decision; the outbox sends them.
    return outcome.request.status
