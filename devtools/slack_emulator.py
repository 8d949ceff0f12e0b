"""A local Slack Web API emulator: the Slack peer for tests and for running the app by hand.

It is a real HTTP server on 127.0.0.1 that answers the Web API methods our app uses with Slack's
response shapes, keeps workspaces, users, channels and messages in memory, records every call,
enforces Slack's message limits and can be told to fail (rate limits, channel errors, revoked tokens).

In tests::

    with SlackEmulator() as slack:
        team = slack.add_team("T0001", "Acme")
        slack.add_channel("C0001", "alerts")
        client = WebClient(base_url=slack.url, token=team.bot_token)
        client.chat_postMessage(channel="C0001", text="hi")
        assert slack.messages("C0001")[0]["text"] == "hi"

By hand::

    python -m devtools.slack_emulator --port 3999 --team T0001:Acme \\
        --user U0001:alice@acme.example --channel C0001:alerts

then start the app with ``SLACK_API_URL=http://127.0.0.1:3999/api/`` and the printed bot token
(``SLACK_BOT_TOKEN=...``); with OAuth, use the printed client id/secret and OAuth code. Each call is
logged to stdout with its full payload. response_url posts go to
``http://127.0.0.1:3999/response_url/<name>``. GET ``/_emulator/...`` reads the state back as JSON
(READ_BACK_PATHS). devtools/sandbox adds the demo workspace and a Slack client page on top.

Supported methods: auth.test, oauth.v2.access, chat.postMessage, chat.postEphemeral, chat.update,
conversations.list, conversations.open, users.info, users.lookupByEmail, apps.connections.open,
views.publish (Home tabs, per team and user), views.open and views.update (modals; views.open needs a
trigger_id), each checking Slack's view limits (100 blocks, title 24 characters, the block limits).

Faults for reliability tests: ``fail()`` answers an error (429 with a Retry-After that may be
fractional, 5xx, ``{"ok": false, "error": "internal_error"}``...), ``drop_answers()`` posts the
message and then closes the connection without an answer, ``stall()`` holds calls before handling
them, and ``enforce_channel_rate()`` answers 429 to a second chat.postMessage to a channel within its
interval, as Slack does. Every accepted post keeps its arrival time (``posts()``) and every 429
announces a hold on its channel (``holds()``); a post accepted inside an announced hold is flagged
(``posts_inside_holds()``).
"""
from __future__ import annotations

import argparse
import base64
import binascii
import copy
import json
import math
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote, urlsplit

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100  # modals and Home tabs
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3000
MAX_TEXT = 40_000
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_BLOCK_ID = 255
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 3000
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_PLACEHOLDER = 150
MAX_INPUT_LABEL = 2000
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
JSON_PARAMS = ("blocks", "attachments", "metadata", "view")
NO_TOKEN_METHODS = {"oauth.v2.access"}
APP_TOKEN_METHODS = {"apps.connections.open"}
READ_BACK_PATHS = ["/_emulator/conversations", "/_emulator/users", "/_emulator/messages/<channel id or name>",
                   "/_emulator/responses[/<name>]", "/_emulator/calls[?method=chat.postMessage]",
                   "/_emulator/views[?user=<user id>]"]


class SlackError(Exception):
    """A Slack API error: answered as {"ok": false, "error": ...} plus any extra fields."""

    def __init__(self, error: str, **extra: Any):
        super().__init__(error)
        self.error = error
        self.extra = extra

    def body(self) -> dict:
        """The JSON body Slack would answer."""
        return {"ok": False, "error": self.error, **self.extra}


@dataclass
class Team:
    """A workspace with our app installed."""

    id: str
    name: str
    bot_token: str
    bot_user_id: str
    bot_id: str
    app_id: str
    scope: str
    enterprise_id: str | None = None
    token_rotation: bool = False
    refresh_token: str | None = None
    expires_in: int = 43200
    installer_user_id: str = "U0INSTALLER"


@dataclass
class User:
    """A Slack user."""

    id: str
    name: str
    real_name: str
    email: str | None
    team_id: str | None
    is_bot: bool = False


@dataclass
class Channel:
    """A conversation: public/private channel or IM."""

    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    bot_member: bool = True
    team_id: str | None = None
    is_im: bool = False
    user: str | None = None
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass
class Call:
    """One recorded Web API call (`dropped`: the connection was closed without an answer; status 0: not handled)."""

    method: str
    token: str | None
    params: dict
    time: float
    http_method: str = "POST"
    status: int = 200
    response: dict | None = None
    monotonic: float = 0.0
    dropped: bool = False


@dataclass
class Failure:
    """An injected failure for the next `remaining` calls of a method (None = until cleared).

    kind "answer" answers `status` with {"ok": false, "error": error} (a 429 carries Retry-After);
    "drop" handles the call, then closes the connection without an answer; "stall" holds the call
    `seconds`, then handles it as usual; "stall-then-drop" holds it, then closes the connection
    without handling it.
    """

    method: str
    error: str
    status: int
    retry_after: float | str | None
    channel: str | None
    remaining: int | None
    kind: str = "answer"
    seconds: float = 0.0


@dataclass
class Hold:
    """A 429 on a channel: nothing should be posted there from `start` until `end` (time.monotonic)."""

    channel: str
    start: float
    end: float
    retry_after: str


@dataclass
class Post:
    """A message accepted by chat.postMessage, with when its request arrived (monotonic and wall clock)."""

    channel: str
    ts: str
    text: str
    at: float
    wall: float
    inside_hold: Hold | None = None


class DroppedAnswer(Exception):
    """Raised by the emulator to close a connection without answering (the call was handled)."""


class _RateLimited(SlackError):
    """The channel's rate was exceeded: answered 429 with Retry-After."""

    def __init__(self, retry_after: float | str):
        super().__init__("ratelimited")
        self.retry_after = retry_after


