"""Block Kit cards for the slash commands: pure functions of loaded data, built with slack_sdk's models."""
from __future__ import annotations

from decimal import Decimal

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    SectionBlock,
)

from app.models import Alert
from app.services.budget import BudgetStatus
from app.services.usage import UsageSummary
from app.services.alerts import ACK_REASONS
from app.models.types import utcnow
from app.services.alert_lifecycle import SNOOZE_CHOICES
from app.slack.actions import (
    ACKNOWLEDGE_ALERT,
    ACKNOWLEDGE_WITH_REASON,
    CREATE_TICKET,
    LINK_TICKET,
    REOPEN_ALERT,
    REQUEST_MORE_BUDGET,
    RESOLVE_ALERT,
    SNOOZE_ALERT,
    alert_button_value,
    budget_button_value,
    snooze_option_value,
)
from app.slack.blocks.format import (
    FALLBACK_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    clip,
    dollars,
    plain,
    tokens,
    slack_time,
    whole_dollars,
)

Message = tuple[str, list[dict]]  # (fallback text, blocks)

MAX_BLOCKS_PER_MESSAGE = 50
BAR_CELLS = 20
SEVERITY_EMOJI = {"low": "🔵", "medium": "🟡", "high": "🟠", "critical": "🔴"}


# Every builder below goes through these, so text from users and data is always cut to Slack's limits.

def section(text: str, block_id: str | None = None) -> SectionBlock:
    """A mrkdwn section, clipped to Slack's 3,000 characters."""
    return SectionBlock(block_id=block_id, text=MarkdownTextObject(text=clip(text, SECTION_TEXT_LIMIT)))


def header(text: str) -> HeaderBlock:
    """A header, clipped to Slack's 150 characters."""
    return HeaderBlock(text=clip(text, HEADER_TEXT_LIMIT))


def context(text: str) -> ContextBlock:
    """A one-element mrkdwn context line, clipped to Slack's 3,000 characters."""
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, SECTION_TEXT_LIMIT))])


def _code(lines: list[str]) -> SectionBlock:
    fence = "```"
    body = clip("\n".join(lines), SECTION_TEXT_LIMIT - 2 * len(fence) - 2)
    return SectionBlock(text=MarkdownTextObject(text=f"{fence}\n{body}\n{fence}"))


def _message(text: str, blocks: list) -> Message:
    return clip(text, FALLBACK_TEXT_LIMIT), [b.to_dict() for b in blocks]  # to_dict() checks Slack's limits


def notice(text: str) -> Message:
    """A one-paragraph ephemeral answer (errors, refusals, empty results)."""
    return _message(text, [section(text)])


# --- /toktra-usage -----------------------------------------------------------------------------

def usage_table(summary: UsageSummary) -> list[str]:
    """The provider table exactly as the spec shows it: names left, tokens and cost right-aligned."""
    rows = [(clip(p.name, 40), tokens(p.tokens), dollars(p.cost_usd)) for p in summary.providers]
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
        return _message(f"{title}\n{text}", [header(title), section(text)])
    table = usage_table(summary)
    return _message("\n".join([title, period, *table]), [header(title), context(period), _code(table)])


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


def threshold_line(status: BudgetStatus) -> str:
    """'Alert threshold: 80%' as the spec shows it, or every threshold when there are several."""
    thresholds = status.thresholds
    if len(thresholds) == 1:
        return f"{'Alert threshold:':<19}{thresholds[0]}%"
    return f"{'Alert thresholds:':<19}{', '.join(f'{t}%' for t in thresholds)}"


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
        threshold_line(status),
        "",
        budget_bar(percent),
    ]


def request_budget_button(org_id: int) -> ButtonElement:
    """Request more budget: opens the request modal (managers and admins; members are told why not)."""
    return ButtonElement(text="Request more budget", action_id=REQUEST_MORE_BUDGET, value=budget_button_value(org_id))


