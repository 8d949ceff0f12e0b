"""The Bolt app: signature checks, authorization from our store, dedupe, listeners."""
from __future__ import annotations

import logging

from flask import Flask, current_app
from slack_bolt import App

from app.slack.ingress.dedupe import dedupe_middleware, delivery_key, forget_delivery
from app.slack.ingress.listeners import register_listeners
from app.slack.ingress.oauth import oauth_settings
from app.slack.ingress.authorize import NOT_INSTALLED_MESSAGE, StoredWorkspaceAuthorize, refuse_unknown_workspaces
from app.slack.client.web import web_client

log = logging.getLogger(__name__)



def oauth_enabled(config) -> bool:
    """True when the app installs through OAuth (client id and secret are set)."""
    return bool(config.get("SLACK_CLIENT_ID") and config.get("SLACK_CLIENT_SECRET"))


def build_bolt_app(flask_app: Flask) -> App:
    """A Bolt app for flask_app's configuration; every request's signature is verified."""
    config = flask_app.config
    with flask_app.app_context():
        client = web_client()
    settings = oauth_settings(config) if oauth_enabled(config) else None

    bolt = App(
        name="toktra",
        signing_secret=config["SLACK_SIGNING_SECRET"],
        client=client,
        # Listeners only acknowledge and enqueue, so run them on the request thread: no executor hop.
        process_before_response=True,
        before_authorize=refuse_unknown_workspaces,
        authorize=StoredWorkspaceAuthorize(),
        user_facing_authorize_error_message=NOT_INSTALLED_MESSAGE,
        oauth_settings=settings,
        request_verification_enabled=True,
    )
    bolt.middleware(dedupe_middleware)

    @bolt.error
    def on_listener_error(error, body, logger):
        # Our side failed (e.g. the queue is down): let Slack's retry of this delivery through.
        key = delivery_key(body or {})
        if key:
            forget_delivery(key)
        log.error("Slack listener failed: %r", error, exc_info=error)

    register_listeners(bolt)
    return bolt


def bolt_app() -> App:
    """The current Flask app's Bolt app, built on first use."""
    bolt = current_app.extensions.get("toktra.bolt")
    if bolt is None:
        bolt = current_app.extensions["toktra.bolt"] = build_bolt_app(current_app._get_current_object())
    return bolt
