"""The App Home tab: a pure function of what home_content() loaded (or of why there is no account)."""
from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, DividerBlock
from slack_sdk.models.views import View

from app.services.home_content import HomeContent
from app.slack.actions import APPROVE_REIMBURSEMENT, REJECT_REIMBURSEMENT, request_button_value
from app.slack.blocks.cards import _code, alert_blocks, budget_lines, context, header, section, usage_table
from app.slack.blocks.format import clip, whole_dollars
from app.slack.help import commands_overview

MAX_VIEW_BLOCKS = 100  # Slack's limit for modals and Home tabs


def _view(blocks: list) -> dict:
    # to_dict() checks Slack's limits, the view's 100 blocks included.
    return View(type="home", blocks=blocks[:MAX_VIEW_BLOCKS]).to_dict()


def render_home(content: HomeContent) -> dict:
    """The Home tab of one person: usage, budget, open alerts with their buttons, requests waiting for them."""
    user, org, tz = content.user, content.org, content.org.timezone
    blocks: list = [header(f"Toktra for {user.name}"), context(f"{org.name} · {content.usage.period.label}")]

    blocks.append(section("*Your usage this period*"))
    if content.usage.providers:
        blocks.append(_code(usage_table(content.usage)))
    else:
        blocks.append(context(f"No usage recorded for you in {content.usage.period.label} yet."))

    blocks += [DividerBlock(), section("*Budget*")]
    if content.budget.monthly_limit_usd:
        blocks.append(_code(budget_lines(content.budget)[1:]))
    else:
        blocks.append(context(f"No monthly budget is set for {org.name} "
                              f"({whole_dollars(content.budget.spent_usd)} spent so far this period)."))

    blocks += [DividerBlock(), section(_alerts_heading(content))]
    for alert in content.alerts:
        blocks += alert_blocks(alert, tz, content.can_ticket)

    if content.requests:
        kinds = "Requests" if any(r.kind == "budget_increase" for r in content.requests) else "Reimbursement requests"
        blocks += [DividerBlock(), section(f"*{kinds} waiting for you* ({len(content.requests)})")]
        for request in content.requests:
            blocks += _request_blocks(request)

    blocks += [DividerBlock(), section(f"*Commands*\n{commands_overview()}"),
               context("Add `help` to a command for its arguments and examples.")]
    return _view(blocks)


def _alerts_heading(content: HomeContent) -> str:
    scope = "open alerts" if content.user.is_admin else "open alerts about you" + (
        " and your team" if content.user.role == "manager" else "")
    if not content.open_alert_count:
        return f"*No {scope}.* :tada:"
    shown = len(content.alerts)
    more = f" (the {shown} newest of {content.open_alert_count})" if content.open_alert_count > shown else ""
    return f"*{content.open_alert_count} {scope}*{more}"


def _request_blocks(request) -> list:
    value = request_button_value(request.id)
    what = "more budget" if request.kind == "budget_increase" else f"for {request.period}"
    text = (f"*{clip(request.employee.name, 200)}* asks for *{request.amount:,.2f} {request.currency}* "
            f"{what}\n{clip(request.description, 500)}")
    return [section(text, block_id=f"home-request-{request.id}"),
            ActionsBlock(block_id=f"home-request-actions-{request.id}", elements=[
                ButtonElement(text="Approve", action_id=APPROVE_REIMBURSEMENT, value=value, style="primary"),
                ButtonElement(text="Reject", action_id=REJECT_REIMBURSEMENT, value=value, style="danger"),
            ])]


def render_home_without_account(message: str) -> dict:
    """The Home tab of a Slack user Toktra has no account for: what to do about it."""
    return _view([header("Toktra"), section(message),
                  context("Once an admin adds you with the email address you use in Slack, this tab shows your "
                          "LLM usage, the budget and the alerts and requests waiting for you.")])
