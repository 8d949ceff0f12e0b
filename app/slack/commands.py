"""The slash commands: argument checks at acknowledgement, and the answers jobs render."""
from __future__ import annotations

from app.models import Organization, User
from app.services.accounts import find_user
from app.services.alerts import has_active_itsm, recent_alerts
from app.services.budget import budget_status
from app.services.usage import usage_summary
from app.slack.blocks import cards
from app.slack.actions import ALERTS_COMMAND, BUDGET_COMMAND, USAGE_COMMAND
from app.slack.arguments import ArgumentError, parse_alerts_args, parse_budget_args, parse_usage_args
from app.slack.blocks.format import echo
from app.slack.help import asks_for_help, command_help_text

PARSERS = {USAGE_COMMAND: parse_usage_args, BUDGET_COMMAND: parse_budget_args, ALERTS_COMMAND: parse_alerts_args}


def check_arguments(command: str, text: str) -> str | None:
    """None when the arguments parse, else the message telling the user what is wrong."""
    if asks_for_help(text):
        return None
    try:
        PARSERS[command](text or "")
    except ArgumentError as exc:
        return str(exc)
    return None


def answer_usage(org: Organization, caller: User, text: str) -> list[cards.Message]:
    """The caller's usage, or (admins) the usage of the person whose email was given."""
    email = parse_usage_args(text)
    person = caller
    if email and email != caller.email.lower():
        if not caller.is_admin:
            return [cards.notice(":no_entry: Only Toktra admins can look up someone else's usage. "
                                 "Use `/toktra-usage` on its own to see yours.")]
        person = find_user(email, org.id)
        if person is None:
            return [cards.notice(f"There is no Toktra user with the email `{echo(email)}` in {org.name}. "
                                 "Check the address, or use `/toktra-usage` for your own usage.")]
    return [cards.render_usage_card(usage_summary(org, person), person.name)]


def answer_budget(org: Organization, caller: User, text: str, settings_url: str) -> list[cards.Message]:
    """The organization's budget card."""
    parse_budget_args(text)
    return [cards.render_budget_card(budget_status(org), org.name, settings_url)]


def answer_alerts(org: Organization, caller: User, text: str) -> list[cards.Message]:
    """The organization's most recent alerts, as cards."""
    query = parse_alerts_args(text)
    alerts = recent_alerts(org, query.severity, query.limit, query.statuses, with_tickets=True)
    scope = f"{query.severity} " if query.severity else ""
    scope += f"{query.status} " if query.status and query.status != "all" else ""
    if alerts:
        heading = f"*Recent {scope}alerts for {org.name}* — the {len(alerts)} most recent, newest first"
    else:
        heading = f"No {scope}alerts for {org.name} yet. :tada:"
    return cards.render_alert_list(alerts, org.timezone, has_active_itsm(org), heading, query.as_text())


def help_answer(command: str, text: str) -> cards.Message | None:
    """The command's help (what it does, its arguments, examples) when text asks for it, else None."""
    if command not in PARSERS or not asks_for_help(text):
        return None
    return cards.notice(command_help_text(command))


def answer_command(org: Organization, caller: User, command: str, text: str, base_url: str) -> list[cards.Message]:
    """The messages that answer a slash command."""
    try:
        if command == USAGE_COMMAND:
            return answer_usage(org, caller, text)
        if command == BUDGET_COMMAND:
            return answer_budget(org, caller, text, f"{base_url}/settings")
        if command == ALERTS_COMMAND:
            return answer_alerts(org, caller, text)
    except ArgumentError as exc:
        return [cards.notice(str(exc))]
    return [cards.notice(f"Toktra does not know the command `{echo(command)}`.")]
