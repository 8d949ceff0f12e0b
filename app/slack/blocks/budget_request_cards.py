"""Block Kit for budget requests: the admins' DM (Approve / Reject) and the requester's notice."""
from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from app.models import ReimbursementRequest
from app.services.budget import BudgetStatus
from app.slack.actions import APPROVE_REIMBURSEMENT, REJECT_REIMBURSEMENT, request_button_value
from app.slack.blocks.cards import Message, _message, context, header, section
from app.slack.blocks.format import plain
from app.slack.blocks.reimbursement_cards import decision_words

SCOPE_LINES = {"period": "this period's limit only", "monthly": "the monthly limit, from now on"}


def raised_words(request: ReimbursementRequest, period_label: str) -> str:
    """'the limit for December 2026 was raised by $1,500.00' (or the monthly limit, from that month on)."""
    if request.budget_scope == "period":
        return f"the limit for {period_label} was raised by ${request.amount:,.2f}"
    return f"the monthly limit was raised by ${request.amount:,.2f} from {period_label} on"


def _title(request: ReimbursementRequest) -> str:
    return f"Budget request from {request.employee.name}"


def _details(request: ReimbursementRequest, status: BudgetStatus, period_label: str) -> list:
    facts = (f"*Requested by:* {request.employee.name} ({request.employee.email}, {request.employee.role})\n"
             f"*Extra budget:* ${request.amount:,.2f} USD\n"
             f"*Raises:* {SCOPE_LINES[request.budget_scope]} (asked in {period_label})\n"
             f"*Reason:* {plain(request.description[:1500])}")
    now = (f"{status.period.label}: spent ${status.spent_usd:,.2f} of ${status.monthly_limit_usd:,.2f}"
           f" ({status.percent_used}%)" if status.monthly_limit_usd else "No monthly budget is set now.")
    return [section(facts), context(now)]


def render_budget_request_dm(request: ReimbursementRequest, status: BudgetStatus, period_label: str) -> Message:
    """An admin's DM: the request, where the budget stands, Approve, and Reject (which asks for a reason)."""
    value = request_button_value(request.id)
    blocks = [
        header(_title(request)),
        *_details(request, status, period_label),
        ActionsBlock(block_id=f"budget-request-{request.id}", elements=[
            ButtonElement(text="Approve", action_id=APPROVE_REIMBURSEMENT, value=value, style="primary"),
            ButtonElement(text="Reject", action_id=REJECT_REIMBURSEMENT, value=value, style="danger"),
        ]),
    ]
    return _message(f"{_title(request)}: ${request.amount:,.2f} more for {SCOPE_LINES[request.budget_scope]}", blocks)


def render_decided_budget_dm(request: ReimbursementRequest, status: BudgetStatus, period_label: str,
                             tz: str) -> Message:
    """An admin's DM once anyone decided: the same details, who decided instead of the buttons."""
    words = decision_words(request, tz)
    if request.status == "approved":
        words += f" · {raised_words(request, period_label)}"
    blocks = [header(_title(request)), *_details(request, status, period_label), section(f"*{words}*")]
    return _message(f"{_title(request)}: {words}", blocks)


def render_budget_notice(request: ReimbursementRequest, status: BudgetStatus, period_label: str) -> Message:
    """The DM telling the requester how their budget request was decided (and the limit it gave)."""
    by = request.decided_by.name if request.decided_by else "an admin"
    text = f"Your request for ${request.amount:,.2f} more budget ({SCOPE_LINES[request.budget_scope]}) was "
    if request.status == "approved":
        text += f"approved by {by}: {raised_words(request, period_label)}."
        if status.monthly_limit_usd is not None:
            text += f" The limit for {status.period.label} is now ${status.monthly_limit_usd:,.2f}."
    else:
        text += f"rejected by {by}; the budget is unchanged."
        if request.rejection_reason:
            text += f" Reason: “{request.rejection_reason[:1500]}”"
    return _message(text, [section(text)])
