"""The Bolt app: signature checks, authorization from our store, dedupe, listeners."""
from __future__ import annotations

import logging

from flask import Flask, current_app
from slack_bolt import App
from slack_bolt.middleware import Middleware
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from app.slack.ingress.dedupe import CHECK_IN, InstallationsChanged, Repeated, dedupe_middleware
from app.slack.ingress.listeners import register_listeners
from app.slack.ingress.oauth import oauth_settings
from app.slack.ingress.authorize import NOT_INSTALLED_MESSAGE, StoredWorkspaceAuthorize, refuse_unknown_workspaces
from app.slack.ingress.installations import installation_cache
from app.slack.client.web import web_client

log = logging.getLogger(__name__)
HANDLE_AGAIN = "toktra_handle_again"


class ToktraBolt(App):
    """Bolt's App, which handles a request once more when an installation changed while it was handled.

    Nothing was written for it then (the job and its dedupe mark go to Redis together, or not at all);
    the second time the request checks in before reading the installation, so it cannot happen twice.
    """

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        """Apply Bolt's middleware and listeners to req (twice at most, see the class)."""
        response = super().dispatch(req)
        if not req.context.get(HANDLE_AGAIN):
            return response
        again = BoltRequest(body=req.raw_body if req.mode == "http" else req.body, query=req.query,
                            headers=req.headers, mode=req.mode)
        return super().dispatch(again)


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

    @bolt.error
    def on_listener_error(error, request, context):
        if isinstance(error, Repeated):
            log.info("ignoring repeated Slack delivery %s (retry %s)", error,
                     request.headers.get("x-slack-retry-num"))
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

    register_listeners(bolt)
    return bolt


def bolt_app() -> App:
    """The current Flask app's Bolt app, built on first use."""
    bolt = current_app.extensions.get("toktra.bolt")
    if bolt is None:
        bolt = current_app.extensions.setdefault("toktra.bolt", build_bolt_app(current_app._get_current_object()))
    return bolt
