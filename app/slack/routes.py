"""POST /slack/events: the one endpoint for Slack's events, slash commands and interactivity."""
from __future__ import annotations

from flask import Blueprint, current_app, request
from slack_bolt.adapter.flask import SlackRequestHandler

from app.errors import error_response
from app.slack.bolt_app import bolt_app

bp = Blueprint("slack", __name__)


def slack_handler() -> SlackRequestHandler:
    """Bolt's Flask adapter for this app's Bolt app."""
    handler = current_app.extensions.get("toktra.bolt_handler")
    if handler is None:
        handler = current_app.extensions["toktra.bolt_handler"] = SlackRequestHandler(bolt_app())
    return handler


@bp.post("/slack/events")
def events():
    """Verify the request's signature (Bolt), acknowledge, and queue the work."""
    if not current_app.config["SLACK_SIGNING_SECRET"]:
        return error_response(503, "Slack is not configured on this server: set SLACK_SIGNING_SECRET.")
    return slack_handler().handle(request)
