"""What each slash command does, takes and looks like in use: one source for help answers and the manifest."""
from __future__ import annotations

from dataclasses import dataclass

from app.slack.actions import ALERTS_COMMAND, BUDGET_COMMAND, USAGE_COMMAND

HELP_WORDS = ("help", "-h", "--help", "?")


@dataclass(frozen=True)
class CommandHelp:
    """A slash command as Slack's manifest and our help answers describe it."""

    command: str
    description: str  # Slack shows at most 100 characters in its autocomplete
    usage_hint: str
    arguments: tuple[tuple[str, str], ...]
    examples: tuple[str, ...]


COMMAND_HELP = {
    USAGE_COMMAND: CommandHelp(
        USAGE_COMMAND, "Your LLM token usage and cost this billing period",
        "[someone@company.com]",
        (("(nothing)", "your own usage this billing period, by provider"),
         ("`someone@company.com`", "that person's usage (Toktra admins only)")),
        ("/toktra-usage", "/toktra-usage alice@company.com")),
    BUDGET_COMMAND: CommandHelp(
        BUDGET_COMMAND, "The organization's monthly budget: spent, remaining, threshold",
        "",
        (("(nothing)", "the budget card with its coloured bar; it takes no arguments"),),
        ("/toktra-budget",)),
    ALERTS_COMMAND: CommandHelp(
        ALERTS_COMMAND, "Recent policy-violation alerts, with Acknowledge, Resolve, Snooze and Create ticket",
        "[severity:low|medium|high|critical] [status:open|acknowledged|resolved|all] [limit:1-50]",
        (("`severity:<level>`", "only alerts of that severity: `low`, `medium`, `high` or `critical`"),
         ("`status:<status>`", "`open`, `acknowledged`, `resolved` or `all` (default: every alert not resolved)"),
         ("`limit:<n>`", "how many alerts to show, 1 to 50 (default 10)")),
        ("/toktra-alerts", "/toktra-alerts severity:high", "/toktra-alerts severity:critical limit:5",
         "/toktra-alerts status:resolved")),
}


def asks_for_help(text: str) -> bool:
    """True when a command's (or a mention's) text is a request for help."""
    return (text or "").strip().lower() in HELP_WORDS


def command_help_text(command: str) -> str:
    """The mrkdwn help for one command: what it does, its arguments and examples."""
    entry = COMMAND_HELP[command]
    lines = [f"*{entry.command}* {entry.usage_hint}".rstrip(), entry.description + ".", "", "*Arguments*"]
    lines += [f"• {name}: {meaning}" for name, meaning in entry.arguments]
    lines += ["", "*Examples*", *(f"• `{example}`" for example in entry.examples),
              "", f"`{entry.command} help` shows this again; `@Toktra help` lists every command."]
    return "\n".join(lines)


def commands_overview() -> str:
    """One line per command with its usage hint, for @Toktra help and the Home tab."""
    return "\n".join(f"• `{c.command}{' ' + c.usage_hint if c.usage_hint else ''}`: {c.description}"
                     for c in COMMAND_HELP.values())

