"""Bolt listeners: verify who and what, acknowledge, and queue the work. No Slack calls here."""
from __future__ import annotations

import json
import logging

from slack_bolt import Ack, App
from slack_bolt.context import BoltContext

from app.extensions import db
from app.models import ItsmConnector, SlackWorkspace
from app.services.tickets import TicketError, connector_label, ticket_key_from
from app.slack.arguments import PG_INT_MAX, bounded_int
from app.services.home import publish_home
from app.services.alerts import ACK_REASONS
from app.services.budget_requests import parse_scope
from app.services.reimbursements import ReimbursementError, parse_amount
from app.slack.actions import (
    ACKNOWLEDGE_ALERT,
    ACKNOWLEDGE_MODAL,
    ACKNOWLEDGE_WITH_REASON,
    APPROVE_REIMBURSEMENT,
    BUDGET_REQUEST_MODAL,
    COMMANDS,
    CREATE_TICKET,
    LINK_TICKET,
    LINK_TICKET_MODAL,
    NUDGES_OFF,
    REJECT_MODAL,
    REJECT_REIMBURSEMENT,
    REOPEN_ALERT,
    REQUEST_MORE_BUDGET,
    RESOLVE_ALERT,
    SNOOZE_ALERT,
    typed_reason,
)
from app.slack.blocks.modals import (
    ACK_NOTE_ACTION,
    ACK_NOTE_BLOCK,
    ACK_REASON_ACTION,
    ACK_REASON_BLOCK,
    BUDGET_AMOUNT_ACTION,
    BUDGET_AMOUNT_BLOCK,
    BUDGET_REASON_ACTION,
    BUDGET_REASON_BLOCK,
    BUDGET_SCOPE_ACTION,
    BUDGET_SCOPE_BLOCK,
    BAD_BUDGET_AMOUNT,
    NO_ACK_REASON,
    NO_BUDGET_REASON,
    NO_BUDGET_SCOPE,
    NO_REASON,
    LINK_CONNECTOR_ACTION,
    LINK_CONNECTOR_BLOCK,
    LINK_KEY_ACTION,
    LINK_KEY_BLOCK,
    REJECT_REASON_ACTION,
    REJECT_REASON_BLOCK,
    render_link_checking,
    render_notice_modal,
)
from app.slack.ingress.dedupe import CHECK_IN, CheckInAnswer
from app.slack.blocks.reimbursement_cards import REASON_ACTION, REASON_BLOCK
from app.slack.commands import check_arguments, help_answer
from app.slack.ingress.authorize import WORKSPACE_ID
from app.slack.client.store import deactivate_workspace, find_workspace
from jobs import enqueue_checked_in, enqueue_durably
from jobs.budget_requests import submit_budget_request_from_slack
from jobs.modals import open_acknowledge_modal, open_budget_request_modal, open_link_ticket_modal, open_reject_modal
from jobs.alerts import acknowledge_from_slack, reopen_from_slack, resolve_from_slack, snooze_from_slack
from jobs.commands import run_command
from jobs.pace_nudges import nudges_off_from_slack
from jobs.reimbursements import decide_from_slack
from jobs.slack import reply_to_mention
from jobs.tickets import create_ticket_from_slack, link_ticket_from_slack

log = logging.getLogger(__name__)


def on_app_mention(event: dict, context: BoltContext) -> None:
    """@Toktra in a channel: reply in the thread with what the app does (from a job)."""
    # With Redis down the job waits in PostgreSQL; with both down the error makes Slack retry the event.
    enqueue_durably(reply_to_mention, check_in=context[CHECK_IN], workspace_id=context[WORKSPACE_ID],
                    channel=event["channel"],
                    thread_ts=event.get("thread_ts") or event["ts"], slack_user_id=event.get("user", ""))


def on_app_home_opened(event: dict, context: BoltContext) -> None:
    """Someone opened Toktra's Home tab: write its publish to the outbox (views.publish is sent by a job)."""
    if event.get("tab", "home") != "home" or not event.get("user"):
        return  # the Messages tab, or no one to publish to
    context[CHECK_IN].confirm()  # no job carries this request's check-in: make it now
    workspace = db.session.get(SlackWorkspace, context[WORKSPACE_ID])
    if workspace is None or not workspace.active:
        return
    # A row, not a job: it survives Redis being down, and opening the tab twice before it is sent is one publish.
    publish_home(workspace.org_id, workspace.id, event["user"])
    db.session.commit()


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
    helped = help_answer(name, command.get("text", ""))
    if helped:  # static text: answered in the acknowledgement itself, visible only to the caller
        ack(text=helped[0], blocks=helped[1])
        return
    problem = check_arguments(name, command.get("text", ""))
    if problem:
        ack(problem)
        return
    try:
        queued = enqueue_durably(run_command, check_in=context[CHECK_IN], workspace_id=context[WORKSPACE_ID],
                                 command=name, text=command.get("text", ""), slack_user_id=command["user_id"],
                                 response_url=command["response_url"])
    except CheckInAnswer:
        raise
    except Exception:  # Redis and PostgreSQL both unreachable: say so in the ack, the only answer we can give
        log.exception("%s from %s could not be queued", name, command.get("user_id"))
        ack(f":hourglass: Toktra can't reach its job queue right now, so `{name}` could not run. "
            "Please try again in a minute.")
        return
    if not queued:
        ack(f":hourglass: Toktra's job queue is catching up; the answer to `{name}` will follow here shortly.")
        return
    ack()


