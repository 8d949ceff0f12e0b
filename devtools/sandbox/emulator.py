"""The Slack emulator plus what a Slack client adds: people typing, clicking and reading.

SandboxEmulator keeps the emulator's Web API untouched and adds the client side: user messages and
slash commands typed into the page, button clicks, each sent to the app as a really signed request
(devtools.slack_sender), and the effects of the app's response_url posts (ephemeral answers,
replace_original, delete_original) on the conversation they belong to.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import itertools
import json
import re
import secrets
from html import escape
from dataclasses import dataclass
from typing import Any

import requests

from devtools.sandbox.blocks import render_blocks, render_message
from devtools.sandbox.mrkdwn import to_html
from devtools.sandbox.workspace import CHANNELS, TEAM_ID, USERS, load_demo_workspace
from devtools.slack_emulator import SlackEmulator
from devtools.slack_sender import SlackSender

SLACKBOT = "USLACKBOT"
HOME = "home"  # the sidebar's Toktra app: its Home tab
COMMANDS = ("/toktra-usage", "/toktra-budget", "/toktra-alerts")
MENTION = re.compile(r"@toktra\b", re.I)


class SandboxInputError(ValueError):
    """A request from the page that cannot be carried out; str() says what is wrong."""


@dataclass
class ResponseContext:
    """Where a response_url's posts land: the conversation and user it was issued to, and the clicked message."""

    channel: str
    user: str
    message_ts: str | None = None
    ephemeral: bool = False


