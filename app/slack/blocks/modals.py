"""Modals: pure functions of loaded data, checked against Slack's view limits by slack_sdk's View."""
from __future__ import annotations

import json

from slack_sdk.models.blocks import (
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from app.models import Alert, ItsmConnector, ReimbursementRequest
from app.services.alerts import ACK_REASONS, MAX_ACK_NOTE
from app.services.budget import BudgetStatus
from app.slack.actions import ACKNOWLEDGE_MODAL, BUDGET_REQUEST_MODAL, LINK_TICKET_MODAL, REASON_LIMIT, REJECT_MODAL
from app.slack.blocks.cards import SEVERITY_EMOJI, context, section
from app.slack.blocks.format import clip, plain

REJECT_REASON_BLOCK = "reject-reason"
REJECT_REASON_ACTION = "reason"
NO_REASON = "Give a reason: it is sent to the employee with the rejection."


def reject_modal_metadata(request_id: int, response_url: str) -> str:
    """What the Reject modal carries to its submission: the request and where the clicker's answers go."""
    return json.dumps({"request": request_id, "response_url": response_url})


def render_reject_modal(request: ReimbursementRequest, response_url: str) -> dict:
    """Reject with a reason (required, shown to the employee)."""
    budget = request.kind == "budget_increase"
    who = "requester" if budget else "employee"
    facts = (f"*{clip(request.employee.name, 200)}* asks for *{request.amount:,.2f} {request.currency}* "
             f"{'more budget' if budget else 'for ' + request.period}\n{clip(request.description, 1000)}")
    return View(
        type="modal", callback_id=REJECT_MODAL, title="Reject request", submit="Reject", close="Cancel",
        private_metadata=reject_modal_metadata(request.id, response_url),
        blocks=[
            section(facts),
            InputBlock(block_id=REJECT_REASON_BLOCK, label=f"Reason (sent to the {who})",
                       element=PlainTextInputElement(action_id=REJECT_REASON_ACTION, multiline=True, min_length=1,
                                                     max_length=REASON_LIMIT)),
            context(f"{request.employee.name} is told it was rejected, with this reason."),
        ],
    ).to_dict()


ACK_REASON_BLOCK = "ack-reason"
ACK_REASON_ACTION = "reason"
ACK_NOTE_BLOCK = "ack-note"
ACK_NOTE_ACTION = "note"
NO_ACK_REASON = "Choose why you acknowledge this alert."


def render_acknowledge_modal(alert: Alert, metadata: str) -> dict:
    """Acknowledge with a reason (false positive, approved exception, needs follow-up) and an optional note."""
    summary = f"{SEVERITY_EMOJI[alert.severity]} *{clip(alert.policy, 200)}*\n{clip(alert.title, 500)}"
    return View(
        type="modal", callback_id=ACKNOWLEDGE_MODAL, title="Acknowledge alert", submit="Acknowledge",
        close="Cancel", private_metadata=metadata,
        blocks=[
            section(summary),
            InputBlock(block_id=ACK_REASON_BLOCK, label="Reason",
                       element=StaticSelectElement(action_id=ACK_REASON_ACTION, placeholder="Choose a reason",
                                                   options=[Option(value=key, label=label)
                                                            for key, label in ACK_REASONS.items()])),
            InputBlock(block_id=ACK_NOTE_BLOCK, label="Note", optional=True,
                       element=PlainTextInputElement(action_id=ACK_NOTE_ACTION, multiline=True,
                                                     max_length=MAX_ACK_NOTE)),
            context("The reason is shown on every copy of the alert's card and in the dashboard."),
        ],
    ).to_dict()


BUDGET_AMOUNT_BLOCK = "budget-amount"
BUDGET_AMOUNT_ACTION = "amount"
BUDGET_REASON_BLOCK = "budget-reason"
BUDGET_REASON_ACTION = "reason"
BUDGET_SCOPE_BLOCK = "budget-scope"
BUDGET_SCOPE_ACTION = "scope"
BUDGET_SCOPE_OPTIONS = {"period": "This period only", "monthly": "The monthly limit from now on"}
BAD_BUDGET_AMOUNT = ("Enter an amount in US dollars: more than 0, at most 1,000,000, with at most 2 decimals, "
                     "such as 500 or 1250.50.")
NO_BUDGET_REASON = "Say why more budget is needed: the approvers see it with the request."
NO_BUDGET_SCOPE = "Choose whether to raise this period's limit only or the monthly limit from now on."


def budget_request_metadata(org_id: int, response_url: str) -> str:
    """What the Request more budget modal carries to its submission: the organization and where answers go."""
    return json.dumps({"org": org_id, "response_url": response_url})


def render_budget_request_modal(status: BudgetStatus, org_name: str, org_id: int, response_url: str) -> dict:
    """Request more budget: an amount in USD, a reason (required) and whether it is for this period or for good."""
    facts = (f"*{clip(org_name, 200)}* has spent *${status.spent_usd:,.2f}* of its *${status.monthly_limit_usd:,.2f}* "
             f"limit ({status.percent_used}%) in {status.period.label}.")
    options = [Option(value=key, label=label) for key, label in BUDGET_SCOPE_OPTIONS.items()]
    return View(
        type="modal", callback_id=BUDGET_REQUEST_MODAL, title="Request more budget", submit="Send request",
        close="Cancel", private_metadata=budget_request_metadata(org_id, response_url),
        blocks=[
            section(facts),
            InputBlock(block_id=BUDGET_AMOUNT_BLOCK, label="Extra budget (USD)",
                       hint="A positive amount with at most 2 decimals, such as 500 or 1250.50",
                       element=PlainTextInputElement(action_id=BUDGET_AMOUNT_ACTION, placeholder="500.00",
                                                     max_length=20)),
            InputBlock(block_id=BUDGET_SCOPE_BLOCK, label="Raise",
                       element=RadioButtonsElement(action_id=BUDGET_SCOPE_ACTION, options=options,
                                                   initial_option=options[0])),
            InputBlock(block_id=BUDGET_REASON_BLOCK, label="Reason (sent to the approvers)",
                       element=PlainTextInputElement(action_id=BUDGET_REASON_ACTION, multiline=True, min_length=1,
                                                     max_length=REASON_LIMIT)),
            context(f"{clip(org_name, 200)}'s admins get the request in Slack; you are told their decision."),
        ],
    ).to_dict()


def render_notice_modal(title: str, text: str) -> dict:
    """A modal that only says something (why a Home tab click was refused), with a Close button."""
    return View(type="modal", title=clip(title, 24), close="Close", blocks=[section(clip(text, 3000))]).to_dict()


LINK_CONNECTOR_BLOCK = "link-connector"
LINK_CONNECTOR_ACTION = "connector"
LINK_KEY_BLOCK = "link-key"
LINK_KEY_ACTION = "key"
LINK_KEY_LIMIT = 500


def _alert_summary(alert: Alert) -> str:
    return f"{SEVERITY_EMOJI[alert.severity]} *{plain(clip(alert.policy, 200))}*\n{plain(clip(alert.title, 500))}"


def render_link_ticket_modal(alert: Alert, connectors: list[ItsmConnector], metadata: str, error: str | None = None,
                             typed: str = "", connector_id: int | None = None) -> dict:
    """Link an existing ticket: which connector, and the ticket's key or URL; error is the connector's answer
    to a previous try, shown above the form."""
    from app.services.tickets import connector_label

    options = [Option(value=str(c.id), label=clip(connector_label(c), 75)) for c in connectors]
    chosen = next((o for o, c in zip(options, connectors) if c.id == connector_id), options[0])
    blocks = [section(_alert_summary(alert))]
    if error:
        blocks.append(section(f":warning: {plain(clip(error, 2900))}"))
    blocks += [
        InputBlock(block_id=LINK_CONNECTOR_BLOCK, label="Ticketing system",
                   element=StaticSelectElement(action_id=LINK_CONNECTOR_ACTION, options=options,
                                               initial_option=chosen)),
        InputBlock(block_id=LINK_KEY_BLOCK, label="Ticket key or URL",
                   element=PlainTextInputElement(action_id=LINK_KEY_ACTION, max_length=LINK_KEY_LIMIT,
                                                 initial_value=clip(typed, LINK_KEY_LIMIT) or None,
                                                 placeholder="OPS-123, INC0010002 or the ticket's link")),
        context("Toktra reads the ticket to check it, shows it on the alert's cards and keeps its status current."),
    ]
    return View(type="modal", callback_id=LINK_TICKET_MODAL, title="Link ticket", submit="Link", close="Cancel",
                private_metadata=metadata, blocks=blocks).to_dict()


def render_link_outcome(alert: Alert, text: str) -> dict:
    """The modal once the ticket is linked, or can't be (no submit button)."""
    return View(type="modal", callback_id=LINK_TICKET_MODAL, title="Link ticket", close="Close",
                blocks=[section(_alert_summary(alert)), section(text)]).to_dict()


def render_link_checking(key: str, system: str, submitted: dict) -> dict:
    """What the modal shows while a job reads the ticket from the connector (it replaces this view)."""
    blocks = [b for b in submitted.get("blocks") or [] if b.get("type") == "section"][:1]
    checking = section(f":hourglass_flowing_sand: Checking {key} in {plain(clip(system, 100))}…")
    return View(type="modal", callback_id=LINK_TICKET_MODAL, title="Link ticket", close="Cancel",
                private_metadata=submitted.get("private_metadata") or "", blocks=[*blocks, checking]).to_dict()
