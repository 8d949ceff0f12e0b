"""The Bolt app: signature checks, authorization from our store, dedupe, listeners."""
from __future__ import annotations

import logging
from typing import Callable

from flask import Flask, current_app
from slack_bolt import Ack, App
from slack_bolt.context import BoltContext
from slack_bolt.middleware import Middleware
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from app.extensions import per_app
from app.slack.ingress.dedupe import CHECK_IN, InstallationsChanged, Repeated, dedupe_middleware
from app.slack.ingress.listeners import register_listeners
from app.slack.ingress.oauth import oauth_settings
from app.slack.ingress.authorize import NOT_INSTALLED_MESSAGE, StoredWorkspaceAuthorize, refuse_unknown_workspaces
from app.slack.ingress.installations import installation_cache
from app.slack.client.web import web_client

log = logging.getLogger(__name__)
HANDLE_AGAIN = "toktra_handle_again"


class ToktraBolt(App):
    """Bolt's App, with two additions.

    A slash command runs its listener directly (run_command); everything else is dispatched by Bolt.

    A request is handled once more when an installation changed while it was handled. Nothing was
    written for it then (the job and its dedupe mark go to Redis together, or not at all); the second
    time the request checks in before reading the installation, so it cannot happen twice.
    """

    command_listeners: dict[str, Callable] = {}

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        """Answer req (twice at most, see the class)."""
        response = self._dispatch_once(req)
        if not req.context.get(HANDLE_AGAIN):
            return response
        again = BoltRequest(body=req.raw_body if req.mode == "http" else req.body, query=req.query,
                            headers=req.headers, mode=req.mode)
        return self._dispatch_once(again)

    def _dispatch_once(self, req: BoltRequest) -> BoltResponse:
        command = req.body.get("command")
        listener = self.command_listeners.get(command) if isinstance(command, str) else None
        if listener is None or "ssl_check" in req.body:
            return super().dispatch(req)
        return run_command(listener, req)


def run_command(listener: Callable, req: BoltRequest) -> BoltResponse:
    """What Bolt's dispatch answers to a slash command, without its generic machinery.

    For every request Bolt builds a WebClient, runs each global middleware, and asks each listener's
    matcher whether it applies, building the keyword arguments of every call it makes by inspecting the
    function. A slash command needs none of that: it is the request people type and wait on, and that
    machinery cost more than the command's own work. Its steps here are the ones that apply to it, in
    Bolt's order: refuse_unknown_workspaces (which does what our authorize step does), the dedupe
    middleware, the listener, and on an error on_listener_error, whose answer replaces Bolt's 500.
    Bolt's own steps that are left out do nothing for a command: ssl_check requests never get here, and
    self-event and URL-verification filtering apply to events. tests/test_command_dispatch.py holds
    this to Bolt's own dispatch of the same requests.
    """
    context = req.context
    ack = context["ack"] = Ack()

    def listen() -> BoltResponse:
        try:
            listener(ack=ack, command=req.body, context=context)
        except Exception as error:
            return on_listener_error(error, req, context) or BoltResponse(status=500, body="")
        return ack.response or BoltResponse(status=200, body="")

    return refuse_unknown_workspaces(req, None, lambda: dedupe_middleware(req, None, listen))


def on_listener_error(error: Exception, request: BoltRequest, context: BoltContext) -> BoltResponse | None:
    """Bolt's error handler: repeats and installation changes are answered; anything else is our failure."""
    if isinstance(error, Repeated):
        log.info("ignoring repeated Slack delivery %s (retry %s)", error, request.headers.get("x-slack-retry-num"))
        return BoltResponse(status=200, body="")
    if isinstance(error, InstallationsChanged):
        installation_cache().advance(error.version)
        context[HANDLE_AGAIN] = True
        return BoltResponse(status=200, body="")
    # Our side failed (e.g. the queue is down): let Slack's retry of this delivery through.
    check = context.get(CHECK_IN)
    if check is not None:
        check.release()
    log.error("Slack listener failed: %r", error, exc_info=error)
    return None


class PlainMiddleware(Middleware):
    """A global middleware calling func(req, resp, next) as it is: Bolt's wrapper for functions inspects and
    builds the arguments of each call, which costs more than our middleware's own work."""

    def __init__(self, func):
        self.func = func

    def process(self, *, req: BoltRequest, resp: BoltResponse, next) -> BoltResponse:
        """Run func."""
        return self.func(req, resp, next)

    @property
    def name(self) -> str:
        """The function's qualified name (Bolt's debug logs)."""
        return f"{self.func.__module__}.{self.func.__qualname__}"


def oauth_enabled(config) -> bool:
    """True when the app installs through OAuth (client id and secret are set)."""
    return bool(config.get("SLACK_CLIENT_ID") and config.get("SLACK_CLIENT_SECRET"))


def build_bolt_app(flask_app: Flask) -> App:
    """A Bolt app for flask_app's configuration; every request's signature is verified."""
    config = flask_app.config
    with flask_app.app_context():
        client = web_client()
    settings = oauth_settings(config) if oauth_enabled(config) else None

    bolt = ToktraBolt(
        name="toktra",
        signing_secret=config["SLACK_SIGNING_SECRET"],
        client=client,
        # Listeners only acknowledge and enqueue, so run them on the request thread: no executor hop.
        process_before_response=True,
        before_authorize=PlainMiddleware(refuse_unknown_workspaces),
        authorize=StoredWorkspaceAuthorize(),
        user_facing_authorize_error_message=NOT_INSTALLED_MESSAGE,
        oauth_settings=settings,
        # POST /slack/events verifies every signature before Bolt reads the body (routes.py), and Socket
        # Mode has none: Bolt checking the same HMAC again would only cost time.
        request_verification_enabled=False,
    )
    bolt.middleware(PlainMiddleware(dedupe_middleware))

    bolt.error(on_listener_error)
    bolt.command_listeners = register_listeners(bolt)
    return bolt


def bolt_app() -> App:
    """The current Flask app's Bolt app, built on first use."""
    return per_app("toktra.bolt", lambda: build_bolt_app(current_app._get_current_object()))
