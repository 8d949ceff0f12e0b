"""The Slack Web API as jobs use it: one WebClient per workspace and a small error hierarchy."""
from __future__ import annotations

import logging
import math
import time
from http.client import HTTPException
from urllib.error import URLError

from flask import current_app
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.oauth.token_rotation import TokenRotator
from slack_sdk.errors import SlackTokenRotationError

from app.metrics import observe_slack_call
from app.models import SlackWorkspace
from app.slack.client.store import WorkspaceInstallationStore, bot_token_for, deactivate_workspace, save_installation

log = logging.getLogger(__name__)

TOKEN_ERRORS = {"invalid_auth", "token_revoked", "account_inactive", "not_authed", "token_expired"}
CHANNEL_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "message_not_found",
                  "cant_update_message", "user_not_found", "users_not_found", "cannot_dm_bot"}
# Slack's own trouble: the same request may well succeed later.
TRANSIENT_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
# Methods that create something: repeating one whose answer was lost could post twice.
NOT_IDEMPOTENT = {"chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage", "files.upload"}


class SlackError(Exception):
    """A Slack Web API call failed and retrying will not help as is; `error` is Slack's error code."""

    def __init__(self, error: str, method: str = ""):
        super().__init__(f"{method}: {error}" if method else error)
        self.error = error
        self.method = method


class SlackRateLimited(SlackError):
    """Slack answered 429; try again after `retry_after` seconds (fractions kept: never early)."""

    def __init__(self, retry_after: float, method: str = ""):
        super().__init__("ratelimited", method)
        self.retry_after = retry_after


class SlackTokenRevoked(SlackError):
    """The workspace's token no longer works; the workspace has been deactivated."""


class SlackChannelUnavailable(SlackError):
    """The channel, message or user is gone or out of the bot's reach; retrying will not help."""


class SlackTransient(SlackError):
    """Slack failed (5xx, internal_error) or could not be reached before the request was sent: retry later."""


class SlackAnswerLost(SlackError):
    """The request reached Slack but no answer came back: a post may or may not have happened."""


def web_client(token: str | None = None) -> WebClient:
    """A WebClient on SLACK_API_URL for calls outside a workspace (OAuth, Socket Mode, auth.test)."""
    return WebClient(token=token, base_url=current_app.config["SLACK_API_URL"], timeout=15,
                     retry_handlers=_retry_only_unsent())


def _retry_only_unsent() -> list:
    # urllib wraps failures before the request is sent (refused, DNS, reset while writing) in URLError;
    # a connection dropped while waiting for the answer surfaces raw, so it is never retried blindly.
    return [ConnectionErrorRetryHandler(max_retry_count=1, error_types=[URLError])]