class SlackEmulator:
    """An in-memory Slack Web API served over HTTP on 127.0.0.1."""

    handler_class: type["_Handler"]  # set below the handler's definition; subclasses may extend it

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = "1111.2222",
        client_secret: str = "emulator-client-secret",
        socket_mode_url: str = "ws://127.0.0.1:3011/link",
        log: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.host, self.port = host, port
        self.client_id, self.client_secret = client_id, client_secret
        self.socket_mode_url = socket_mode_url
        self.log = log
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._teams: dict[str, Team] = {}
        self._tokens: dict[str, str] = {}  # bot access token -> team id
        self._app_tokens: set[str] = set()
        self._dead_tokens: dict[str, str] = {}  # token -> token_revoked / token_expired
        self._refresh_tokens: dict[str, str] = {}  # refresh token -> team id
        self._codes: dict[str, tuple[str, str]] = {}  # code -> (team id, installer user id)
        self._users: dict[str, User] = {}
        self._channels: dict[str, Channel] = {}
        self._messages: dict[str, list[dict]] = {}
        self._ephemeral: dict[str, list[dict]] = {}
        self._responses: dict[str, list[dict]] = {}
        self._expired_response_urls: set[str] = set()
        self._home_views: dict[tuple[str, str], dict] = {}  # (team id, user id) -> the published Home tab
        self._modals: dict[str, dict] = {}  # view id -> the open modal (latest version)
        self._calls: list[Call] = []
        self._failures: list[Failure] = []
        self._last_ts_us = 0
        self.clock = clock  # when posts, holds and calls happen (tests may pass their own)
        self._posts: list[Post] = []
        self._held: list[Call] = []  # calls stall() is holding right now
        self._arrival = threading.local()  # .at: when the call this thread handles arrived
        self._holds: dict[str, list[Hold]] = {}
        self._last_post_at: dict[str, float] = {}  # channel id -> time.monotonic() of its last accepted post
        self._rate_interval: float | None = None
        self._rate_retry_after: float | str | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> "SlackEmulator":
        """Bind the server and serve in a daemon thread."""
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), self.handler_class)
        server.emulator = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="slack-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def serve_until_interrupted(self) -> None:
        """Block the calling thread while serving (command-line use); stop on Ctrl+C."""
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> "SlackEmulator":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The Web API base URL, e.g. http://127.0.0.1:3999/ (for WebClient(base_url=...) / SLACK_API_URL)."""
        if self._server is None:
            raise RuntimeError("SlackEmulator is not started")
        return f"http://{self.host}:{self.port}/"

    def response_url(self, name: str) -> str:
        """A response_url on this server; posts to it are recorded under `name`."""
        return f"{self.url}response_url/{name}"

    def expire_response_url(self, name: str) -> None:
        """From now on, posts to this response_url are refused as Slack refuses one past its 30 minutes."""
        with self._lock:
            self._expired_response_urls.add(name)

    # ----------------------------------------------------------------- state set-up

    def add_team(
        self,
        team_id: str = "T0001",
        name: str = "Acme",
        bot_token: str | None = None,
        bot_user_id: str | None = None,
        enterprise_id: str | None = None,
        app_id: str = "A0001",
        scope: str = "chat:write,commands,users:read,users:read.email,channels:read,groups:read,im:write",
        token_rotation: bool = False,
    ) -> Team:
        """Add a workspace with the app installed; its bot token becomes valid."""
        with self._lock:
            team = Team(
                id=team_id,
                name=name,
                bot_token=bot_token or f"xoxb-{team_id}-{secrets.token_hex(8)}",
                bot_user_id=bot_user_id or f"U{team_id[1:]}BOT",
                bot_id=f"B{team_id[1:]}BOT",
                app_id=app_id,
                scope=scope,
                enterprise_id=enterprise_id,
                token_rotation=token_rotation,
            )
            self._teams[team_id] = team
            self._tokens[team.bot_token] = team_id
            if token_rotation:
                team.refresh_token = self._new_refresh_token(team_id)
            self._users[team.bot_user_id] = User(
                team.bot_user_id, "toktra", "Toktra", None, team_id, is_bot=True
            )
            return team

    def add_user(
        self,
        user_id: str,
        email: str | None = None,
        name: str | None = None,
        real_name: str | None = None,
        team_id: str | None = None,
    ) -> User:
        """Add a user (team defaults to the first workspace)."""
        with self._lock:
            name = name or (email.split("@")[0] if email else user_id.lower())
            user = User(user_id, name, real_name or name.title(), email, team_id or self._default_team_id())
            self._users[user_id] = user
            return user

    def add_channel(
        self,
        channel_id: str,
        name: str,
        is_private: bool = False,
        is_archived: bool = False,
        bot_member: bool = True,
        team_id: str | None = None,
    ) -> Channel:
        """Add a channel (team defaults to the first workspace)."""
        with self._lock:
            channel = Channel(channel_id, name, is_private, is_archived, bot_member, team_id or self._default_team_id())
            self._channels[channel_id] = channel
            self._messages.setdefault(channel_id, [])
            return channel

    def add_oauth_code(self, code: str, team_id: str, user_id: str | None = None) -> str:
        """Make `code` exchange (once) via oauth.v2.access for an install of `team_id` by `user_id`."""
        with self._lock:
            self._codes[code] = (team_id, user_id or "U0INSTALLER")
            return code

    def add_app_token(self, token: str | None = None) -> str:
        """Register an app-level token (xapp-...) for apps.connections.open."""
        with self._lock:
            token = token or f"xapp-1-A0001-{secrets.token_hex(8)}"
            self._app_tokens.add(token)
            return token

    def revoke_token(self, token: str) -> None:
        """Make `token` answer token_revoked from now on."""
        with self._lock:
            self._dead_tokens[token] = "token_revoked"

    def expire_token(self, token: str) -> None:
        """Make `token` answer token_expired from now on."""
        with self._lock:
            self._dead_tokens[token] = "token_expired"

    def team(self, team_id: str) -> Team:
        """The workspace `team_id` (its current bot_token, refresh_token...)."""
        with self._lock:
            return self._teams[team_id]

    # ----------------------------------------------------------------- fault injection

    def fail(
        self,
        method: str,
        error: str = "ratelimited",
        status: int | None = None,
        retry_after: float | str | None = 1,
        channel: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Make the next `times` calls of `method` (optionally for one channel) fail with `error`.

        status defaults to 429 for "ratelimited" (with a Retry-After header: 1.5 is sent as "1.5")
        and 200 otherwise; give status=500/503 for a server error. times=None fails until
        clear_failures().
        """
        if status is None:
            status = 429 if error == "ratelimited" else 200
        with self._lock:
            self._failures.append(Failure(method, error, status, retry_after, channel, times))

    def drop_answers(self, method: str = "chat.postMessage", channel: str | None = None, times: int | None = 1) -> None:
        """Handle the next `times` calls (a post is recorded), then close the connection without answering."""
        with self._lock:
            self._failures.append(Failure(method, "", 0, None, channel, times, kind="drop"))

    def stall(self, method: str, seconds: float, channel: str | None = None, times: int | None = 1,
              handle: bool = True) -> None:
        """Hold the next `times` calls `seconds`, then handle them (a post is recorded then) or, with
        handle=False, close the connection unanswered as if the call never reached Slack."""
        kind = "stall" if handle else "stall-then-drop"
        with self._lock:
            self._failures.append(Failure(method, "", 0, None, channel, times, kind=kind, seconds=seconds))

    def enforce_channel_rate(self, interval: float | None = 1.0, retry_after: float | str | None = None) -> None:
        """At most one chat.postMessage per channel per `interval` seconds; beyond it answer 429.

        The 429 carries Retry-After `retry_after`, or by default the time left until the channel's
        next allowed post rounded up to whole seconds (as Slack does). interval=None turns it off.
        """
        with self._lock:
            self._rate_interval, self._rate_retry_after = interval, retry_after

    def clear_failures(self) -> None:
        """Remove all injected failures."""
        with self._lock:
            self._failures.clear()

    # ----------------------------------------------------------------- inspection

    @property
    def calls(self) -> list[Call]:
        """Every Web API call so far, oldest first."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls of one method."""
        return [call for call in self.calls if call.method == method]

    def messages(self, channel: str) -> list[dict]:
        """The messages in a channel (id or name), oldest first."""
        with self._lock:
            return copy.deepcopy(self._messages.get(self._channel_id(channel), []))

    def held_calls(self) -> list[Call]:
        """The calls stall() is holding right now (they arrived and are not handled yet)."""
        with self._lock:
            return list(self._held)

    def posts(self, channel: str | None = None) -> list[Post]:
        """Every accepted chat.postMessage (of one channel, id or name) in the order handled, with its arrival time."""
        with self._lock:
            channel_id = self._channel_id(channel) if channel else None
            return [copy.copy(p) for p in self._posts if channel_id in (None, p.channel)]

    def holds(self, channel: str | None = None) -> list[Hold]:
        """Every hold announced by a 429 (to one channel, id or name), oldest first."""
        with self._lock:
            channel_id = self._channel_id(channel) if channel else None
            return [copy.copy(h) for ch, holds in self._holds.items() for h in holds if channel_id in (None, ch)]

    def posts_inside_holds(self) -> list[Post]:
        """The posts accepted while a 429 announced for their channel was still running (each knows its hold)."""
        return [post for post in self.posts() if post.inside_hold is not None]

    def posts_closer_than(self, seconds: float) -> list[tuple[Post, Post]]:
        """Pairs of consecutive posts to one channel that arrived less than `seconds` apart."""
        by_channel: dict[str, list[Post]] = {}
        for post in sorted(self.posts(), key=lambda p: p.at):
            by_channel.setdefault(post.channel, []).append(post)
        return [(a, b) for posts in by_channel.values() for a, b in zip(posts, posts[1:]) if b.at - a.at < seconds]

    def thread(self, channel: str, thread_ts: str) -> list[dict]:
        """The replies in the thread of the message thread_ts in a channel (id or name), oldest first."""
        return [m for m in self.messages(channel) if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts]

    def channel_messages(self, channel: str) -> list[dict]:
        """What the channel itself shows (as conversations.history): its messages, without thread replies
        unless they were also sent to the channel (reply_broadcast)."""
        return [m for m in self.messages(channel)
                if not m.get("thread_ts") or m["thread_ts"] == m["ts"] or m.get("reply_broadcast")]

    def ephemeral_messages(self, channel: str) -> list[dict]:
        """The ephemeral messages posted in a channel (id or name)."""
        with self._lock:
            return copy.deepcopy(self._ephemeral.get(self._channel_id(channel), []))

    def home_view(self, user_id: str, team_id: str | None = None) -> dict | None:
        """The Home tab last published for a user (in one team, by default the first), or None."""
        with self._lock:
            team_id = team_id or self._default_team_id()
            return copy.deepcopy(self._home_views.get((team_id, user_id)))

    def modals(self) -> list[dict]:
        """The modals opened so far (each as last updated), oldest first."""
        with self._lock:
            return copy.deepcopy(list(self._modals.values()))

    def responses(self, name: str) -> list[dict]:
        """The JSON bodies posted to response_url(name), oldest first."""
        with self._lock:
            return copy.deepcopy(self._responses.get(name, []))

    def read_back(self, what: str, query: dict) -> tuple[int, dict, Any]:
        """Answer GET /_emulator/<what>: the emulator's state as JSON, for people and scripts."""
        kind, _, arg = what.strip("/").partition("/")
        with self._lock:
            if kind == "conversations":
                return 200, {}, {"conversations": [_channel_json(c) for c in self._channels.values()]}
            if kind == "users":
                return 200, {}, {"users": [_user_json(u) for u in self._users.values()]}
            if kind == "messages" and arg:
                channel = self._channel_id(arg)
                if channel not in self._channels:
                    return 404, {}, {"ok": False, "error": "channel_not_found", "channel": arg}
                if query.get("thread"):
                    return 200, {}, {"channel": channel, "thread_ts": query["thread"],
                                     "replies": self.thread(channel, query["thread"])}
                return 200, {}, {"channel": channel, "messages": self.messages(channel),
                                 "ephemeral": self.ephemeral_messages(channel)}
            if kind == "views":
                user = query.get("user")
                return 200, {}, {"home": [{"team": t, "user": u, "view": v} for (t, u), v in self._home_views.items()
                                          if user in (None, u)],
                                 "modals": list(self._modals.values())}
            if kind == "responses":
                names = [arg] if arg else list(self._responses)
                return 200, {}, {"responses": {name: self.responses(name) for name in names}}
            if kind == "calls":
                method = query.get("method")
                return 200, {}, {"calls": [
                    {"method": c.method, "http_method": c.http_method, "time": c.time, "params": c.params,
                     "status": c.status, "response": c.response}
                    for c in self._calls if method in (None, c.method)]}
        return 404, {}, {"ok": False, "error": "unknown_read_back", "try": READ_BACK_PATHS}

    # ----------------------------------------------------------------- request handling

    def _handle_api(self, http_method: str, method: str, params: dict, token: str | None, basic: tuple | None):
        """Answer one Web API call: returns (status, headers, body dict); raises DroppedAnswer for no answer."""
        # A post is timed when it arrives, even if stall() holds it.
        self._arrival.at, self._arrival.wall = self.clock(), time.time()
        with self._lock:
            failure = self._take_failure(method, params.get("channel"))
        if failure is not None and failure.kind.startswith("stall"):
            held = Call(method, token, params, time.time(), http_method, monotonic=self._arrival.at)
            with self._lock:
                self._held.append(held)
            time.sleep(failure.seconds)  # outside the lock: other calls go on meanwhile
            with self._lock:
                self._held.remove(held)
            if failure.kind == "stall-then-drop":
                held.status, held.dropped = 0, True
                with self._lock:
                    self._calls.append(held)
                raise DroppedAnswer(method)
        with self._lock:
            call = Call(method, token, params, time.time(), http_method, monotonic=self.clock())
            self._calls.append(call)
            status, headers, body = self._dispatch(method, params, token, basic, failure)
            call.status, call.response = status, body
            call.dropped = failure is not None and failure.kind == "drop"
        if self.log:
            self.log(_describe(call) + (" (answer dropped)" if call.dropped else ""))
        if call.dropped:
            raise DroppedAnswer(method)
        return status, headers, body

    def _handle_response_url(self, name: str, raw: bytes) -> tuple[int, dict, Any]:
        """Answer a post to a response_url: records the JSON body; 400 + plain-text error if invalid."""
        try:
            payload = json.loads(raw or b"{}")
            if not isinstance(payload, dict):
                raise ValueError
        except ValueError:
            return 400, {}, "invalid_payload"
        with self._lock:
            if name in self._expired_response_urls:
                return 404, {}, "expired_url"
            try:
                if not payload.get("delete_original"):
                    _check_message(payload)
            except SlackError as exc:
                status, body = 400, exc.error
            else:
                self._responses.setdefault(name, []).append(payload)
                status, body = 200, {"ok": True}
        if self.log:
            self.log(f"response_url/{name} -> {status}\n{_pretty(payload)}")
        return status, {}, body

    def _dispatch(self, method: str, params: dict, token: str | None, basic: tuple | None,
                  failure: Failure | None = None):
        if failure is not None and failure.kind == "answer":
            headers = {}
            if failure.status == 429 and failure.retry_after is not None:
                headers["Retry-After"] = self._announce_hold(params.get("channel"), failure.retry_after)
            return failure.status, headers, {"ok": False, "error": failure.error}
        handler = _METHODS.get(method)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method", "req_method": method}
        try:
            team = None if method in NO_TOKEN_METHODS else self._authenticate(method, token)
            body = handler(self, team, params, basic)
        except _RateLimited as exc:
            retry_after = self._announce_hold(params.get("channel"), exc.retry_after)
            return 429, {"Retry-After": retry_after}, exc.body()
        except SlackError as exc:
            return 200, {}, exc.body()
        return 200, {}, {"ok": True, **body}

    def _announce_hold(self, channel_ref: str | None, retry_after: float | str) -> str:
        """Record the hold a 429 announces on its channel; returns the Retry-After header value."""
        header = retry_after if isinstance(retry_after, str) else f"{retry_after:g}"
        if channel_ref:
            channel_id, now = self._channel_id(channel_ref), self.clock()
            self._holds.setdefault(channel_id, []).append(Hold(channel_id, now, now + float(header), header))
        return header

    def _check_channel_rate(self, channel_id: str) -> None:
        """Raise _RateLimited when enforce_channel_rate() is on and the channel posted within its interval."""
        last = self._last_post_at.get(channel_id)
        if self._rate_interval is None or last is None:
            return
        wait = last + self._rate_interval - self._arrived()[0]
        if wait > 0:
            raise _RateLimited(self._rate_retry_after if self._rate_retry_after is not None else math.ceil(wait))

    def _record_post(self, channel_id: str, message: dict) -> None:
        """Keep the post's arrival time, flagged when it arrived inside an announced hold."""
        now, wall = self._arrived()
        hold = next((h for h in self._holds.get(channel_id, []) if h.start <= now < h.end), None)
        self._posts.append(Post(channel_id, message["ts"], message.get("text") or "", now, wall, hold))
        self._last_post_at[channel_id] = now

    def _arrived(self) -> tuple[float, float]:
        """(clock, wall clock) when the call this thread handles arrived; now if it came another way."""
        at = getattr(self._arrival, "at", None)
        return (at, self._arrival.wall) if at is not None else (self.clock(), time.time())

    def _take_failure(self, method: str, channel: str | None) -> Failure | None:
        for failure in self._failures:
            if failure.method == method and (failure.channel is None or (
                    channel and self._channel_id(failure.channel) == self._channel_id(channel))):
                if failure.remaining is not None:
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._failures.remove(failure)
                return failure
        return None

    def _authenticate(self, method: str, token: str | None) -> Team | None:
        if not token:
            raise SlackError("not_authed")
        if token in self._dead_tokens:
            raise SlackError(self._dead_tokens[token])
        if method in APP_TOKEN_METHODS:
            if token in self._app_tokens:
                return None
            raise SlackError("not_allowed_token_type" if token in self._tokens else "invalid_auth")
        if token in self._app_tokens:
            raise SlackError("not_allowed_token_type")
        if token not in self._tokens:
            raise SlackError("invalid_auth")
        return self._teams[self._tokens[token]]

    # ----------------------------------------------------------------- helpers

    def _default_team_id(self) -> str | None:
        return next(iter(self._teams), None)

    def _channel_id(self, channel: str) -> str:
        if channel in self._channels:
            return channel
        name = channel.lstrip("#")
        for found in self._channels.values():
            if found.name == name and not found.is_im:
                return found.id
        return channel

    def _visible(self, team: Team, obj: User | Channel) -> bool:
        return obj.team_id in (None, team.id)

    def _postable_channel(self, team: Team, channel_ref: str | None) -> Channel:
        """The channel a bot may post to, or the Slack error for why not."""
        if not channel_ref:
            raise SlackError("channel_not_found")
        user = self._users.get(channel_ref)
        if user is not None and self._visible(team, user):
            return self._open_im(team, user)
        channel = self._channels.get(self._channel_id(channel_ref))
        if channel is None or not self._visible(team, channel):
            raise SlackError("channel_not_found")
        if not channel.bot_member:
            raise SlackError("channel_not_found" if channel.is_private else "not_in_channel")
        if channel.is_archived:
            raise SlackError("is_archived")
        return channel

    def _open_im(self, team: Team, user: User) -> Channel:
        for channel in self._channels.values():
            if channel.is_im and channel.user == user.id and channel.team_id == team.id:
                return channel
        channel = Channel(f"D{user.id[1:]}", user.id, is_private=True, team_id=team.id, is_im=True, user=user.id)
        self._channels[channel.id] = channel
        self._messages[channel.id] = []
        return channel

    def _new_ts(self) -> str:
        now_us = int(time.time() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _new_refresh_token(self, team_id: str) -> str:
        token = f"xoxe-1-{secrets.token_hex(12)}"
        self._refresh_tokens[token] = team_id
        return token

    def _message(self, team: Team, channel: Channel, params: dict) -> dict:
        return {
            "type": "message",
            "ts": self._new_ts(),
            "text": params.get("text", ""),
            "blocks": params.get("blocks"),
            "attachments": params.get("attachments"),
            "thread_ts": params.get("thread_ts"),
            # Also shown in the channel (a thread reply with reply_broadcast).
            "reply_broadcast": True if params.get("thread_ts") and _truthy(params.get("reply_broadcast")) else None,
            "user": team.bot_user_id,
            "bot_id": team.bot_id,
            "app_id": team.app_id,
            "team": team.id,
            "channel": channel.id,
        }

    def _install(self, team: Team, user_id: str) -> dict:
        body = {
            "app_id": team.app_id,
            "authed_user": {"id": user_id},
            "scope": team.scope,
            "token_type": "bot",
            "access_token": team.bot_token,
            "bot_user_id": team.bot_user_id,
            "team": {"id": team.id, "name": team.name},
            "enterprise": {"id": team.enterprise_id, "name": team.enterprise_id} if team.enterprise_id else None,
            "is_enterprise_install": False,
        }
        if team.refresh_token:
            body.update(refresh_token=team.refresh_token, expires_in=team.expires_in)
        return body


# --------------------------------------------------------------------- message limits


def _check_message(params: dict, require_content: bool = True) -> None:
    """Raise the SlackError Slack answers for a message over its limits."""
    text, blocks = params.get("text"), params.get("blocks")
    if require_content and not text and not blocks and not params.get("attachments"):
        raise SlackError("no_text")
    if text is not None and len(str(text)) > MAX_TEXT:
        raise SlackError("msg_too_long")
    if blocks is not None:
        errors = _block_errors(blocks)
        if errors:
            raise SlackError(
                "invalid_blocks", errors=errors, response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
            )


def _text_of(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else str(obj or "")


def _block_errors(blocks: Any, max_blocks: int = MAX_BLOCKS) -> list[str]:
    """Slack-style error strings for a blocks array over the Block Kit limits (empty if valid)."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    if len(blocks) > max_blocks:
        return [f"must be less than {max_blocks + 1} items [json-pointer:/blocks]"]
    errors = []
    for i, block in enumerate(blocks):
        at = f"/blocks/{i}"
        if not isinstance(block, dict) or not block.get("type"):
            errors.append(f"missing required field: type [json-pointer:{at}]")
            continue
        if len(str(block.get("block_id", ""))) > MAX_BLOCK_ID:
            errors.append(f"must be less than {MAX_BLOCK_ID + 1} characters [json-pointer:{at}/block_id]")
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                errors.append(f"must provide either text or fields [json-pointer:{at}]")
            if len(_text_of(block.get("text"))) > MAX_SECTION_TEXT:
                errors.append(f"must be less than {MAX_SECTION_TEXT + 1} characters [json-pointer:{at}/text/text]")
            if len(block.get("fields") or []) > MAX_SECTION_FIELDS:
                errors.append(f"must be less than {MAX_SECTION_FIELDS + 1} items [json-pointer:{at}/fields]")
        elif kind == "header" and len(_text_of(block.get("text"))) > MAX_HEADER_TEXT:
            errors.append(f"must be less than {MAX_HEADER_TEXT + 1} characters [json-pointer:{at}/text/text]")
        elif kind == "context":
            elements = block.get("elements") or []
            if len(elements) > MAX_CONTEXT_ELEMENTS:
                errors.append(f"must be less than {MAX_CONTEXT_ELEMENTS + 1} items [json-pointer:{at}/elements]")
            errors += [f"must be less than {MAX_CONTEXT_TEXT + 1} characters [json-pointer:{at}/elements/{j}/text]"
                       for j, element in enumerate(elements) if len(_text_of(element)) > MAX_CONTEXT_TEXT]
        elif kind == "actions":
            elements = block.get("elements") or []
            if len(elements) > MAX_ACTIONS_ELEMENTS:
                errors.append(f"must be less than {MAX_ACTIONS_ELEMENTS + 1} items [json-pointer:{at}/elements]")
            for j, element in enumerate(elements):
                errors += _element_errors(element, f"{at}/elements/{j}")
        elif kind == "input":
            if len(_text_of(block.get("label"))) > MAX_INPUT_LABEL:
                errors.append(f"must be less than {MAX_INPUT_LABEL + 1} characters [json-pointer:{at}/label/text]")
            errors += _element_errors(block.get("element") or {}, f"{at}/element")
    return errors


def _element_errors(element: Any, at: str) -> list[str]:
    """Slack-style errors for an interactive element (button, text input) over its limits."""
    if not isinstance(element, dict):
        return [f"must be an object [json-pointer:{at}]"]
    limits = [("action_id", MAX_ACTION_ID, str(element.get("action_id", ""))),
              ("placeholder/text", MAX_PLACEHOLDER, _text_of(element.get("placeholder")))]
    if element.get("type") == "button":
        limits += [("text/text", MAX_BUTTON_TEXT, _text_of(element.get("text"))),
                   ("value", MAX_BUTTON_VALUE, str(element.get("value", "")))]
    confirm = element.get("confirm")
    if isinstance(confirm, dict):
        limits += [("confirm/title/text", MAX_CONFIRM_TITLE, _text_of(confirm.get("title"))),
                   ("confirm/text/text", MAX_CONFIRM_TEXT, _text_of(confirm.get("text")))]
    return [f"must be less than {limit + 1} characters [json-pointer:{at}/{name}]"
            for name, limit, text in limits if len(text) > limit]


# --------------------------------------------------------------------- Web API methods


def _auth_test(emu: SlackEmulator, team: Team, params: dict, basic) -> dict:
    """auth.test: who the token belongs to."""
    body = {
        "url": f"https://{team.name.lower().replace(' ', '')}.slack.com/",
        "team": team.name,
        "user": emu._users[team.bot_user_id].name,
        "team_id": team.id,
        "user_id": team.bot_user_id,
        "bot_id": team.bot_id,
        "is_enterprise_install": False,
    }
    if team.enterprise_id:
        body["enterprise_id"] = team.enterprise_id
    return body


def _oauth_v2_access(emu: SlackEmulator, team: None, params: dict, basic) -> dict:
    """oauth.v2.access: exchange a code (or a refresh token) for a bot token."""
    client_id, client_secret = basic or (params.get("client_id"), params.get("client_secret"))
    if client_id != emu.client_id:
        raise SlackError("invalid_client_id")
    if client_secret != emu.client_secret:
        raise SlackError("bad_client_secret")
    if params.get("grant_type") == "refresh_token":
        team_id = emu._refresh_tokens.pop(params.get("refresh_token") or "", None)
        if team_id is None:
            raise SlackError("invalid_refresh_token")
        team = emu._teams[team_id]
        team.bot_token = f"xoxe.xoxb-1-{secrets.token_hex(12)}"
        emu._tokens[team.bot_token] = team.id
        team.refresh_token = emu._new_refresh_token(team.id)
        return emu._install(team, team.installer_user_id)
    install = emu._codes.pop(params.get("code") or "", None)
    if install is None or install[0] not in emu._teams:
        raise SlackError("invalid_code")
    team = emu._teams[install[0]]
    team.installer_user_id = install[1]
    return emu._install(team, install[1])


def _chat_post_message(emu: SlackEmulator, team: Team, params: dict, basic) -> dict:
    """chat.postMessage: append a message to the channel."""
    channel = emu._postable_channel(team, params.get("channel"))
    _check_message(params)
    emu._check_channel_rate(channel.id)
    message = emu._message(team, channel, params)
    emu._messages[channel.id].append(message)
    emu._record_post(channel.id, message)
    return {"channel": channel.id, "ts": message["ts"], "message": _without_nones(message)}


def _chat_post_ephemeral(emu: SlackEmulator, team: Team, params: dict, basic) -> dict:
    """chat.postEphemeral: record an ephemeral message for one user."""
    channel = emu._postable_channel(team, params.get("channel"))
    user = emu._users.get(params.get("user") or "")
    if user is None or not emu._visible(team, user):
        raise SlackError("user_not_found")
    _check_message(params)
    message = emu._message(team, channel, params)
    message["to_user"] = user.id
    emu._ephemeral.setdefault(channel.id, []).append(message)
    return {"message_ts": message["ts"]}


def _chat_update(emu: SlackEmulator, team: Team, params: dict, basic) -> dict:
    """chat.update: replace the text/blocks of the message with that ts."""
    channel = emu._postable_channel(team, params.get("channel"))
    message = next((m for m in emu._messages[channel.id] if m["ts"] == params.get("ts")), None)
    if message is None:
        raise SlackError("message_not_found")
    _check_message(params)
    for key in ("text", "blocks", "attachments"):
        if key in params:
            message[key] = params[key]
    message["edited"] = {"user": team.bot_user_id, "ts": emu._new_ts()}
    return {"channel": channel.id, "ts": message["ts"], "text": message["text"], "message": _without_nones(message)}


def _truthy(value: Any) -> bool:
    """A boolean Web API argument, sent as JSON (true) or a form field ("true", "1")."""
    return value is True or (isinstance(value, (str, int)) and str(value).lower() in ("true", "1"))


def _without_nones(message: dict) -> dict:
    """A copy of a stored message without its unset keys, as Slack shows it."""
    return {k: copy.deepcopy(v) for k, v in message.items() if v is not None}


def _channel_json(channel: Channel) -> dict:
    """A conversation object as conversations.list returns it."""
    if channel.is_im:
        return {"id": channel.id, "created": channel.created, "is_im": True, "is_org_shared": False,
                "user": channel.user, "is_user_deleted": False, "priority": 0}
    return {
        "id": channel.id,
        "name": channel.name,
        "name_normalized": channel.name,
        "is_channel": not channel.is_private,
        "is_group": channel.is_private,
        "is_im": False,
        "is_mpim": False,
        "is_private": channel.is_private,
        "is_archived": channel.is_archived,
        "is_general": False,
        "is_member": channel.bot_member,
        "is_shared": False,
        "is_ext_shared": False,
        "is_org_shared": False,
        "created": channel.created,
        "creator": "U0INSTALLER",
        "context_team_id": channel.team_id,
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": "", "creator": "", "last_set": 0},
    }


def _listed(channel: Channel, types: set[str], exclude_archived: bool) -> bool:
    if exclude_archived and channel.is_archived:
        return False
    if channel.is_im:
        return "im" in types
    if channel.is_private:
        return "private_channel" in types and channel.bot_member
    return "public_channel" in types


def _conversations_list(emu: SlackEmulator, team: Team, params: dict, basic) -> dict:
    """conversations.list: cursor-paged channels of the bot's workspace."""
    types = set((params.get("types") or "public_channel").split(","))
    if not types <= {"public_channel", "private_channel", "im", "mpim"}:
        raise SlackError("invalid_types")
    exclude_archived = str(params.get("exclude_archived", "")).lower() in ("1", "true")
    channels = [c for c in emu._channels.values() if emu._visible(team, c) and _listed(c, types, exclude_archived)]
    try:
        limit = min(max(int(params.get("limit") or 100), 1), 1000)
    except ValueError:
        raise SlackError("invalid_limit") from None
    start = _decode_cursor(params.get("cursor"))
    page = channels[start:start + limit]
    next_cursor = _encode_cursor(start + limit) if start + limit < len(channels) else ""
    return {"channels": [_channel_json(c) for c in page], "response_metadata": {"next_cursor": next_cursor}}


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
        if kind != "offset":
            raise ValueError
        return int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None


def _conversations_open(emu: SlackEmulator, team: Team, params: dict, basic) -> dict:
    """conversations.open: the IM channel with one user."""
    user_ids = [u for u in (params.get("users") or "").split(",") if u]
    if not user_ids:
        raise SlackError("users_list_not_supplied")
    if len(user_ids) > 1:
        raise SlackError("not_supported", detail="the emulator opens IMs with one user only")
    user = emu._users.get(user_ids[0])
    if user is None or not emu._visible(team, user):
        raise SlackError("user_not_found")
    channel = emu._open_im(team, user)
    return {"channel": {"id": channel.id}}


def _user_json(user: User) -> dict:
    """A user object as users.info returns it."""
    profile = {"real_name": user.real_name, "display_name": user.name, "real_name_normalized": user.real_name,
               "display_name_normalized": user.name}
    if user.email:
        profile["email"] = user.email
    return {
        "id": user.id,
        "team_id": user.team_id,
        "name": user.name,
        "real_name": user.real_name,
        "deleted": False,
        "is_bot": user.is_bot,
        "is_admin": False,
        "is_app_user": False,
        "tz": "Europe/London",
        "profile": profile,
    }


def _users_info(emu: SlackEmulator, team: Team, params: dict, basic) -> dict:
    """users.info: one user by id."""
    user = emu._users.get(params.get("user") or "")
    if user is None or not emu._visible(team, user):
        raise SlackError("user_not_found")
    return {"user": _user_json(user)}


def _users_lookup_by_email(emu: SlackEmulator, team: Team, params: dict, basic) -> dict:
    """users.lookupByEmail: one user by email (case-insensitive)."""
    email = (params.get("email") or "").lower()
    for user in emu._users.values():
        if email and (user.email or "").lower() == email and emu._visible(team, user):
            return {"user": _user_json(user)}
    raise SlackError("users_not_found")


def _checked_view(params: dict, kind: str) -> dict:
    """The view of a views.* call, or the SlackError Slack answers for one over its limits."""
    view = params.get("view")
    if not isinstance(view, dict):
        raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]})
    if view.get("type") != kind:
        raise SlackError("invalid_arguments",
                         response_metadata={"messages": [f"[ERROR] view type must be {kind} [json-pointer:/view/type]"]})
    errors = _block_errors(view.get("blocks"), MAX_VIEW_BLOCKS)
    if kind == "modal":
        for name in ("title", "submit", "close"):
            if len(_text_of(view.get(name))) > MAX_VIEW_TITLE:
                errors.append(f"must be less than {MAX_VIEW_TITLE + 1} characters [json-pointer:/view/{name}/text]")
        if not _text_of(view.get("title")):
            errors.append("missing required field: title [json-pointer:/view/title]")
    if len(str(view.get("private_metadata", ""))) > MAX_PRIVATE_METADATA:
        errors.append(f"must be less than {MAX_PRIVATE_METADATA + 1} characters [json-pointer:/view/private_metadata]")
    if errors:
        raise SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {e}" for e in errors]})
    return copy.deepcopy(view)


