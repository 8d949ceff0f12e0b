"""Block Kit for reimbursement requests: the approver's DM and the employee's notices."""
from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from app.models import ReimbursementRequest
from app.services.usage import UsageSummary
from app.slack.actions import APPROVE_REIMBURSEMENT, REJECT_REIMBURSEMENT, request_button_value
from app.slack.blocks.cards import Message, _code, _message, context, header, section, usage_table
from app.slack.blocks.format import plain, slack_time

# The reason input of DMs posted before Reject opened a modal; their clicks still carry it.
REASON_BLOCK = "reimbursement-reason"
REASON_ACTION = "reason"


def _amount(request: ReimbursementRequest) -> str:
    return f"{request.amount:,.2f} {request.currency}"


def _details(request: ReimbursementRequest, usage: UsageSummary) -> list:
    facts = (f"*Employee:* {request.employee.name} ({request.employee.email})\n"
             f"*Amount:* {_amount(request)}\n*Period:* {usage.period.label}\n"
             f"*Description:* {plain(request.description[:1500])}")
    blocks = [section(facts)]
    if usage.providers:
        blocks.append(section(f"*{request.employee.name}'s LLM usage in {usage.period.label}*"))
        blocks.append(_code(usage_table(usage)))
    else:
        blocks.append(context(f"No LLM usage recorded for {request.employee.name} in {usage.period.label}."))
    return blocks


def render_request_dm(request: ReimbursementRequest, usage: UsageSummary) -> Message:
    """The approver's DM: the request, the usage behind it, Approve, and Reject (which asks for a reason)."""
    title = f"Reimbursement request from {request.employee.name}"
    value = request_button_value(request.id)
    blocks = [
        header(title),
        *_details(request, usage),
        ActionsBlock(block_id=f"reimbursement-{request.id}", elements=[
            ButtonElement(text="Approve", action_id=APPROVE_REIMBURSEMENT, value=value, style="primary"),
            # Opens the Reject-with-a-reason modal: the reason is required and sent to the employee.
            ButtonElement(text="Reject", action_id=REJECT_REIMBURSEMENT, value=value, style="danger"),
        ]),
    ]
    return _message(f"{title}: {_amount(request)} for {usage.period.label}", blocks)


def decision_words(request: ReimbursementRequest, tz: str) -> str:
    """'Approved by Max Manager at Jan 5, 2025 10:00 UTC' (with the reason for rejections)."""
    by = request.decided_by.name if request.decided_by else "someone"
    words = f"{'✅ Approved' if request.status == 'approved' else '❌ Rejected'} by {by} at {slack_time(request.decided_at, tz)}"
    if request.status == "rejected" and request.rejection_reason:
        words += f": “{request.rejection_reason[:500]}”"
    return words


def render_decided_dm(request: ReimbursementRequest, usage: UsageSummary, tz: str) -> Message:
    """The approver's DM once decided: the same details, the decision instead of the buttons."""
    title = f"Reimbursement request from {request.employee.name}"
    words = decision_words(request, tz)
    if request.status == "approved":
        words += " · queued for payroll export"
    blocks = [header(title), *_details(request, usage), section(f"*{words}*")]
    return _message(f"{title}: {words}", blocks)


def render_employee_notice(request: ReimbursementRequest, period_label: str, tz: str) -> Message:
    """The DM telling the employee how their request was decided."""
    outcome = "approved" if request.status == "approved" else "rejected"
    text = (f"Your reimbursement request for {_amount(request)} ({period_label}) was {outcome} by "
            f"{request.decided_by.name if request.decided_by else 'your approver'}.")
    if request.status == "approved":
        text += " It will be paid with the next payroll export."
    elif request.rejection_reason:
        text += f" Reason: “{request.rejection_reason[:1500]}”"
    return _message(text, [section(text)])
