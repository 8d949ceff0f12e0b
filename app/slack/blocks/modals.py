"""Modals: pure functions of loaded data, checked against Slack's view limits by slack_sdk's View."""
from __future__ import annotations

import json

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement
from slack_sdk.models.views import View

from app.models import ReimbursementRequest
from app.slack.actions import REASON_LIMIT, REJECT_MODAL
from app.slack.blocks.cards import context, section
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