def _stored_view(emu: SlackEmulator, team: Team, view: dict, view_id: str | None = None) -> dict:
    view_id = view_id or f"V{secrets.token_hex(5).upper()}"
    return {**view, "id": view_id, "team_id": team.id, "app_id": team.app_id, "bot_id": team.bot_id,
            "hash": secrets.token_hex(8), "state": {"values": {}}}


def _views_publish(emu: SlackEmulator, team: Team, params: dict, basic) -> dict:
    """views.publish: replace a user's Home tab."""
    user = emu._users.get(params.get("user_id") or "")
    if user is None or not emu._visible(team, user):
        raise SlackError("user_not_found")
    view = _checked_view(params, "home")
    previous = emu._home_views.get((team.id, user.id))
    stored = _stored_view(emu, team, view, previous["id"] if previous else None)
    emu._home_views[(team.id, user.id)] = stored
    return {"view": copy.deepcopy(stored)}


def _views_open(emu: SlackEmulator, team: Team, params: dict, basic) -> dict:
    """views.open: open a modal for the user whose interaction gave the trigger_id."""
    if not params.get("trigger_id"):
        raise SlackError("invalid_trigger_id")
    view = _checked_view(params, "modal")
    stored = _stored_view(emu, team, view)
    stored["trigger_id"] = params["trigger_id"]
    emu._modals[stored["id"]] = stored
    return {"view": copy.deepcopy(stored)}


