"""Block Kit cards for the slash commands: pure functions of loaded data, built with slack_sdk's models."""
from __future__ import annotations

import json
from decimal import Decimal

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from app.models import Alert
from app.services.budget import BudgetStatus
from app.services.usage import UsageSummary
from app.slack.actions import ACKNOWLEDGE_ALERT, CREATE_TICKET
from app.slack.format import dollars, tokens, when, whole_dollars

Message = tuple[str, list[dict]]  # (fallback text, blocks)

MAX_BLOCKS_PER_MESSAGE = 50
BAR_CELLS = 20
SEVERITY_EMOJI = {"low": "🔵", "medium": "🟡", "high": "🟠", "critical": "🔴"}


def _code(lines: list[str]) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text="```\n" + "\n".join(lines) + "\n```"))


def _message(text: str, blocks: list) -> Message:
    return text, [b.to_dict() for b in blocks]  # to_dict() checks Slack's per-block limits


def notice(text: str) -> Message:
    """A one-paragraph ephemeral answer (errors, refusals, empty results)."""
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=text))])


# --- /toktra-usage -----------------------------------------------------------------------------

def usage_table(summary: UsageSummary) -> list[str]:
    """The provider table exactly as the spec shows it: names left, tokens and cost right-aligned."""
    rows = [(p.name, tokens(p.tokens), dollars(p.cost_usd)) for p in summary.providers]
    total = ("Total", tokens(summary.total.tokens), dollars(summary.total.cost_usd))
    every = rows + [total]
    name_w = max(15, max(len(r[0]) for r in every) + 2)
    tokens_w = max(9, max(len(r[1]) for r in every))
    cost_w = max(len(r[2]) for r in every)
    rule = "─" * (name_w + tokens_w + 5)

    def line(name: str, count: str, cost: str) -> str:
        return f"{name:<{name_w}}{count:>{tokens_w}}   {cost:>{cost_w}}"

    return [rule, f"{'Provider':<{name_w}}{'Tokens':<{tokens_w}}   Cost", *(line(*r) for r in rows), rule, line(*total)]


def render_usage_card(summary: UsageSummary, person: str) -> Message:
    """Usage Summary — <name>: the period, one row per provider and the total."""
    title = f"Usage Summary — {person}"
    period = f"Period: {summary.period.label}"
    if not summary.providers:
        text = f"No usage recorded for {person} in {summary.period.label} yet."
        return _message(f"{title}\n{text}", [HeaderBlock(text=title), SectionBlock(text=MarkdownTextObject(text=text))])
    table = usage_table(summary)
    return _message("\n".join([title, period, *table]),
                    [HeaderBlock(text=title), ContextBlock(elements=[MarkdownTextObject(text=period)]), _code(table)])


# --- /toktra-budget ----------------------------------------------------------------------------

def budget_colour(percent: Decimal) -> str:
    """🟢 below 75%, 🟠 from 75% to 90%, 🔴 above 90%."""
    if percent < 75:
        return "🟢"
    return "🟠" if percent <= 90 else "🔴"