def render_budget_card(status: BudgetStatus, org_name: str, settings_url: str,
                       request_org_id: int | None = None) -> Message:
    """Budget Status: limit, spend, remaining, threshold and the coloured bar; or how to set a budget.

    request_org_id (given when the viewer may ask for more budget) adds the Request more budget button.
    """
    title = "Budget Status"
    if not status.monthly_limit_usd:
        text = (f"No monthly budget is set for {org_name}, so there is nothing to measure spend "
                f"({whole_dollars(status.spent_usd)} so far in {status.period.label}) against. "
                f"An admin can set one in Toktra under <{settings_url}|Settings>, or with `PUT /api/v1/budget`.")
        return _message(f"{title}\n{text}", [header(title), section(text)])
    lines = budget_lines(status)
    footer = f"{org_name} · {status.period.label}"
    if status.forecast is not None:
        footer += f" · {status.forecast.in_words()} (median of the last 7 days' spend)"
    if status.period_extra_usd:
        footer += f" · the limit includes {whole_dollars(status.period_extra_usd)} approved for {status.period.label} only"
    blocks = [header(title), _code(lines), context(footer)]
    if request_org_id is not None:
        blocks.append(ActionsBlock(block_id="budget-actions", elements=[request_budget_button(request_org_id)]))
    return _message("\n".join([title, *lines]), blocks)


def render_living_budget_card(status: BudgetStatus, org_name: str, settings_url: str, org_id: int,
                              updated_at, tz: str) -> Message:
    """The budget channel's card: the budget card, when it was last brought up to date, and once spend has
    passed the first threshold a "Request more budget…" button."""
    text, blocks = render_budget_card(status, org_name, settings_url)
    blocks.append(context(f"Kept up to date by Toktra · last updated {slack_time(updated_at, tz)}").to_dict())
    if status.percent_used is not None and status.percent_used >= status.thresholds[0]:
        blocks.append(ActionsBlock(block_id="budget-actions", elements=[request_budget_button(org_id)]).to_dict())
    return text, blocks


def render_budget_reply(threshold: int, crossed_at, status: BudgetStatus, tz: str) -> Message:
    """A crossing told in the budget card's thread: a threshold (its share of the limit) or, for 0, the forecast."""
    limit = status.monthly_limit_usd
    if threshold == 0:
        forecast = status.forecast
        if forecast is not None and forecast.exceeds_on is not None:
            text = (f"📈 Projected to exceed the budget on {forecast.exceeds_on.day} {forecast.exceeds_on:%b} "
                    f"({forecast.in_words()}).")
        else:
            text = f"📈 Was projected to exceed the budget ({slack_time(crossed_at, tz)}); the pace has slowed since."
    elif threshold >= 100:
        text = f"🔴 Crossed the monthly budget ({whole_dollars(limit)}) at {slack_time(crossed_at, tz)}." if limit \
            else f"🔴 Crossed the monthly budget at {slack_time(crossed_at, tz)}."
    else:
        amount = f": {whole_dollars(limit * threshold / 100)} of {whole_dollars(limit)}" if limit else ""
        text = f"{budget_colour(Decimal(threshold))} Crossed {threshold}% of the monthly budget{amount}, at " \
               f"{slack_time(crossed_at, tz)}."
    return _message(text, [section(text)])


# --- /toktra-alerts ----------------------------------------------------------------------------