def _views_update(emu: SlackEmulator, team: Team, params: dict, basic) -> dict:
    """views.update: replace an open modal (by view_id or external_id)."""
    found = emu._modals.get(params.get("view_id") or "") or next(
        (m for m in emu._modals.values() if params.get("external_id") and
         m.get("external_id") == params.get("external_id")), None)
    if found is None:
        raise SlackError("not_found")
    view = _checked_view(params, "modal")
    stored = {**_stored_view(emu, team, view, found["id"]), "trigger_id": found.get("trigger_id")}
    emu._modals[found["id"]] = stored
    return {"view": copy.deepcopy(stored)}


def _apps_connections_open(emu: SlackEmulator, team: None, params: dict, basic) -> dict:
    """apps.connections.open: the (configurable) Socket Mode WebSocket URL."""
    return {"url": emu.socket_mode_url}


_METHODS: dict[str, Callable[..., dict]] = {
    "auth.test": _auth_test,
    "oauth.v2.access": _oauth_v2_access,
    "chat.postMessage": _chat_post_message,
    "chat.postEphemeral": _chat_post_ephemeral,
    "chat.update": _chat_update,
    "conversations.list": _conversations_list,
    "conversations.open": _conversations_open,
    "users.info": _users_info,
    "users.lookupByEmail": _users_lookup_by_email,
    "apps.connections.open": _apps_connections_open,
    "views.publish": _views_publish,
    "views.open": _views_open,
    "views.update": _views_update,
}


