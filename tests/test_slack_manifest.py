"""The Slack app manifest: generated from the code, printed by the CLI, linked from Integrations → Slack."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import yaml

from app.slack.actions import BUTTONS, VIEWS
from app.slack.ingress.bolt_app import build_bolt_app
from app.slack.manifest import build_manifest

SPEC_SCOPES = ["app_mentions:read", "chat:write", "commands", "channels:read", "im:read", "im:write", "users:read",
               "users:read.email"]


def registered(bolt) -> dict[str, set[str]]:
    """What the Bolt app listens to, read from its listeners' matchers: commands, events, actions, views."""
    kinds = {"command": "commands", "event": "events", "action": "actions", "view_submission": "views",
             "view": "views"}
    found: dict[str, set[str]] = {name: set() for name in set(kinds.values())}
    for listener in bolt._listeners:
        for matcher in listener.matchers:
            kind = matcher.func.__qualname__.split(".<locals>")[0]
            values = [c.cell_contents for c in matcher.func.__closure__ or () if isinstance(c.cell_contents, str)]
            assert kind in kinds and len(values) == 1, f"unexpected listener {matcher.func.__qualname__} {values}"
            found[kinds[kind]].add(values[0])
    return found


def test_the_manifest_lists_exactly_what_the_bolt_app_handles(app):
    manifest = build_manifest(app.config)
    listens = registered(build_bolt_app(app))
    assert listens["commands"] == {c["command"] for c in manifest["features"]["slash_commands"]}
    assert listens["events"] == set(manifest["settings"]["event_subscriptions"]["bot_events"])
    # Buttons and modals need interactivity; Slack's manifest has no list of action ids, our code has one.
    assert listens["actions"] == set(BUTTONS)
    assert listens["views"] == set(VIEWS)
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] == ("app_home_opened" in listens["events"])


def test_cli_prints_the_manifest_as_json(runner):
    result = runner.invoke(args=["toktra", "slack-manifest"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.output)
    assert manifest["display_information"]["name"] == "Toktra"
    assert manifest["features"]["bot_user"]["display_name"] == "Toktra"
    assert manifest["oauth_config"]["scopes"]["bot"] == SPEC_SCOPES
    assert manifest["oauth_config"]["redirect_urls"] == ["http://toktra.test/integrations/slack/oauth/callback"]
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {"/toktra-usage", "/toktra-budget", "/toktra-alerts"}
    assert all(c["url"] == "http://toktra.test/slack/events" and c["description"] for c in commands.values())
    assert commands["/toktra-alerts"]["usage_hint"] == ("[severity:low|medium|high|critical] "
                                                        "[status:open|acknowledged|resolved|all] [limit:1-50]")
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["request_url"] == "http://toktra.test/slack/events"
    assert {"app_mention", "app_uninstalled", "tokens_revoked"} <= set(settings["event_subscriptions"]["bot_events"])
    assert settings["interactivity"] == {"is_enabled": True, "request_url": "http://toktra.test/slack/events"}
    # Without the Messages tab Slack refuses approvers' DMs ("Sending messages to this app has been turned off").
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert settings["socket_mode_enabled"] is False and settings["token_rotation_enabled"] is False


def test_cli_socket_mode_yaml_has_no_request_urls(runner, app):
    app.config["SLACK_TOKEN_ROTATION"] = True
    result = runner.invoke(args=["toktra", "slack-manifest", "--socket-mode", "--format", "yaml"])
    assert result.exit_code == 0, result.output
    manifest = yaml.safe_load(result.output)
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True and settings["token_rotation_enabled"] is True
    assert "request_url" not in settings["event_subscriptions"] and "request_url" not in settings["interactivity"]
    assert all("url" not in c for c in manifest["features"]["slash_commands"])


def test_operator_scopes_are_added_to_the_specs(app):
    app.config["SLACK_SCOPES"] = "groups:read, chat:write,groups:read"
    assert build_manifest(app.config)["oauth_config"]["scopes"]["bot"] == SPEC_SCOPES + ["groups:read"]


def test_a_bad_format_is_refused_with_the_choices(runner):
    result = runner.invoke(args=["toktra", "slack-manifest", "--format", "xml"])
    assert result.exit_code == 2
    assert "'xml' is not one of 'json', 'yaml'" in result.output


def test_integrations_page_links_to_create_the_app_from_the_manifest(client, login, admin):
    login(admin)
    html = client.get("/integrations/slack").get_data(as_text=True)
    assert "Create the Slack app from this manifest" in html
    start = html.index('href="https://api.slack.com/apps?new_app=1&amp;manifest_json=')
    href = html[start + 6:html.index('"', start + 6)].replace("&amp;", "&")
    query = parse_qs(urlsplit(href).query)
    assert query["new_app"] == ["1"]
    assert json.loads(query["manifest_json"][0])["settings"]["event_subscriptions"]["request_url"] == \
        "http://toktra.test/slack/events"


def test_members_do_not_see_the_manifest(client, login, member):
    login(member)
    assert "Create the Slack app from this manifest" not in client.get("/integrations/slack").get_data(as_text=True)