def budget_bar(percent: Decimal) -> str:
    """🟠 ███████████████░░░░░ 75.2%: twenty cells, a cell per 5%, full from 100%."""
    filled = max(0, min(BAR_CELLS, int(percent * BAR_CELLS // 100)))
    return f"{budget_colour(percent)} {'█' * filled}{'░' * (BAR_CELLS - filled)} {percent}%"


def budget_lines(status: BudgetStatus) -> list[str]:
    """The budget card's lines, as the spec shows them."""
    percent = status.percent_used
    remaining = status.remaining_usd
    remaining_text = whole_dollars(remaining) if remaining >= 0 else f"{whole_dollars(-remaining)} over budget"
    return [
        "─" * 36,
        f"{'Monthly limit:':<19}{whole_dollars(status.monthly_limit_usd)}",
        f"{'Spent:':<19}{whole_dollars(status.spent_usd)} ({percent}%)",
        f"{'Remaining:':<19}{remaining_text}",
        f"{'Alert threshold:':<19}{status.alert_threshold_pct}%",
        "",
        budget_bar(percent),
    ]


def render_budget_card(status: BudgetStatus, org_name: str, settings_url: str) -> Message:
    """Budget Status: limit, spend, remaining, threshold and the coloured bar; or how to set a budget."""
    title = "Budget Status"
    if not status.monthly_limit_usd:
        text = (f"No monthly budget is set for {org_name}, so there is nothing to measure spend "
                f"({whole_dollars(status.spent_usd)} so far in {status.period.label}) against. "
                f"An admin can set one in Toktra under <{settings_url}|Settings>, or with `PUT /api/v1/budget`.")
        return _message(f"{title}\n{text}", [HeaderBlock(text=title), SectionBlock(text=MarkdownTextObject(text=text))])
    lines = budget_lines(status)
    return _message("\n".join([title, *lines]), [
        HeaderBlock(text=title), _code(lines),
        ContextBlock(elements=[MarkdownTextObject(text=f"{org_name} · {status.period.label}")]),
    ])


# --- /toktra-alerts ----------------------------------------------------------------------------

def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def alert_blocks(alert: Alert, tz: str, can_ticket: bool, context: dict | None = None) -> list:
    """One alert: what fired, about whom, when, its status and tickets, and its buttons.

    context ({"q": arguments, "page": n} for /toktra-alerts lists) rides in the button value so a click can
    re-render the message it came from; it never decides who may act.
    """
    emoji = SEVERITY_EMOJI[alert.severity]
    summary = f"{emoji} *{alert.severity.capitalize()}* · *{_clip(alert.policy, 200)}*\n{_clip(alert.title, 500)}"
    if alert.details:
        summary += f"\n>{_clip(alert.details, 1500)}"
    person = alert.subject_user.name if alert.subject_user else "—"
    if alert.status == "acknowledged":
        by = alert.acknowledged_by.name if alert.acknowledged_by else "someone"
        status = f"✅ Acknowledged by {by} at {when(alert.acknowledged_at, tz)}"
    else:
        status = "Open"
    tickets = [f"Ticket: <{t.url}|{t.external_key}>" for t in alert.tickets]
    facts = [f"Person: {person}", f"Fired: {when(alert.fired_at, tz)}", f"Status: {status}", *tickets]
    blocks = [
        SectionBlock(block_id=f"alert-{alert.id}", text=MarkdownTextObject(text=summary)),
        ContextBlock(elements=[MarkdownTextObject(text=_clip(" · ".join(facts), 3000))]),
    ]
    value = json.dumps({"alert": alert.id, **(context or {})})
    buttons = []
    if alert.status == "open":
        buttons.append(ButtonElement(text="Acknowledge", action_id=ACKNOWLEDGE_ALERT, value=value, style="primary"))
    if can_ticket:
        buttons.append(ButtonElement(text="Create ticket", action_id=CREATE_TICKET, value=value))
    if buttons:
        blocks.append(ActionsBlock(block_id=f"alert-actions-{alert.id}", elements=buttons))
    return blocks


def alert_fallback_text(alert: Alert) -> str:
    """The notification text of an alert card."""
    return f"{SEVERITY_EMOJI[alert.severity]} {alert.severity.capitalize()} alert: {alert.policy} — {alert.title}"


def render_alert_card(alert: Alert, tz: str, can_ticket: bool) -> Message:
    """The card posted to alert channels (and updated there when acknowledged or ticketed)."""
    return _message(alert_fallback_text(alert), alert_blocks(alert, tz, can_ticket))


def render_test_alert(channel_name: str, org_name: str) -> Message:
    """A test message for an alert channel."""
    text = (f":white_check_mark: Test alert from Toktra: alerts for {org_name} will arrive in "
            f"#{channel_name}. No action needed.")
    return notice(text)


def render_alert_list(alerts: list[Alert], tz: str, can_ticket: bool, heading: str, query: str = "") -> list[Message]:
    """The alerts, newest first, split into as many messages as Slack's 50-block limit needs."""
    if not alerts:
        return [notice(heading)]
    pages: list[list] = [[SectionBlock(text=MarkdownTextObject(text=heading))]]
    for alert in alerts:
        card = alert_blocks(alert, tz, can_ticket, {"q": query, "page": len(pages) - 1})
        if len(pages[-1]) + len(card) > MAX_BLOCKS_PER_MESSAGE:
            pages.append([])
            card = alert_blocks(alert, tz, can_ticket, {"q": query, "page": len(pages) - 1})
        pages[-1].extend(card)
    return [_message(heading, blocks) for blocks in pages]