# --------------------------------------------------------------------- HTTP layer


def _decode_json_params(params: dict) -> dict:
    """JSON-decode form-encoded blocks/attachments; bad JSON -> invalid_blocks_format etc."""
    for key in JSON_PARAMS:
        value = params.get(key)
        if isinstance(value, str):
            try:
                params[key] = json.loads(value) if value else None
            except ValueError:
                params[key] = value
                params["_invalid_json"] = key
    return params


class _Server(ThreadingHTTPServer):
    """The HTTP server: one daemon thread per request, a backlog deep enough for parallel workers."""

    daemon_threads = True
    request_queue_size = 128
    emulator: SlackEmulator

    def handle_error(self, request, client_address) -> None:
        """A dropped answer is on purpose, and a client gone before its answer is a test's doing; else report."""
        if not isinstance(sys.exc_info()[1], (DroppedAnswer, BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Routes /<method> to the Web API and /response_url/<name> to response_url recording."""

    server_version = "SlackEmulator/1.0"
    protocol_version = "HTTP/1.1"  # keep-alive, as Slack's servers: every answer has a Content-Length
    disable_nagle_algorithm = True  # else a kept-alive client waits out a delayed ACK for each answer's body

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        pass  # calls are logged by SlackEmulator.log instead

    def _handle(self, http_method: str) -> None:
        emulator = self.server.emulator  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        path = unquote(parts.path).strip("/")
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if path.startswith("response_url/"):
            if http_method != "POST":
                return self._send(405, {}, "method_not_allowed")
            return self._send(*emulator._handle_response_url(path[len("response_url/"):], raw))
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if path.split("/")[0] == "_emulator" and http_method == "GET":
            return self._send(*emulator.read_back(path[len("_emulator"):], params))
        method = path[len("api/"):] if path.startswith("api/") else path
        try:
            params.update(self._body_params(raw))
        except ValueError:
            return self._send(200, {}, {"ok": False, "error": "invalid_json"})
        token, basic = self._credentials(params)
        params = _decode_json_params(params)
        bad_json = params.pop("_invalid_json", None)
        if bad_json:
            return self._send(200, {}, {"ok": False, "error": f"invalid_{bad_json}_format"})
        self._send(*emulator._handle_api(http_method, method, params, token, basic))

    def _body_params(self, raw: bytes) -> dict:
        if not raw:
            return {}
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            return body
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))

    def _credentials(self, params: dict) -> tuple[str | None, tuple[str, str] | None]:
        """(bearer or form token, (client_id, client_secret) from HTTP Basic auth)."""
        token = params.pop("token", None)
        auth = self.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value:
            return value.strip(), None
        if scheme.lower() == "basic" and value:
            try:
                client_id, _, secret = base64.b64decode(value).decode().partition(":")
                return token, (client_id, secret)
            except (ValueError, binascii.Error, UnicodeDecodeError):
                pass
        return token, None

    def _send(self, status: int, headers: dict, body: Any) -> None:
        if isinstance(body, (dict, list)) and self.path.startswith("/_emulator"):
            data, content_type = json.dumps(body, indent=2).encode(), "application/json; charset=utf-8"
        elif isinstance(body, (dict, list)):
            data, content_type = json.dumps(body).encode(), "application/json; charset=utf-8"
        else:
            data, content_type = str(body).encode(), "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


SlackEmulator.handler_class = _Handler


def _pretty(obj: Any) -> str:
    """obj as indented JSON, each line indented under its log line."""
    return "\n".join("    " + line for line in json.dumps(obj, indent=2, ensure_ascii=False).splitlines())


def _describe(call: Call) -> str:
    """A log line for a call, followed by its full parameters (and Slack's answer when not ok), pretty-printed."""
    shown = {k: v for k, v in call.params.items() if k in ("channel", "user", "users", "email", "ts", "cursor", "code")}
    text = call.params.get("text")
    if text:
        shown["text"] = text if len(text) <= 60 else text[:57] + "..."
    if call.params.get("blocks"):
        shown["blocks"] = len(call.params["blocks"]) if isinstance(call.params["blocks"], list) else "?"
    outcome = "ok" if call.response and call.response.get("ok") else (call.response or {}).get("error")
    line = f"{call.http_method} {call.method} {json.dumps(shown)} -> {call.status} {outcome}"
    details = _pretty(call.params) if call.params else ""
    if call.response and not call.response.get("ok"):
        details += "\n" + _pretty({"answer": call.response})
    return f"{line}\n{details}" if details else line


# --------------------------------------------------------------------- command line


def _split(spec: str, minimum: int, what: str) -> list[str]:
    parts = spec.split(":")
    if len(parts) < minimum or not all(parts[:minimum]):
        raise argparse.ArgumentTypeError(f"bad {what} {spec!r}")
    return parts


def main(argv: list[str] | None = None) -> None:
    """Serve the emulator until interrupted (see the module docstring)."""
    parser = argparse.ArgumentParser(description="Local Slack Web API emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3999)
    parser.add_argument("--team", action="append", default=[], metavar="TEAM_ID:NAME[:BOT_TOKEN]")
    parser.add_argument("--user", action="append", default=[], metavar="USER_ID:EMAIL[:REAL NAME]")
    parser.add_argument("--channel", action="append", default=[], metavar="CHANNEL_ID:NAME[:private][:archived][:nobot]")
    parser.add_argument("--app-token", default="xapp-1-A0001-emulator", help="app-level token for Socket Mode")
    parser.add_argument("--oauth-code", default="emulator-code", help="an OAuth code that installs the first team")
    args = parser.parse_args(argv)

    emulator = SlackEmulator(host=args.host, port=args.port, log=lambda line: print(line, flush=True))
    for spec in args.team or ["T0001:Acme"]:
        parts = _split(spec, 2, "--team")
        emulator.add_team(parts[0], parts[1], bot_token=parts[2] if len(parts) > 2 else f"xoxb-{parts[0]}-emulator")
    for spec in args.user:
        parts = _split(spec, 2, "--user")
        emulator.add_user(parts[0], parts[1], real_name=parts[2] if len(parts) > 2 else None)
    for spec in args.channel:
        parts = _split(spec, 2, "--channel")
        flags = set(parts[2:])
        emulator.add_channel(parts[0], parts[1], is_private="private" in flags, is_archived="archived" in flags,
                             bot_member="nobot" not in flags)
    emulator.add_app_token(args.app_token)
    teams = list(emulator._teams.values())
    installer = next((u.id for u in emulator._users.values() if not u.is_bot), None)
    emulator.add_oauth_code(args.oauth_code, teams[0].id, installer)
    emulator.start()
    print(f"Slack emulator on {emulator.url}  (SLACK_API_URL={emulator.url})", flush=True)
    for team in teams:
        print(f"  team {team.id} {team.name!r}: bot token {team.bot_token}  (SLACK_BOT_TOKEN={team.bot_token})", flush=True)
    print(f"  OAuth client id {emulator.client_id}, secret {emulator.client_secret}, code {args.oauth_code}", flush=True)
    print(f"  app token {args.app_token}; response_url base {emulator.response_url('<name>')}", flush=True)
    print("Ctrl+C to stop.", flush=True)
    emulator.serve_until_interrupted()


if __name__ == "__main__":
    main()