class SandboxEmulator(SlackEmulator):
    """An emulator with the demo workspace, forwarding the page's actions to the app as Slack would."""

    def __init__(self, app_url: str, signing_secret: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.app_url = app_url.rstrip("/")
        self.sender = SlackSender(signing_secret, self.app_url)
        self._contexts: dict[str, ResponseContext] = {}
        self._sequence = itertools.count(1)
        self._trigger_users: dict[str, str] = {}  # trigger_id of a click -> who clicked (whose modal it opens)
        self._closed_modals: set[str] = set()
        self.team = load_demo_workspace(self)
        for user in USERS:  # everyone has a DM with Toktra, as after installing the app
            self._open_im(self.team, self._users[user.id])

    def start(self) -> "SandboxEmulator":
        """Serve the Web API and the sandbox's page and endpoints."""
        from devtools.sandbox.server import SandboxHandler  # the handler module imports this one

        self.handler_class = SandboxHandler
        return super().start()

    # ----------------------------------------------------------------- the page's actions

    def _user(self, user_id: str):
        user = self._users.get(user_id or "")
        if user is None or user.is_bot:
            raise SandboxInputError(f"unknown user {user_id!r}; choose one of {', '.join(u.id for u in USERS)}")
        return user

    def _conversation(self, channel_id: str, user_id: str):
        channel = self._channels.get(channel_id or "")
        if channel is None or (channel.is_im and channel.user != user_id):
            raise SandboxInputError(f"unknown conversation {channel_id!r} for {user_id}")
        return channel

    def _response_url(self, context: ResponseContext) -> str:
        name = f"sandbox-{next(self._sequence)}"
        with self._lock:
            self._contexts[name] = context
        return self.response_url(name)

    def _add_ephemeral(self, channel: str, to_user: str, text: str, author: str = SLACKBOT, **extra: Any) -> None:
        with self._lock:
            message = {"type": "message", "ts": self._new_ts(), "text": text, "user": author, "to_user": to_user,
                       "channel": channel, **extra}
            self._ephemeral.setdefault(channel, []).append(message)

    def _app_answered(self, response: requests.Response | None, channel: str, user: str, what: str) -> None:
        """Show what Slack shows for an app's HTTP answer: its ack text, or that it failed."""
        if response is None:
            self._add_ephemeral(channel, user, f"{what} failed: Toktra's app at {self.app_url} did not answer. "
                                               "Is it running?")
        elif response.status_code != 200:
            self._add_ephemeral(channel, user, f"{what} failed with the error \"http_{response.status_code}\".")
        elif response.content:
            try:
                body = response.json()
            except ValueError:
                body = {"text": response.text}
            if isinstance(body, dict) and (body.get("text") or body.get("blocks")):
                self._add_ephemeral(channel, user, body.get("text", ""), author=self.team.bot_user_id,
                                    blocks=body.get("blocks"))

    def _forward(self, send, *args: Any, **kwargs: Any) -> requests.Response | None:
        try:
            return send(*args, **kwargs)
        except requests.RequestException:
            return None

    def send_text(self, user_id: str, channel_id: str, text: str) -> None:
        """What a person types into the message box: a slash command, or a message (with @Toktra, a mention)."""
        user = self._user(user_id)
        channel = self._conversation(channel_id, user.id)
        text = (text or "").strip()
        if not text:
            raise SandboxInputError("type a message or a command such as /toktra-budget")
        if text.startswith("/"):
            return self._command(user.id, channel.id, text)
        mentioned = bool(MENTION.search(text))
        slack_text = MENTION.sub(f"<@{self.team.bot_user_id}>", text)
        with self._lock:
            message = {"type": "message", "ts": self._new_ts(), "text": slack_text, "user": user.id,
                       "team": TEAM_ID, "channel": channel.id}
            self._messages[channel.id].append(message)
        if channel.is_im:  # like an app without a Messages tab: Toktra reads no DMs
            self._add_ephemeral(channel.id, user.id, "Toktra doesn't read direct messages. Use its commands here "
                                                     "instead: " + ", ".join(f"`{c}`" for c in COMMANDS) + ".")
        elif mentioned:
            event = {"type": "app_mention", "user": user.id, "text": slack_text, "ts": message["ts"],
                     "channel": channel.id, "event_ts": message["ts"]}
            response = self._forward(self.sender.event, event, team_id=TEAM_ID)
            self._app_answered(response, channel.id, user.id, "Mentioning @Toktra")

    def _command(self, user_id: str, channel_id: str, text: str) -> None:
        command, _, arguments = text.partition(" ")
        self._add_ephemeral(channel_id, user_id, text, author=user_id, sandbox_kind="command")
        if command not in COMMANDS:
            self._add_ephemeral(channel_id, user_id, f"`{command}` is not a valid command. Toktra's commands are "
                                                     + ", ".join(f"`{c}`" for c in COMMANDS) + ".")
            return
        channel = self._channels[channel_id]
        response_url = self._response_url(ResponseContext(channel_id, user_id))
        response = self._forward(self.sender.command, command, arguments.strip(), user_id=user_id, team_id=TEAM_ID,
                                 channel_id=channel_id, response_url=response_url,
                                 channel_name="directmessage" if channel.is_im else channel.name)
        self._app_answered(response, channel_id, user_id, f"`{command}`")

    def open_home(self, user_id: str) -> None:
        """The person opened Toktra's Home tab: Slack's app_home_opened event (the app publishes the view)."""
        user = self._user(user_id)
        response = self._forward(self.sender.event, {"type": "app_home_opened", "user": user.id, "tab": "home",
                                                     "channel": f"D{user.id[1:]}", "event_ts": self._new_ts()},
                                 team_id=TEAM_ID)
        if response is None or response.status_code != 200:
            raise SandboxInputError(f"Toktra's app at {self.app_url} did not take the Home tab event. Is it running?")

    def _click_home(self, user, action: dict, state: dict | None, trigger_id: str) -> None:
        view = self.home_view(user.id, TEAM_ID)
        if view is None:
            raise SandboxInputError("Toktra has not published a Home tab for you yet")
        response = self._forward(self.sender.view_action, str(action.get("action_id", "")),
                                 str(action.get("value", "")), view, user_id=user.id, team_id=TEAM_ID,
                                 block_id=str(action.get("block_id", "")), state=state, trigger_id=trigger_id,
                                 selected_option=_chosen(action))
        if response is None or response.status_code != 200:
            raise SandboxInputError("Toktra did not take that click (is the app running?)")

    def click(self, user_id: str, channel_id: str, message_ts: str, action: dict, state: dict | None = None) -> None:
        """A click on a button of a message (or of the Home tab): a signed block_actions payload, with input values."""
        user = self._user(user_id)
        trigger_id = f"{next(self._sequence)}.{secrets.token_hex(6)}"
        with self._lock:
            self._trigger_users[trigger_id] = user.id
        if channel_id == HOME:
            return self._click_home(user, action, state, trigger_id)
        channel = self._conversation(channel_id, user.id)
        with self._lock:
            message = self._find(channel.id, message_ts, user.id)
            if message is None:
                raise SandboxInputError(f"no message {message_ts!r} in {channel_id} (was it deleted?)")
            ephemeral = "to_user" in message
            message = copy.deepcopy(message)
        response_url = self._response_url(ResponseContext(channel.id, user.id, message_ts, ephemeral))
        response = self._forward(
            self.sender.action, str(action.get("action_id", "")), str(action.get("value", "")), user_id=user.id,
            team_id=TEAM_ID, channel_id=channel.id, message_ts=message_ts, is_ephemeral=ephemeral,
            response_url=response_url, state=state or None, block_id=str(action.get("block_id", "")),
            trigger_id=trigger_id, selected_option=_chosen(action),
            message=None if ephemeral else {k: v for k, v in message.items() if v is not None},
            channel_name="directmessage" if channel.is_im else channel.name)
        self._app_answered(response, channel.id, user.id, "That click")

    def open_modal(self, user_id: str) -> dict | None:
        """The modal the app opened for this person's latest click that is still open, if any."""
        with self._lock:
            mine = [m for m in self._modals.values()
                    if self._trigger_users.get(m.get("trigger_id")) == user_id and m["id"] not in self._closed_modals]
            return copy.deepcopy(mine[-1]) if mine else None

    def submit_modal(self, user_id: str, view_id: str, state: dict) -> dict:
        """Submit a modal with the values typed into it; {"errors": {...}} when the app refuses them."""
        user = self._user(user_id)
        modal = self.open_modal(user.id)
        if modal is None or modal["id"] != view_id:
            raise SandboxInputError(f"no open modal {view_id!r} for {user.id}")
        response = self._forward(self.sender.view_submission, modal, state, user_id=user.id, team_id=TEAM_ID)
        if response is None or response.status_code != 200:
            raise SandboxInputError("Toktra did not accept the form (is the app running?)")
        answer = response.json() if response.content else {}
        if isinstance(answer, dict) and answer.get("response_action") == "errors":
            return {"errors": answer.get("errors") or {}}
        self.close_modal(user.id, view_id)
        return {"ok": True}

    def close_modal(self, user_id: str, view_id: str) -> None:
        """The person closed (or submitted) the modal."""
        with self._lock:
            self._closed_modals.add(view_id)

    def _find(self, channel_id: str, ts: str, user_id: str | None = None) -> dict | None:
        for message in self._messages.get(channel_id, []):
            if message["ts"] == ts:
                return message
        for message in self._ephemeral.get(channel_id, []):
            if message["ts"] == ts and user_id in (None, message.get("to_user")):
                return message
        return None

    # ----------------------------------------------------------------- response_url effects

    def _handle_response_url(self, name: str, raw: bytes) -> tuple[int, dict, Any]:
        """Record the post as the emulator does, then apply it to the conversation it belongs to."""
        status, headers, body = super()._handle_response_url(name, raw)
        context = self._contexts.get(name)
        if status == 200 and context is not None:
            self._apply_response(context, json.loads(raw or b"{}"))
        return status, headers, body

    def _apply_response(self, context: ResponseContext, payload: dict) -> None:
        with self._lock:
            original = self._find(context.channel, context.message_ts, context.user) if context.message_ts else None
            if payload.get("delete_original") and original is not None:
                where = self._ephemeral if "to_user" in original else self._messages
                where[context.channel].remove(original)
                return
            if payload.get("replace_original") and original is not None:
                for key in ("text", "blocks", "attachments"):
                    original[key] = payload.get(key)
                original["edited"] = {"user": self.team.bot_user_id, "ts": self._new_ts()}
                return
            message = self._message(self.team, self._channels[context.channel], payload)
            if payload.get("response_type") == "in_channel":
                self._messages[context.channel].append(message)
            else:
                message["to_user"] = context.user
                self._ephemeral.setdefault(context.channel, []).append(message)

    # ----------------------------------------------------------------- what the page shows

    def user_name(self, user_id: str) -> str | None:
        """A user's display name (for <@U...> mentions)."""
        user = self._users.get(user_id)
        return None if user is None else ("Toktra" if user.is_bot else user.real_name)

    def channel_name(self, channel_id: str) -> str | None:
        """A channel's name (for <#C...> mentions)."""
        channel = self._channels.get(channel_id)
        return None if channel is None or channel.is_im else channel.name

    def view(self, user_id: str, channel_id: str | None) -> dict:
        """Everything the page shows to one person: the sidebar, the open conversation's messages as HTML."""
        user = self._user(user_id)
        with self._lock:
            conversations = self._sidebar(user.id)
            ids = [c["id"] for c in conversations]
            if channel_id == HOME:
                return self._home_page(user, conversations)
            current = channel_id if channel_id in ids else ids[0]
            if channel_id not in ids and channel_id in self._channels and self._channels[channel_id].is_im:
                current = next(c["id"] for c in conversations if c["kind"] == "im")  # another person's DM: yours
            channel = self._channels[current]
            messages = self._visible_messages(current, user.id)
            html = self._messages_html(messages)
            topic = next((c.topic for c in CHANNELS if c.id == current), "")
        view = {
            "me": user.id,
            "people": [{"id": u.id, "name": u.name, "role": u.role, "email": u.email} for u in USERS],
            "conversations": conversations,
            "conversation": {"id": current, "name": "Toktra" if channel.is_im else channel.name,
                             "kind": "im" if channel.is_im else "channel", "topic": topic},
            "html": html,
            "modal": self._modal_json(user.id),
        }
        view["version"] = hashlib.sha1(json.dumps(view, sort_keys=True).encode()).hexdigest()
        return view

    def _home_page(self, user, conversations: list[dict]) -> dict:
        home = self.home_view(user.id, TEAM_ID)
        if home is None:
            html = '<div class="empty">Toktra is preparing your Home tab…</div>'
        else:
            html = f'<div class="msg home" data-ts="{HOME}">{render_blocks(home.get("blocks") or [], self)}</div>'
        view = {"me": user.id, "people": [{"id": u.id, "name": u.name, "role": u.role, "email": u.email} for u in USERS],
                "conversations": conversations,
                "conversation": {"id": HOME, "name": "Toktra", "kind": HOME, "topic": "Home"},
                "html": html, "modal": self._modal_json(user.id)}
        view["version"] = hashlib.sha1(json.dumps(view, sort_keys=True).encode()).hexdigest()
        return view

    def _modal_json(self, user_id: str) -> dict | None:
        modal = self.open_modal(user_id)
        if modal is None:
            return None
        text = lambda name: (modal.get(name) or {}).get("text", "")  # noqa: E731 - a tiny local accessor
        return {"id": modal["id"], "title": text("title"), "submit": text("submit"), "close": text("close") or "Cancel",
                "html": render_blocks(modal.get("blocks") or [], self)}

    def _sidebar(self, user_id: str) -> list[dict]:
        items = []
        for channel in self._channels.values():
            if channel.team_id != TEAM_ID or channel.is_archived or (channel.is_im and channel.user != user_id):
                continue
            messages = self._visible_messages(channel.id, user_id)
            latest = max((m.get("edited", {}).get("ts") or m["ts"] for m in messages), default="")
            items.append({"id": channel.id, "name": "Toktra" if channel.is_im else channel.name,
                          "kind": "im" if channel.is_im else "channel", "latest": latest})
        items.append({"id": HOME, "name": "Toktra (Home)", "kind": HOME, "latest": ""})
        return sorted(items, key=lambda c: (c["kind"] != "channel", c["kind"] == "im", c["name"]))

    def _visible_messages(self, channel_id: str, user_id: str) -> list[dict]:
        own = [m for m in self._ephemeral.get(channel_id, []) if m.get("to_user") == user_id]
        return sorted(self._messages.get(channel_id, []) + own, key=lambda m: m["ts"])

    def _messages_html(self, messages: list[dict]) -> str:
        replies: dict[str, list[dict]] = {}
        top = []
        known = {m["ts"] for m in messages}
        for message in messages:
            parent = message.get("thread_ts")
            if parent and parent != message["ts"] and parent in known:
                replies.setdefault(parent, []).append(message)
                if message.get("reply_broadcast"):  # "also sent to the channel"
                    top.append(message)
            else:
                top.append(message)
        out = []
        for message in top:
            thread = replies.get(message["ts"], [])
            inner = "".join(self._message_html(reply) for reply in thread)
            count = f"{len(thread)} repl{'y' if len(thread) == 1 else 'ies'}"
            out.append(self._message_html(message, f'<details class="thread" open><summary>{count}</summary>'
                                                   f"{inner}</details>" if thread else ""))
        if not out:
            return '<div class="empty">No messages here yet.</div>'
        return "".join(out)

    def _message_html(self, message: dict, thread: str = "") -> str:
        author_id = message.get("user", "")
        is_bot = author_id == self.team.bot_user_id or "bot_id" in message
        ephemeral = "to_user" in message
        if message.get("sandbox_kind") == "command":
            return (f'<div class="msg command-echo" data-ts="{escape(message["ts"])}">'
                    f'<span class="you-used">You used</span> <code>{escape(message["text"])}</code></div>')
        name = "Toktra" if is_bot else ("Slackbot" if author_id == SLACKBOT else self.user_name(author_id) or author_id)
        badge = '<span class="app-badge">APP</span>' if is_bot else ""
        initials = "".join(part[0] for part in name.split()[:2]).upper()
        avatar_class = "avatar bot" if is_bot or author_id == SLACKBOT else "avatar"
        classes = "msg" + (" ephemeral" if ephemeral else "")
        note = ('<div class="only-you">👁 Only visible to you</div>' if ephemeral else "")
        edited = ' <span class="edited">(edited)</span>' if message.get("edited") else ""
        body = render_message(message, self) if (message.get("blocks") or message.get("attachments")) else (
            f'<div class="bk-text">{to_html(message.get("text", ""), self)}</div>')
        clock = _clock(message["ts"])
        return (f'<div class="{classes}" data-ts="{escape(message["ts"])}" data-ephemeral="{str(ephemeral).lower()}">'
                f'<div class="{avatar_class}">{escape(initials)}</div><div class="msg-main">{note}'
                f'<div class="msg-head"><span class="author">{escape(name)}</span>{badge}'
                f'<span class="time">{clock}</span>{edited}</div>'
                f'<div class="msg-body">{body}</div>{thread}</div></div>')


def _clock(ts: str) -> str:
    """A message's time of day, as the sidebar of a Slack client shows it."""
    return dt.datetime.fromtimestamp(float(ts), dt.timezone.utc).strftime("%H:%M UTC")


def _chosen(action: dict) -> dict | None:
    """The option chosen in an overflow menu (a click on a menu rather than a button), if it is one."""
    option = action.get("selected_option")
    if not isinstance(option, dict) or not isinstance(option.get("value"), str):
        return None
    return {"value": option["value"], "text": {"type": "plain_text", "text": str((option.get("text") or {}).get("text", ""))}}
