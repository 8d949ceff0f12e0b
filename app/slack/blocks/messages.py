"""Block Kit builders (pure functions of loaded data) for Slack messages."""
from __future__ import annotations

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from app.slack.help import COMMAND_HELP, commands_overview


def render_mention_help() -> tuple[str, list[dict]]:
    """The thread reply to @Toktra (and `@Toktra help`): what the app does, its commands, arguments, examples."""
    text = "Toktra keeps an eye on your team's LLM usage: tokens, cost, budgets and policy alerts."
    examples = " · ".join(f"`{example}`" for entry in COMMAND_HELP.values() for example in entry.examples[1:] or
                          entry.examples)
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=f":wave: {text}")),
        SectionBlock(text=MarkdownTextObject(text=f"*Commands*\n{commands_overview()}")),
        SectionBlock(text=MarkdownTextObject(text=f"*Examples*\n{examples}")),
        ContextBlock(elements=[MarkdownTextObject(
            text="Add `help` to any command (e.g. `/toktra-alerts help`) for its arguments. Security alerts arrive "
                 "in the channels your admins chose; reimbursement requests come to approvers by DM; "
                 "the Toktra app's Home tab shows your usage, the budget and what waits for you.")]),
    ]
    return text, [b.to_dict() for b in blocks]
