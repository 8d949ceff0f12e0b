"""Bolt listeners: verify who and what, acknowledge, and queue the work. No Slack calls here."""
from __future__ import annotations

import logging

from slack_bolt import Ack, App
from slack_bolt.context import BoltContext

from app.slack.actions import (
    ACKNOWLEDGE_ALERT,
    APPROVE_REIMBURSEMENT,
    COMMANDS,
    CREATE_TICKET,
    REJECT_REIMBURSEMENT,
    typed_reason,
)
from app.slack.reimbursement_cards import REASON_ACTION, REASON_BLOCK
from app.slack.commands import check_arguments
from app.slack.authorize import WORKSPACE_ID
from app.slack.store import deactivate_workspace, find_workspace
from jobs import QueueUnavailable, enqueue

log = logging.getLogger(__name__)


def on_app_mention(event: dict, context: BoltContext) -> None:
    """@Toktra in a channel: reply in the thread with what the app does (from a job)."""
    # QueueUnavailable propagates: the 5xx makes Slack retry the event later.
    enqueue("jobs.slack.reply_to_mention", context[WORKSPACE_ID], event["channel"],
            event.get("thread_ts") or event["ts"], event.get("user", ""))


def on_app_uninstalled(context: BoltContext) -> None:
    """The app was removed from a workspace: stop using its token."""
    workspace = find_workspace(context.enterprise_id, context.team_id)
    if workspace is not None:
        deactivate_workspace(workspace.id, "app uninstalled")


def on_tokens_revoked(event: dict, context: BoltContext) -> None:
    """The bot token was revoked: stop using it."""
    if not (event.get("tokens") or {}).get("bot"):
        return
    workspace = find_workspace(context.enterprise_id, context.team_id)
    if workspace is not None:
        deactivate_workspace(workspace.id, "tokens revoked")


def on_command(ack: Ack, command: dict, context: BoltContext) -> None:
    """A slash command: refuse bad arguments at once, else acknowledge and queue the answer."""
    name = command["command"]
    problem = check_arguments(name, command.get("text", ""))
    if problem:
        ack(problem)
        return
    try:
        enqueue("jobs.commands.run_command", context[WORKSPACE_ID], name, command.get("text", ""),
                command["user_id"], command["response_url"])
    except QueueUnavailable:
        log.error("queue unavailable: %s from %s not answered", name, command.get("user_id"))
        ack(f":hourglass: Toktra can't reach its job queue right now, so `{name}` could not run. "
            "Please try again in a minute.")
        return
    ack()


QUEUE_DOWN_FOR_CLICK = (":hourglass: Toktra can't reach its job queue right now, so that click could not be "
                        "handled. Please try again in a minute.")


def _queue_click(job: str, ack: Ack, body: dict, context: BoltContext, respond, *extra) -> None:
    """Acknowledge a button click and queue its job; the user acting is the verified Slack user."""
    ack()
    action = body["actions"][0]
    args = [context[WORKSPACE_ID], action.get("value", ""), body["user"]["id"], body["response_url"], *extra]
    try:
        enqueue(job, *args)
    except QueueUnavailable:
        log.error("queue unavailable: %s click by %s not handled", action.get("action_id"), body["user"]["id"])
        respond(text=QUEUE_DOWN_FOR_CLICK, response_type="ephemeral", replace_original=False)


def on_acknowledge(ack: Ack, body: dict, context: BoltContext, respond) -> None:
    """Acknowledge clicked on an alert card."""
    is_ephemeral = bool((body.get("container") or {}).get("is_ephemeral"))
    _queue_click("jobs.alerts.acknowledge_from_slack", ack, body, context, respond, is_ephemeral)


def on_create_ticket(ack: Ack, body: dict, context: BoltContext, respond) -> None:
    """Create ticket clicked on an alert card."""
    _queue_click("jobs.tickets.create_ticket_from_slack", ack, body, context, respond)


def _reason(body: dict) -> str:
    """The reason typed in the DM's input, if any."""
    values = ((body.get("state") or {}).get("values") or {}).get(REASON_BLOCK) or {}
    return typed_reason((values.get(REASON_ACTION) or {}).get("value"))


def on_approve(ack: Ack, body: dict, context: BoltContext, respond) -> None:
    """Approve clicked on a reimbursement DM."""
    _queue_click("jobs.reimbursements.decide_from_slack", ack, body, context, respond, True)


def on_reject(ack: Ack, body: dict, context: BoltContext, respond) -> None:
    """Reject clicked on a reimbursement DM (with the reason typed above it, if any)."""
    _queue_click("jobs.reimbursements.decide_from_slack", ack, body, context, respond, False, _reason(body))


def register_listeners(bolt: App) -> None:
    """Attach every listener to the Bolt app."""
    for name in COMMANDS:
        bolt.command(name)(on_command)
    bolt.action(ACKNOWLEDGE_ALERT)(on_acknowledge)
    bolt.action(CREATE_TICKET)(on_create_ticket)
    bolt.action(APPROVE_REIMBURSEMENT)(on_approve)
    bolt.action(REJECT_REIMBURSEMENT)(on_reject)
    bolt.event("app_mention")(on_app_mention)
    bolt.event("app_uninstalled")(on_app_uninstalled)
    bolt.event("tokens_revoked")(on_tokens_revoked)
