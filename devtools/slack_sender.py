"""Sends really signed Slack requests (events, slash commands, button clicks) to the app.

Tests pass the Flask test client; a developer or benchmark passes the app's base URL:

    sender = SlackSender("signing-secret", "http://127.0.0.1:5000")
    sender.command("/toktra-usage", user_id="U0001", team_id="T0001")

Answers to commands and clicks go to a response_url on the Slack emulator (by default the one the
README starts on port 3999; pass response_url_base for another), where they can be read back at
GET /_emulator/responses.
"""
from __future__ import annotations

import itertools
import json
import secrets
import time
from urllib.parse import urlencode

import requests
from slack_sdk.signature import SignatureVerifier


DEFAULT_RESPONSE_URL_BASE = "http://127.0.0.1:3999/response_url/"


class SlackSender:
    """Signs bodies with the signing secret and posts them to /slack/events as Slack would."""

    def __init__(self, signing_secret: str, transport, path: str = "/slack/events",
                 response_url_base: str = DEFAULT_RESPONSE_URL_BASE):
        self.verifier = SignatureVerifier(signing_secret)
        self.transport = transport
        self.path = path
        self.response_url_base = response_url_base
        self._numbers = itertools.count(1)

    def new_response_url(self, name: str) -> str:
        """A fresh response_url on the emulator, named after what it answers (command-1, toktra_..._2)."""
        return f"{self.response_url_base}{name.strip('/')}-{next(self._numbers)}"

    def headers(self, body: str, timestamp: int | None = None, content_type: str = "application/json") -> dict:
        """Slack's request headers for body, signed at timestamp (default: now)."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": self.verifier.generate_signature(timestamp=ts, body=body),
        }

    def post(self, body: str, headers: dict):
        """Post a raw body with the given headers; returns the response (test client or requests)."""
        if isinstance(self.transport, str):
            return requests.post(self.transport.rstrip("/") + self.path, data=body.encode(), headers=headers, timeout=10)
        return self.transport.post(self.path, data=body, headers=headers)

    def send_json(self, payload: dict, timestamp: int | None = None, extra_headers: dict | None = None):
        """Post a JSON payload (Events API), signed."""
        body = json.dumps(payload)
        return self.post(body, {**self.headers(body, timestamp), **(extra_headers or {})})

    def send_form(self, fields: dict, timestamp: int | None = None, extra_headers: dict | None = None):
        """Post form fields (slash commands, interactivity), signed."""
        body = urlencode(fields)
        headers = self.headers(body, timestamp, "application/x-www-form-urlencoded")
        return self.post(body, {**headers, **(extra_headers or {})})

    def event(self, event: dict, team_id: str = "T0001", event_id: str | None = None,
              enterprise_id: str | None = None, **options):
        """Send an Events API event_callback wrapping event."""
        payload = {
            "token": "legacy-verification-token",
            "team_id": team_id,
            "enterprise_id": enterprise_id,
            "api_app_id": "A0001",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{secrets.token_hex(6).upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team_id, "user_id": "UBOT", "is_bot": True, "enterprise_id": enterprise_id}],
        }
        return self.send_json(payload, **options)

    def command(self, command: str, text: str = "", user_id: str = "U0001", team_id: str = "T0001",
                response_url: str | None = None, channel_id: str = "C0001",
                trigger_id: str | None = None, channel_name: str = "general", **options):
        """Send a slash command as Slack does (form-encoded)."""
        fields = {
            "token": "legacy-verification-token", "team_id": team_id, "team_domain": "acme",
            "channel_id": channel_id, "channel_name": channel_name, "user_id": user_id,
            "user_name": user_id.lower(), "command": command, "text": text, "api_app_id": "A0001",
            "is_enterprise_install": "false", "response_url": response_url or self.new_response_url(command),
            "trigger_id": trigger_id or f"{time.time_ns()}.{secrets.token_hex(4)}",
        }
        return self.send_form(fields, **options)

    def action(self, action_id: str, value: str = "", user_id: str = "U0001", team_id: str = "T0001",
               response_url: str | None = None, channel_id: str = "C0001",
               message_ts: str = "1700000000.000100", is_ephemeral: bool = False, action_ts: str | None = None,
               state: dict | None = None, block_id: str = "b", message: dict | None = None,
               channel_name: str = "alerts", trigger_id: str | None = None, selected_option: dict | None = None,
               **options):
        """Send a block_actions click on a button, as Slack does (form field `payload`).

        message is the clicked message as Slack includes it (not for ephemeral messages).
        """
        payload = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
            "api_app_id": "A0001",
            "token": "legacy-verification-token",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                          "is_ephemeral": is_ephemeral},
            "trigger_id": trigger_id or f"{time.time_ns()}.{secrets.token_hex(4)}",
            "team": {"id": team_id, "domain": "acme"},
            "channel": {"id": channel_id, "name": channel_name},
            "message": message or {"ts": message_ts, "type": "message"},
            "response_url": response_url or self.new_response_url(action_id),
            "actions": [{"action_id": action_id, "block_id": block_id, "value": value, "type": "button",
                         "action_ts": action_ts or f"{time.time():.6f}"}],
        }
        if selected_option is not None:  # an overflow menu: the chosen option instead of a value
            payload["actions"][0] = {"action_id": action_id, "block_id": block_id, "type": "overflow",
                                     "selected_option": selected_option,
                                     "action_ts": payload["actions"][0]["action_ts"]}
        if state is not None:  # values typed into the message's input blocks
            payload["state"] = {"values": state}
        return self.send_form({"payload": json.dumps(payload)}, **options)

    def choose(self, action_id: str, option: dict, **kwargs):
        """Choose an option of an overflow menu (e.g. Snooze on an alert card), as Slack sends it: option is the
        menu's option as the app sent it ({"text": ..., "value": ...}); the other arguments are action()'s."""
        return self.action(action_id, selected_option=option, **kwargs)

    def view_action(self, action_id: str, value: str, view: dict, user_id: str = "U0001", team_id: str = "T0001",
                    block_id: str = "b", state: dict | None = None, trigger_id: str | None = None,
                    selected_option: dict | None = None, **options):
        """A click on a button of a view (the App Home tab): block_actions with a view container and no response_url."""
        payload = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
            "api_app_id": "A0001",
            "token": "legacy-verification-token",
            "container": {"type": "view", "view_id": view.get("id", "")},
            "trigger_id": trigger_id or f"{time.time_ns()}.{secrets.token_hex(4)}",
            "team": {"id": team_id, "domain": "acme"},
            "view": {**view, "state": {"values": state or {}}},
            "actions": [{"action_id": action_id, "block_id": block_id, "value": value, "type": "button",
                         "action_ts": f"{time.time():.6f}"}],
        }
        if selected_option is not None:  # an overflow menu of the view
            payload["actions"][0] = {"action_id": action_id, "block_id": block_id, "type": "overflow",
                                     "selected_option": selected_option,
                                     "action_ts": payload["actions"][0]["action_ts"]}
        return self.send_form({"payload": json.dumps(payload)}, **options)

    def view_submission(self, view: dict, values: dict, user_id: str = "U0001", team_id: str = "T0001",
                        **options):
        """Submit a modal the app opened (as the emulator holds it), with the values typed into its inputs:
        values = {block_id: {action_id: {"type": "plain_text_input", "value": "..."}}}."""
        payload = {
            "type": "view_submission",
            "team": {"id": team_id, "domain": "acme"},
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
            "api_app_id": "A0001",
            "token": "legacy-verification-token",
            "trigger_id": f"{time.time_ns()}.{secrets.token_hex(4)}",
            "view": {**view, "state": {"values": values}},
            "response_urls": [],
        }
        return self.send_form({"payload": json.dumps(payload)}, **options)