def alert_blocks(alert: Alert, tz: str, can_ticket: bool, query: str | None = None, page: int = 0) -> list:
    """One alert: what fired, about whom, when, its status and tickets, and its buttons.

    query and page (canonical /toktra-alerts arguments and the message's index, for lists) ride in the button
    value so a click can re-render the message it came from; they never decide who may act.
    """
    emoji = SEVERITY_EMOJI[alert.severity]
    summary = f"{emoji} *{alert.severity.capitalize()}* · *{clip(alert.policy, 200)}*\n{clip(alert.title, 500)}"
    if alert.details:
        summary += f"\n>{clip(alert.details, 1500)}"
    person = alert.subject_user.name if alert.subject_user else "—"
    if alert.status == "acknowledged":
        by = alert.acknowledged_by.name if alert.acknowledged_by else "someone"
        status = f"✅ Acknowledged by {by} at {slack_time(alert.acknowledged_at, tz)}"
        if alert.ack_reason:
            status += f" ({ACK_REASONS.get(alert.ack_reason, alert.ack_reason)}"
            status += f": “{clip(alert.ack_note, 500)}”)" if alert.ack_note else ")"
    elif alert.status == "resolved":
        by = alert.resolved_by.name if alert.resolved_by else "Toktra"
        status = f"☑️ Resolved by {by} at {slack_time(alert.resolved_at, tz)}"
    else:
        status = "Open"
    if alert.snoozed(utcnow()):
        status += f" · 💤 Snoozed until {slack_time(alert.snoozed_until, tz)}"
    tickets = [ticket_fact(t) for t in alert.tickets]
    facts = [f"Person: {person}", f"Fired: {slack_time(alert.fired_at, tz)}", f"Status: {status}", *tickets]
    blocks = [section(summary, block_id=f"alert-{alert.id}"), context(" · ".join(facts))]
    value = alert_button_value(alert.id, query, page)
    buttons = []
    if alert.status == "open":
        buttons.append(ButtonElement(text="Acknowledge", action_id=ACKNOWLEDGE_ALERT, value=value, style="primary"))
        buttons.append(ButtonElement(text="Acknowledge with reason…", action_id=ACKNOWLEDGE_WITH_REASON, value=value))
    if alert.status == "resolved":
        buttons.append(ButtonElement(text="Reopen", action_id=REOPEN_ALERT, value=value))
    elif any(t.closed for t in alert.tickets):  # its ticket is done: resolving is the likely next step
        buttons.append(ButtonElement(text="Resolve", action_id=RESOLVE_ALERT, value=value, style="primary"))
    else:
        buttons.append(ButtonElement(text="Resolve", action_id=RESOLVE_ALERT, value=value))
    if can_ticket and not alert.tickets:  # an alert with a ticket (its own or carried over) shows that one
        buttons.append(ButtonElement(text="Create ticket", action_id=CREATE_TICKET, value=value))
        buttons.append(ButtonElement(text="Link ticket…", action_id=LINK_TICKET, value=value))
    if alert.status != "resolved":
        buttons.append(OverflowMenuElement(action_id=SNOOZE_ALERT, options=[
            Option(text=f"Snooze {label}", value=snooze_option_value(alert.id, choice, query, page))
            for choice, label in SNOOZE_CHOICES.items()]))
    if is_budget_alert(alert):
        buttons.append(request_budget_button(alert.org_id))
    if buttons:
        blocks.append(ActionsBlock(block_id=f"alert-actions-{alert.id}", elements=buttons))
    return blocks


def is_budget_alert(alert: Alert) -> bool:
    """An alert fired by the budget policy (a threshold crossed, or the forecast passing the limit)."""
    return alert.policy == "Budget" and (alert.dedup_key or "").startswith("budget:")


def ticket_fact(ticket) -> str:
    """Ticket: OPS-123 (linked to its page) and its status as last read, ✅ when the ticket is done."""
    fact = f"Ticket: <{ticket.url}|{plain(clip(ticket.external_key or '', 100))}>"
    if ticket.status:  # the connector's words: never a link or a mention
        fact += f" {'✅ ' if ticket.closed else ''}{plain(clip(ticket.status, 100))}"
    return fact


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
    """The alerts, newest first, split into as many messages as Slack's 50-block limit needs.

    query is the list's canonical /toktra-alerts arguments (AlertsQuery.as_text()), carried by its buttons.
    """
    if not alerts:
        return [notice(heading)]
    pages: list[list] = [[section(heading)]]
    for alert in alerts:
        card = alert_blocks(alert, tz, can_ticket, query, len(pages) - 1)
        if len(pages[-1]) + len(card) > MAX_BLOCKS_PER_MESSAGE:
            pages.append([])
            card = alert_blocks(alert, tz, can_ticket, query, len(pages) - 1)
        pages[-1].extend(card)
    return [_message(heading, blocks) for blocks in pages]
