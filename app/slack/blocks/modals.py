"""Modals: pure functions of loaded data, checked against Slack's view limits by slack_sdk's View."""
from __future__ import annotations

import json

from slack_sdk.models.blocks import InputBlock, Option, PlainTextInputElement, StaticSelectElement
from slack_sdk.models.views import View

from app.models import Alert, ReimbursementRequest
from app.services.alerts import ACK_REASONS, MAX_ACK_NOTE
from app.slack.actions import ACKNOWLEDGE_MODAL, REASON_LIMIT, REJECT_MODAL
from app.slack.blocks.cards import SEVERITY_EMOJI, context, section
from app.slack.blocks.format import clip

REJECT_REASON_BLOCK = "reject-reason"
REJECT_REASON_ACTION = "reason"
NO_REASON = "Give a reason: it is sent to the employee with the rejection."


def reject_modal_metadata(request_id: int, response_url: str) -> str:
    """What the Reject modal carries to its submission: the request and where the clicker's answers go."""
    return json.dumps({"request": request_id, "response_url": response_url})


def render_reject_modal(request: ReimbursementRequest, response_url: str) -> dict:
    """Reject with a reason (required, shown to the employee)."""
    facts = (f"*{clip(request.employee.name, 200)}* asks for *{request.amount:,.2f} {request.currency}* "
             f"for {request.period}\n{clip(request.description, 1000)}")
    return View(
        type="modal", callback_id=REJECT_MODAL, title="Reject request", submit="Reject", close="Cancel",
        private_metadata=reject_modal_metadata(request.id, response_url),
        blocks=[
            section(facts),
            InputBlock(block_id=REJECT_REASON_BLOCK, label="Reason (sent to the employee)",
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
