"""Reimbursement jobs: the approver's DM, decisions clicked in Slack, and what follows a decision."""
from __future__ import annotations

import logging

from app.extensions import db
from app.models import ReimbursementRequest, SlackWorkspace
from app.services.alert_routes import org_workspaces
from app.services.periods import period_for
from app.services.reimbursements import ReimbursementError, decide
from app.services.usage import usage_summary
from app.slack import cards
from app.slack.actions import INVALID_BUTTON, parse_request_id
from app.slack.reimbursement_cards import (
    decision_words,
    render_decided_dm,
    render_employee_notice,
    render_request_dm,
)
from app.slack.respond import post_response
from app.slack.users import acting_user
from app.slack.web import SlackChannelUnavailable, SlackError, SlackRateLimited, SlackTokenRevoked, WorkspaceClient
from jobs import enqueue
from jobs.slack_retry import reschedule_on_rate_limit
from jobs.steps import Steps

log = logging.getLogger(__name__)


def _usage(request: ReimbursementRequest):
    org = request.employee.organization
    return usage_summary(org, request.employee, period_for(request.period, org.timezone))


def _open_dm(email: str, workspaces: list[SlackWorkspace]) -> tuple[SlackWorkspace, WorkspaceClient, str] | None:
    """The first workspace where email is a Slack user, its client, and the DM channel with them."""
    for workspace in workspaces:
        try:
            client = WorkspaceClient(workspace)
            slack_user = client.call("users_lookupByEmail", email=email)["user"]["id"]
            channel = client.call("conversations_open", users=slack_user)["channel"]["id"]
            return workspace, client, channel
        except (SlackChannelUnavailable, SlackTokenRevoked):
            continue  # not in this workspace (users_not_found), or the workspace is gone
    return None


@reschedule_on_rate_limit
def notify_approver(request_id: int) -> str:
    """DM the approver the request with Approve and Reject; record why if they cannot be reached."""
    request = db.session.get(ReimbursementRequest, request_id)
    if request is None or request.status != "pending" or request.slack_message_ts:
        return "nothing to do"
    workspaces = org_workspaces(request.org_id)
    if not workspaces:
        request.notify_error = "No Slack workspace is connected, so the approver was not sent a DM."
        db.session.commit()
        return request.notify_error
    try:
        found = _open_dm(request.approver.email, workspaces)
        if found is None:
            request.notify_error = (f"{request.approver.name} ({request.approver.email}) was not found in the "
                                    "connected Slack workspaces, so no DM was sent.")
            db.session.commit()
            return request.notify_error
        workspace, client, channel = found
        text, blocks = render_request_dm(request, _usage(request))
        posted = client.call("chat_postMessage", channel=channel, text=text, blocks=blocks)
    except SlackRateLimited:
        raise
    except SlackError as exc:
        request.notify_error = f"Slack refused the DM to {request.approver.name}: {exc.error}."
        db.session.commit()
        return request.notify_error
    request.slack_workspace_id, request.slack_channel_id = workspace.id, channel
    request.slack_message_ts, request.notify_error = posted["ts"], None
    db.session.commit()
    return f"sent {posted['ts']}"


@reschedule_on_rate_limit
def decide_from_slack(workspace_id: int, value: str, slack_user_id: str, response_url: str, approve: bool,
                      reason: str = "") -> str:
    """Approve or Reject clicked in Slack, by the verified Slack user (never by what the button says)."""
    workspace = db.session.get(SlackWorkspace, workspace_id)
    if workspace is None or not workspace.active:
        return "workspace gone"
    actor = acting_user(workspace, slack_user_id, response_url)
    if actor is None:
        return "no account"
    request_id = parse_request_id(value)
    if request_id is None:
        post_response(response_url, *cards.notice(INVALID_BUTTON))
        return "invalid button"
    try:
        outcome = decide(request_id, actor, approve, reason)
    except ReimbursementError as exc:
        log.warning("refused reimbursement decision by %s on %s: %s", actor.email, value, exc)
        post_response(response_url, *cards.notice(f":no_entry: {exc}"))
        return "refused"
    tz = outcome.request.employee.organization.timezone
    if not outcome.decided:
        post_response(response_url, *cards.notice(
            f"This request was already decided: {decision_words(outcome.request, tz)}."))
        return "already decided"
    enqueue("jobs.reimbursements.after_decision", outcome.request.id)
    return outcome.request.status


@reschedule_on_rate_limit
def after_decision(request_id: int) -> str:
    """Show the decision on the approver's DM card and tell the employee by DM."""
    request = db.session.get(ReimbursementRequest, request_id)
    if request is None or request.status == "pending":
        return "nothing to do"
    org = request.employee.organization
    steps = Steps(f"reimbursement:{request_id}")
    if request.slack_message_ts and not steps.done("card"):
        workspace = db.session.get(SlackWorkspace, request.slack_workspace_id)
        text, blocks = render_decided_dm(request, _usage(request), org.timezone)
        try:
            WorkspaceClient(workspace).call("chat_update", channel=request.slack_channel_id,
                                            ts=request.slack_message_ts, text=text, blocks=blocks)
        except (SlackChannelUnavailable, SlackTokenRevoked) as exc:
            log.info("decision card for request %s not updated: %s", request_id, exc.error)
        steps.mark("card")
    if not steps.done("employee"):
        found = _open_dm(request.employee.email, org_workspaces(org.id))
        if found is not None:
            _, client, channel = found
            text, blocks = render_employee_notice(request, period_for(request.period, org.timezone).label, org.timezone)
            client.call("chat_postMessage", channel=channel, text=text, blocks=blocks)
        steps.mark("employee")
    return "done"