def _queue_click(job, ack: Ack, body: dict, context: BoltContext, **extra) -> None:
    """Acknowledge a button click and queue its job; the user acting is the verified Slack user.

    With Redis down the click waits in PostgreSQL and is handled once the queue is back; the web
    process never calls Slack, so nothing here can be slow.
    """
    action = body["actions"][0]
    try:
        enqueue_durably(job, check_in=context[CHECK_IN], workspace_id=context[WORKSPACE_ID],
                        value=action.get("value", ""), slack_user_id=body["user"]["id"],
                        # A click on the Home tab has no response_url: the tab itself is republished.
                        response_url=body.get("response_url", ""), **extra)
    except CheckInAnswer:
        raise
    except Exception:  # both stores down: a non-2xx makes Slack show the clicker that it failed
        log.exception("%s click by %s could not be queued", action.get("action_id"), body["user"]["id"])
        raise
    ack()


def on_acknowledge(ack: Ack, body: dict, context: BoltContext) -> None:
    """Acknowledge clicked on an alert card."""
    is_ephemeral = bool((body.get("container") or {}).get("is_ephemeral"))
    _queue_click(acknowledge_from_slack, ack, body, context, is_ephemeral=is_ephemeral)


def on_acknowledge_with_reason(ack: Ack, body: dict, context: BoltContext) -> None:
    """Acknowledge with reason clicked: a job opens its modal at once (see on_reject)."""
    _open_modal(open_acknowledge_modal, ack, body, context,
                is_ephemeral=bool((body.get("container") or {}).get("is_ephemeral")))


