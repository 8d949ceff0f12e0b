"""Block Kit builders (pure functions of loaded data) for Slack messages."""
from __future__ import annotations

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

COMMANDS_HELP = (
    "• `/toktra-usage`: your token usage and cost this billing period (admins: `/toktra-usage someone@company.com`)\n"
    "• `/toktra-budget`: the organization's budget, spend and what remains\n"
    "• `/toktra-alerts [severity:<level>] [limit:<n>]`: recent policy-violation alerts, with Acknowledge buttons"
)


def render_mention_help() -> tuple[str, list[dict]]:
    """The thread reply to @Toktra: what the app does and its commands."""
    text = "Toktra keeps an eye on your team's LLM usage: tokens, cost, budgets and policy alerts."
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=f":wave: {text}")),
        SectionBlock(text=MarkdownTextObject(text=COMMANDS_HELP)),
        ContextBlock(elements=[MarkdownTextObject(
            text="Security alerts arrive in the channels your admins chose; reimbursement requests come to approvers by DM.")]),
    ]
    return text, [b.to_dict() for b in blocks]
