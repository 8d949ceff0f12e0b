"""The Slack app manifest, generated from the code (commands, events, scopes, URLs) so it cannot drift."""
from __future__ import annotations

import json
from urllib.parse import quote

import yaml

from app.slack.actions import BUTTONS, COMMANDS, EVENTS
from app.slack.help import COMMAND_HELP
from app.slack.ingress.oauth import CALLBACK_PATH, DEFAULT_SCOPES

APP_NAME = "Toktra"
APP_DESCRIPTION = "LLM usage, budgets and policy alerts for your team, in Slack."
APP_LONG_DESCRIPTION = (
    "Toktra watches how your company's people use LLM providers: tokens, cost, budgets and policy-violation "
    "alerts. Check your own usage and the organization's budget with /toktra-usage and /toktra-budget, list "
    "alerts with /toktra-alerts and acknowledge them or open ServiceNow/Jira tickets with one click, and "
    "approve or reject reimbursement requests from the DM Toktra sends approvers. The Home tab shows your "
    "usage, the budget and whatever waits for you.")
BACKGROUND_COLOR = "#1d3557"
EVENTS_PATH = "/slack/events"
CREATE_APP_URL = "https://api.slack.com/apps?new_app=1&manifest_json="


def manifest_scopes(config) -> list[str]:
    """The spec's bot scopes, then any extra ones the operator added with SLACK_SCOPES."""
    extra = [s.strip() for s in (config.get("SLACK_SCOPES") or "").split(",") if s.strip()]
    return DEFAULT_SCOPES + [s for s in dict.fromkeys(extra) if s not in DEFAULT_SCOPES]


def build_manifest(config, socket_mode: bool = False) -> dict:
    """The manifest for this deployment: its public URL, scopes and token rotation; Socket Mode without URLs."""
    base = config["PUBLIC_BASE_URL"].rstrip("/")
    events_url = None if socket_mode else base + EVENTS_PATH

    def with_url(entry: dict) -> dict:
        return {**entry, "url": events_url} if events_url else entry

    commands = []
    for name in COMMANDS:
        info = COMMAND_HELP[name]
        command = {"command": name, "description": info.description, "should_escape": False}
        if info.usage_hint:
            command["usage_hint"] = info.usage_hint
        commands.append(with_url(command))
    events = {"bot_events": list(EVENTS)}
    interactivity = {"is_enabled": bool(BUTTONS)}
    if events_url:
        events["request_url"] = events_url
        interactivity["request_url"] = events_url
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {"name": APP_NAME, "description": APP_DESCRIPTION,
                                "long_description": APP_LONG_DESCRIPTION, "background_color": BACKGROUND_COLOR},
        "features": {
            # Without the Messages tab, approvers' DMs are refused: "Sending messages to this app has been turned off".
            "app_home": {"home_tab_enabled": "app_home_opened" in EVENTS, "messages_tab_enabled": True,
                         "messages_tab_read_only_enabled": False},
            "bot_user": {"display_name": APP_NAME, "always_online": True},
            "slash_commands": commands,
        },
        "oauth_config": {"redirect_urls": [base + CALLBACK_PATH], "scopes": {"bot": manifest_scopes(config)}},
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": bool(config.get("SLACK_TOKEN_ROTATION")),
        },
    }


def manifest_json(manifest: dict, indent: int | None = 2) -> str:
    """The manifest as JSON (what Slack's "From an app manifest" accepts)."""
    return json.dumps(manifest, indent=indent, ensure_ascii=False)


def manifest_yaml(manifest: dict) -> str:
    """The manifest as YAML, in the manifest's own key order."""
    return yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100)


def create_app_link(manifest: dict) -> str:
    """Slack's "Create New App" page with the manifest filled in."""
    return CREATE_APP_URL + quote(manifest_json(manifest, indent=None), safe="")