def on_acknowledge_submitted(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    """The Acknowledge modal was submitted: a reason is required, the note is optional."""
    metadata = _metadata(view)
    values = (view.get("state") or {}).get("values") or {}
    chosen = (((values.get(ACK_REASON_BLOCK) or {}).get(ACK_REASON_ACTION) or {}).get("selected_option") or {})
    reason = chosen.get("value") if isinstance(chosen, dict) else None
    if reason not in ACK_REASONS:
        context[CHECK_IN].release()
        ack(response_action="errors", errors={ACK_REASON_BLOCK: NO_ACK_REASON})
        return
    note = typed_reason(((values.get(ACK_NOTE_BLOCK) or {}).get(ACK_NOTE_ACTION) or {}).get("value"))
    enqueue_durably(acknowledge_from_slack, check_in=context[CHECK_IN], workspace_id=context[WORKSPACE_ID],
                    value=_text(metadata, "value"),
                    slack_user_id=body["user"]["id"], response_url=_text(metadata, "response_url"),
                    is_ephemeral=metadata.get("is_ephemeral") is True, reason=reason, note=note)
    ack()


def _input(view: dict, block_id: str, action_id: str) -> dict:
    """What one input of a submitted modal holds ({} when a forged payload holds something else)."""
    found = view.get("state")
    for name in ("values", block_id, action_id):
        found = found.get(name) if isinstance(found, dict) else None
    return found if isinstance(found, dict) else {}


def _metadata(view: dict) -> dict:
    """A modal's private_metadata (ours: a JSON object), or {} when it is not readable."""
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except (ValueError, RecursionError):
        return {}
    return metadata if isinstance(metadata, dict) else {}


def _text(metadata: dict, name: str) -> str:
    value = metadata.get(name)
    return value if isinstance(value, str) else ""


def _open_modal(job, ack: Ack, body: dict, context: BoltContext, **extra) -> None:
    """Queue the job that opens a modal with this click's trigger_id, then acknowledge.

    Not durable on purpose: a modal opened after Redis comes back would be long past the trigger's
    3 seconds. At the front of the queue, so no backlog of sends delays it.
    """
    enqueue_checked_in(job, context[CHECK_IN], workspace_id=context[WORKSPACE_ID],
                       value=body["actions"][0].get("value", ""),
                       slack_user_id=body["user"]["id"], response_url=body.get("response_url", ""),
                       trigger_id=body.get("trigger_id", ""), at_front=True, retry=None, **extra)
    ack()


def _is_ephemeral(body: dict) -> bool:
    return bool((body.get("container") or {}).get("is_ephemeral"))


def on_resolve(ack: Ack, body: dict, context: BoltContext) -> None:
    """Resolve clicked on an alert card."""
    _queue_click(resolve_from_slack, ack, body, context, is_ephemeral=_is_ephemeral(body))


def on_reopen(ack: Ack, body: dict, context: BoltContext) -> None:
    """Reopen clicked on a resolved alert's card."""
    _queue_click(reopen_from_slack, ack, body, context, is_ephemeral=_is_ephemeral(body))


def on_snooze(ack: Ack, body: dict, context: BoltContext) -> None:
    """A Snooze duration chosen in an alert card's menu (the option's value carries the alert and duration)."""
    action = body["actions"][0]
    selected = action.get("selected_option") if isinstance(action.get("selected_option"), dict) else {}
    action["value"] = selected.get("value", "") if isinstance(selected.get("value"), str) else ""
    _queue_click(snooze_from_slack, ack, body, context, is_ephemeral=_is_ephemeral(body))


def on_create_ticket(ack: Ack, body: dict, context: BoltContext) -> None:
    """Create ticket clicked on an alert card."""
    _queue_click(create_ticket_from_slack, ack, body, context)


def on_nudges_off(ack: Ack, body: dict, context: BoltContext) -> None:
    """Stop these nudges clicked in a pace nudge DM."""
    _queue_click(nudges_off_from_slack, ack, body, context)


def on_link_ticket(ack: Ack, body: dict, context: BoltContext) -> None:
    """Link ticket clicked on an alert card: a job opens the Link ticket modal at once."""
    _open_modal(open_link_ticket_modal, ack, body, context)


def on_link_ticket_submitted(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    """The Link ticket modal was submitted: a key or URL of the chosen connector's form is required (checked
    here); the modal then says it is checking, and a job reads the ticket from the connector."""
    metadata = _metadata(view)
    chosen = _input(view, LINK_CONNECTOR_BLOCK, LINK_CONNECTOR_ACTION).get("selected_option")
    typed = typed_reason(_input(view, LINK_KEY_BLOCK, LINK_KEY_ACTION).get("value")).strip()
    workspace = db.session.get(SlackWorkspace, context[WORKSPACE_ID])
    connector_id = bounded_int(chosen.get("value") if isinstance(chosen, dict) else None, 1, PG_INT_MAX)
    connector = db.session.get(ItsmConnector, connector_id) if connector_id else None
    if connector is None or workspace is None or connector.org_id != workspace.org_id or not connector.active:
        context[CHECK_IN].release()
        ack(response_action="errors", errors={LINK_CONNECTOR_BLOCK: "Choose one of your active ticketing systems."})
        return
    try:
        key = ticket_key_from(connector, typed)
    except TicketError as exc:
        context[CHECK_IN].release()  # the corrected form comes with the same view id and hash
        ack(response_action="errors", errors={LINK_KEY_BLOCK: str(exc)})
        return
    enqueue_durably(link_ticket_from_slack, check_in=context[CHECK_IN], workspace_id=context[WORKSPACE_ID], value=_text(metadata, "value"),
                    slack_user_id=body["user"]["id"], response_url=_text(metadata, "response_url"),
                    connector_id=connector.id, key=key, typed=typed, view_id=view.get("id", ""))
    ack(response_action="update", view=render_link_checking(key, connector_label(connector), view))


def _reason(body: dict) -> str:
    """The reason typed in the DM's input, if any."""
    values = ((body.get("state") or {}).get("values") or {}).get(REASON_BLOCK) or {}
    return typed_reason((values.get(REASON_ACTION) or {}).get("value"))


def on_approve(ack: Ack, body: dict, context: BoltContext) -> None:
    """Approve clicked on a reimbursement DM."""
    _queue_click(decide_from_slack, ack, body, context, approve=True)


def on_reject(ack: Ack, body: dict, context: BoltContext) -> None:
    """Reject clicked: a job opens the Reject-with-a-reason modal at once (DMs posted before the modal, with
    their reason typed inline, are decided as they were)."""
    if _reason(body):
        _queue_click(decide_from_slack, ack, body, context, approve=False, reason=_reason(body))
        return
    _open_modal(open_reject_modal, ack, body, context)


def on_reject_submitted(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    """The Reject modal was submitted: a reason is required; the decision itself is made by a job."""
    metadata = _metadata(view)
    values = ((view.get("state") or {}).get("values") or {}).get(REJECT_REASON_BLOCK) or {}
    reason = typed_reason((values.get(REJECT_REASON_ACTION) or {}).get("value")).strip()
    if not reason:
        context[CHECK_IN].release()  # the corrected form comes with the same view id and hash
        ack(response_action="errors", errors={REJECT_REASON_BLOCK: NO_REASON})
        return
    enqueue_durably(decide_from_slack, check_in=context[CHECK_IN], workspace_id=context[WORKSPACE_ID],
                    value=str(metadata.get("request", "")),
                    slack_user_id=body["user"]["id"], response_url=_text(metadata, "response_url"), approve=False,
                    reason=reason)
    ack()


def on_request_more_budget(ack: Ack, body: dict, context: BoltContext) -> None:
    """Request more budget clicked (budget card, budget alert, living budget card): a job opens its modal."""
    _open_modal(open_budget_request_modal, ack, body, context)


def on_budget_request_submitted(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    """The Request more budget modal was submitted: a bad amount, no reason or no scope is refused in the modal;
    the request itself is stored by a job (who asks is verified there)."""
    metadata = _metadata(view)
    values = (view.get("state") or {}).get("values") or {}
    amount = ((values.get(BUDGET_AMOUNT_BLOCK) or {}).get(BUDGET_AMOUNT_ACTION) or {}).get("value")
    reason = typed_reason(((values.get(BUDGET_REASON_BLOCK) or {}).get(BUDGET_REASON_ACTION) or {}).get("value"))
    chosen = ((values.get(BUDGET_SCOPE_BLOCK) or {}).get(BUDGET_SCOPE_ACTION) or {}).get("selected_option") or {}
    errors = {}
    try:
        typed = amount if isinstance(amount, str) else ""
        amount = str(parse_amount(typed.strip().lstrip("$").replace(",", "")))  # "$1,500" reads as 1500
    except ReimbursementError:
        errors[BUDGET_AMOUNT_BLOCK] = BAD_BUDGET_AMOUNT
    try:
        scope = parse_scope(chosen.get("value") if isinstance(chosen, dict) else None)
    except ReimbursementError:
        errors[BUDGET_SCOPE_BLOCK] = NO_BUDGET_SCOPE
    if not reason.strip():
        errors[BUDGET_REASON_BLOCK] = NO_BUDGET_REASON
    if errors:
        context[CHECK_IN].release()  # the corrected form comes with the same view id and hash
        ack(response_action="errors", errors=errors)
        return
    response_url = _text(metadata, "response_url")
    # Opened from the Home tab (no response_url): the modal stays open and the job shows the outcome in it.
    view_id = "" if response_url else view.get("id", "")
    enqueue_durably(submit_budget_request_from_slack, check_in=context[CHECK_IN], workspace_id=context[WORKSPACE_ID],
                    value=str(metadata.get("org", "")), slack_user_id=body["user"]["id"],
                    response_url=response_url, amount=amount, reason=reason.strip(), scope=scope, view_id=view_id)
    if view_id:
        ack(response_action="update", view=render_notice_modal("Request more budget",
                                                               ":hourglass_flowing_sand: Sending your request…"))
    else:
        ack()


def register_listeners(bolt: App) -> dict:
    """Attach every listener to the Bolt app; returns the slash commands' ({command: listener})."""
    for name in COMMANDS:
        bolt.command(name)(on_command)
    bolt.action(ACKNOWLEDGE_ALERT)(on_acknowledge)
    bolt.action(CREATE_TICKET)(on_create_ticket)
    bolt.action(RESOLVE_ALERT)(on_resolve)
    bolt.action(REOPEN_ALERT)(on_reopen)
    bolt.action(SNOOZE_ALERT)(on_snooze)
    bolt.action(APPROVE_REIMBURSEMENT)(on_approve)
    bolt.action(REJECT_REIMBURSEMENT)(on_reject)
    bolt.view_submission(REJECT_MODAL)(on_reject_submitted)
    bolt.action(ACKNOWLEDGE_WITH_REASON)(on_acknowledge_with_reason)
    bolt.view_submission(ACKNOWLEDGE_MODAL)(on_acknowledge_submitted)
    bolt.action(NUDGES_OFF)(on_nudges_off)
    bolt.action(REQUEST_MORE_BUDGET)(on_request_more_budget)
    bolt.view_submission(BUDGET_REQUEST_MODAL)(on_budget_request_submitted)
    bolt.action(LINK_TICKET)(on_link_ticket)
    bolt.view_submission(LINK_TICKET_MODAL)(on_link_ticket_submitted)
    bolt.event("app_mention")(on_app_mention)
    bolt.event("app_home_opened")(on_app_home_opened)
    bolt.event("app_uninstalled")(on_app_uninstalled)
    bolt.event("tokens_revoked")(on_tokens_revoked)
    return {name: on_command for name in COMMANDS}
