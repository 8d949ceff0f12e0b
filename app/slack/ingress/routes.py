"""POST /slack/events: the one endpoint for Slack's events, slash commands and interactivity."""
from __future__ import annotations

import logging
import re

from flask import Blueprint, current_app, request
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

from app.errors import error_response
from app.extensions import per_app
from app.rate_limits import limiter
from app.slack.ingress.bolt_app import bolt_app

log = logging.getLogger(__name__)
bp = Blueprint("slack", __name__)
limiter.exempt(bp)  # Slack's signature authenticates; no limit applies here


@limiter.request_filter
def _not_limited() -> bool:
    # Exempt requests still resolve their limits before finding none; this answers first, per request.
    return request.blueprint == "slack"

_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds, ASCII digits only: int() never raises on it
# What Bolt may raise while reading a signed body that is not one of Slack's payloads.
_UNREADABLE = (ValueError, RecursionError, AttributeError, TypeError, KeyError, IndexError)
NOT_SIGNED = ("This request is not signed by Slack: its X-Slack-Signature and X-Slack-Request-Timestamp "
              "must be Slack's signature of this body, made within the last 5 minutes.")
NOT_A_PAYLOAD = "This request's body is not a Slack payload (JSON, or a form with a JSON `payload` field)."


def slack_handler() -> SlackRequestHandler:
    """Bolt's Flask adapter for this app's Bolt app."""
    return per_app("toktra.bolt_handler", lambda: SlackRequestHandler(bolt_app()))


def signed_by_slack(body: str, timestamp: str, signature: str) -> bool:
    """True when signature is Slack's signature of body at timestamp, within the 5-minute window; never raises."""
    if not _TIMESTAMP.fullmatch(timestamp) or not signature.isascii():
        return False  # slack_sdk would raise on these (int(), hmac.compare_digest)
    return SignatureVerifier(current_app.config["SLACK_SIGNING_SECRET"]).is_valid(body, timestamp, signature)


@bp.post("/slack/events")
def events():
    """Verify the request's signature before reading its body, acknowledge, and queue the work (Bolt)."""
    if not current_app.config["SLACK_SIGNING_SECRET"]:
        return error_response(503, "Slack is not configured on this server: set SLACK_SIGNING_SECRET.")
    body = request.get_data(as_text=True)  # as Bolt reads it, so both check the same text
    if not signed_by_slack(body, request.headers.get("X-Slack-Request-Timestamp", ""),
                           request.headers.get("X-Slack-Signature", "")):
        log.info("refused a /slack/events request without a valid Slack signature")
        return error_response(401, NOT_SIGNED)
    try:
        bolt_request = BoltRequest(body=body, query=request.query_string.decode("utf-8"), headers=request.headers)
    except _UNREADABLE as exc:
        log.warning("refused a signed /slack/events body Bolt cannot read: %s", type(exc).__name__)
        return error_response(400, NOT_A_PAYLOAD)
    answer = bolt_app().dispatch(bolt_request)
    # Bolt's to_flask_response makes a response, then replaces its headers one by one: built once here instead.
    return current_app.response_class(answer.body, answer.status,
                                      [(name, value) for name, values in answer.headers.items() for value in values])
