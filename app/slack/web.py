"""The Slack Web API as jobs use it: one WebClient per workspace and a small error hierarchy."""
from __future__ import annotations

import logging

from flask import current_app
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.oauth.token_rotation import TokenRotator
from slack_sdk.errors import SlackTokenRotationError

from app.models import SlackWorkspace
from app.slack.store import WorkspaceInstallationStore, bot_token_for, deactivate_workspace

log = logging.getLogger(__name__)

TOKEN_ERRORS = {"invalid_auth", "token_revoked", "account_inactive", "not_authed", "token_expired"}
CHANNEL_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "message_not_found",
                  "cant_update_message", "user_not_found", "users_not_found"}


class SlackError(Exception):
    """A Slack Web API call failed; `error` is Slack's error code."""

    def __init__(self, error: str, method: str = ""):
        super().__init__(f"{method}: {error}" if method else error)
        self.error = error
        self.method = method


class SlackRateLimited(SlackError):
    """Slack answered 429; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int, method: str = ""):
        super().__init__("ratelimited", method)
        self.retry_after = retry_after


class SlackTokenRevoked(SlackError):
    """The workspace's token no longer works; the workspace has been deactivated."""


class SlackChannelUnavailable(SlackError):
    """The channel, message or user is gone or out of the bot's reach; retrying will not help."""


def web_client(token: str | None = None) -> WebClient:
    """A WebClient on SLACK_API_URL (connection errors retried once; 429s are ours to schedule)."""
    return WebClient(
        token=token,
        base_url=current_app.config["SLACK_API_URL"],
        timeout=15,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
    )


def retry_after_seconds(headers) -> int:
    """Slack's Retry-After header in whole seconds (at least 1)."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            value = value[0] if isinstance(value, list) else value
            try:
                return max(1, int(float(value)))
            except ValueError:
                break
    return 1


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


class WorkspaceClient:
    """Calls the Web API for one workspace, turning Slack's errors into our hierarchy."""

    def __init__(self, workspace: SlackWorkspace):
        if not workspace.active:
            raise SlackTokenRevoked(workspace.deactivated_reason or "workspace inactive")
        self.workspace_id = workspace.id
        token = _rotated_token(workspace)
        if not token:
            raise SlackTokenRevoked("no bot token for this workspace")
        self.client = web_client(token)

    def call(self, method: str, **kwargs):
        """Call a Web API method (e.g. "chat_postMessage") and return its SlackResponse."""
        try:
            return getattr(self.client, method)(**kwargs)
        except SlackApiError as exc:
            raise self._narrow(exc, method) from exc

    def _narrow(self, exc: SlackApiError, method: str) -> SlackError:
        response = exc.response
        error = response.get("error", "unknown_error") if isinstance(response.data, dict) else "unknown_error"
        if response.status_code == 429 or error == "ratelimited":
            return SlackRateLimited(retry_after_seconds(response.headers), method)
        if error in TOKEN_ERRORS:
            deactivate_workspace(self.workspace_id, f"Slack said {error}")
            return SlackTokenRevoked(error, method)
        if error in CHANNEL_ERRORS:
            return SlackChannelUnavailable(error, method)
        return SlackError(error, method)