def retry_after_seconds(headers) -> float:
    """Slack's Retry-After header in seconds, fractions kept (at least 1 when absent or unreadable)."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            value = value[0] if isinstance(value, list) else value
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                break
            return seconds if math.isfinite(seconds) and seconds > 0 else 1.0
    return 1.0


FAILURE_WORDS = {
    "not_in_channel": "Toktra is not in this channel: invite @Toktra to it.",
    "channel_not_found": "Channel not found: it was deleted, or it is private and Toktra was not invited.",
    "is_archived": "The channel is archived.",
    "message_not_found": "The message was deleted in Slack, so it can no longer be updated.",
    "cant_update_message": "Slack does not let Toktra update this message any more.",
    "invalid_auth": "The Slack token was revoked: reinstall Toktra in this workspace.",
    "token_revoked": "The Slack token was revoked: reinstall Toktra in this workspace.",
    "account_inactive": "The Slack token was revoked: reinstall Toktra in this workspace.",
    "workspace inactive": "The workspace is disconnected: reinstall Toktra in it.",
}


def failure_in_words(error: str) -> str:
    """What an admin reads for a message that cannot be delivered (Slack's error code in plain words)."""
    return FAILURE_WORDS.get(error, f"Slack refused the message: {error}.")


RESPONSE_URL_GONE = {"expired_url", "used_url", "invalid_token", "no_active_hooks"}


def narrow_response_url_failure(status_code: int, body: str | None, headers) -> SlackError:
    """The same rule for a response_url that refused a post (expired after 30 minutes or 5 uses, 429, 5xx)."""
    body = (body or "").strip()
    if status_code == 429:
        return SlackRateLimited(retry_after_seconds(headers), "response_url")
    if status_code in (404, 410) or body in RESPONSE_URL_GONE:
        return SlackChannelUnavailable(body or "expired_url", "response_url")
    if status_code >= 500:
        return SlackTransient(body or f"http_{status_code}", "response_url")
    return SlackError(body or f"http_{status_code}", "response_url")


def narrow_error(exc: Exception, method: str, workspace_id: int | None = None) -> SlackError:
    """The one rule for Slack failures: rate limited, token revoked, gone, transient, answer lost, or refused.

    A revoked token also deactivates the workspace, so nothing else tries it.
    """
    if isinstance(exc, SlackApiError):
        response = exc.response
        error = response.get("error", "unknown_error") if isinstance(response.data, dict) else "unknown_error"
        if response.status_code == 429 or error in ("ratelimited", "rate_limited", "message_limit_exceeded"):
            return SlackRateLimited(retry_after_seconds(response.headers), method)
        if error in TOKEN_ERRORS:
            if workspace_id is not None:
                deactivate_workspace(workspace_id, f"Slack said {error}")
            return SlackTokenRevoked(error, method)
        if error in CHANNEL_ERRORS:
            return SlackChannelUnavailable(error, method)
        if response.status_code >= 500 or error in TRANSIENT_ERRORS or error == "unknown_error":
            return SlackTransient(error if error != "unknown_error" else f"http_{response.status_code}", method)
        return SlackError(error, method)
    if isinstance(exc, URLError):
        return SlackTransient(f"connection failed ({exc.reason})", method)
    if isinstance(exc, (OSError, HTTPException)):
        if method in NOT_IDEMPOTENT:
            return SlackAnswerLost(f"answer lost ({type(exc).__name__})", method)
        return SlackTransient(f"answer lost ({type(exc).__name__})", method)
    raise exc


def _rotated_token(workspace: SlackWorkspace) -> str | None:
    """The bot token, refreshed first when Slack's token rotation says it is about to expire."""
    config = current_app.config
    if not (workspace.bot_refresh_token and config["SLACK_CLIENT_ID"] and config["SLACK_CLIENT_SECRET"]):
        return bot_token_for(workspace)
    store = WorkspaceInstallationStore()
    bot = store.find_bot(enterprise_id=workspace.enterprise_id or None, team_id=workspace.team_id)
    if bot is None:
        return None
    rotator = TokenRotator(client_id=config["SLACK_CLIENT_ID"], client_secret=config["SLACK_CLIENT_SECRET"],
                           client=web_client())
    try:
        refreshed = rotator.perform_bot_token_rotation(bot=bot, minutes_before_expiration=120)
    except SlackTokenRotationError as exc:
        error = exc.api_error.response.get("error", "") if exc.api_error else ""
        if error in TOKEN_ERRORS or error == "invalid_refresh_token":
            deactivate_workspace(workspace.id, f"token rotation failed: {error}")
        raise SlackError(error or "token_rotation_failed", "oauth.v2.access") from exc
    if refreshed is not None:
        store.save_bot(refreshed)
        return refreshed.bot_token
    return bot.bot_token


class WorkspaceClient(WebClient):
    """A WebClient for one workspace (built once per job) whose failures are narrowed to our hierarchy."""

    def __init__(self, workspace: SlackWorkspace):
        if not workspace.active:
            raise SlackTokenRevoked(workspace.deactivated_reason or "workspace inactive")
        self.workspace_id = workspace.id
        token = _rotated_token(workspace)
        if not token:
            raise SlackTokenRevoked("no bot token for this workspace")
        super().__init__(token=token, base_url=current_app.config["SLACK_API_URL"], timeout=15,
                         retry_handlers=_retry_only_unsent())

    def api_call(self, api_method: str, **kwargs):
        """Call a Web API method; failures raise SlackError subclasses (see narrow_error)."""
        started = time.perf_counter()
        try:
            response = super().api_call(api_method, **kwargs)
        except (SlackApiError, OSError, HTTPException) as exc:
            error = narrow_error(exc, api_method, self.workspace_id)
            # Slack's own error code (bounded), or one word for a connection that failed or never answered.
            observe_slack_call(api_method, started, error.error if isinstance(exc, SlackApiError) else "network_error")
            raise error from exc
        observe_slack_call(api_method, started, "ok")
        return response


def connect_single_workspace(org) -> SlackWorkspace:
    """Record the workspace of SLACK_BOT_TOKEN for org (the token itself stays in the environment)."""
    client = web_client(current_app.config["SLACK_BOT_TOKEN"])
    auth = client.auth_test()
    scopes = auth.headers.get("x-oauth-scopes") or auth.headers.get("X-OAuth-Scopes") or ""
    if isinstance(scopes, list):
        scopes = scopes[0]
    installation = Installation(
        app_id=auth.get("app_id"), enterprise_id=auth.get("enterprise_id"), team_id=auth["team_id"],
        team_name=auth.get("team"), bot_id=auth.get("bot_id"), bot_user_id=auth.get("user_id"),
        bot_scopes=scopes, user_id=auth.get("user_id") or "",
    )
    return save_installation(installation, org.id, installed_by_id=None)
