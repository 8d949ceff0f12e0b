"""The admin-only OAuth install: Bolt's flow with state bound to the browser (cookie) and organization."""
from __future__ import annotations

import datetime as dt
import logging
import secrets

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from flask import g, render_template
from flask_login import current_user
from slack_bolt.error import BoltError
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.state_store import OAuthStateStore

from app.extensions import db
from app.models import OAuthState
from app.models.types import utcnow
from app.slack.client.store import WorkspaceInstallationStore, save_installation

log = logging.getLogger(__name__)

INSTALL_PATH = "/integrations/slack/install"
CALLBACK_PATH = "/integrations/slack/oauth/callback"
STATE_TTL_SECONDS = 600

# The spec's scopes, exactly.
DEFAULT_SCOPES = [
    "app_mentions:read",
    "chat:write",
    "commands",
    "channels:read",
    "im:read",
    "im:write",
    "users:read",
    "users:read.email",
]

FAILURE_MESSAGES = {
    "invalid_browser": "This install link was started in another browser or has already been used. "
                       "Start again from Integrations → Slack.",
    "invalid_state": "This install link has expired or has already been used. Start again from Integrations → Slack.",
    "access_denied": "The installation was cancelled in Slack, so nothing was installed.",
    "missing_code": "Slack did not send an authorization code. Start again from Integrations → Slack.",
    "invalid_code": "Slack did not accept the authorization code. Start again from Integrations → Slack.",
    "storage_error": "The workspace could not be saved. Nothing was installed; please try again.",
    "other_organization": "This Slack workspace is already connected to another Toktra organization.",
}

FAILURE_STATUS = {"access_denied": 200, "other_organization": 409, "storage_error": 503}


class BoundOAuthStateStore(OAuthStateStore):
    """Single-use, expiring states, each bound to the admin and organization that started the install."""

    def __init__(self, expiration_seconds: int = STATE_TTL_SECONDS):
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    def issue(self, *args, **kwargs) -> str:
        """A new state for the signed-in admin (the install route lets only admins here)."""
        state = secrets.token_urlsafe(32)
        db.session.add(OAuthState(
            state=state, org_id=current_user.org_id, user_id=current_user.id,
            expires_at=utcnow() + dt.timedelta(seconds=self.expiration_seconds),
        ))
        db.session.commit()
        return state

    def consume(self, state: str) -> bool:
        """Use a state once: it must exist and not have expired. Remembers its org and admin for this request."""
        row = db.session.execute(
            sa.delete(OAuthState).where(OAuthState.state == state).returning(
                OAuthState.org_id, OAuthState.user_id, OAuthState.expires_at)
        ).first()
        db.session.commit()
        if row is None or row.expires_at < utcnow():
            return False
        g.slack_install_for = (row.org_id, row.user_id)
        return True


class InstallingStore(WorkspaceInstallationStore):
    """During the OAuth callback, new installations are saved for the organization bound to the state."""

    def save(self, installation: Installation):
        """Save an OAuth installation for the organization whose admin started it."""
        binding = g.get("slack_install_for")
        if binding is None:  # token rotation, outside an install
            return super().save(installation)
        org_id, user_id = binding
        try:
            g.slack_workspace = save_installation(installation, org_id, user_id)
        except PermissionError as exc:
            db.session.rollback()
            g.slack_install_error = "other_organization"
            raise BoltError(str(exc)) from exc
        except SQLAlchemyError as exc:
            db.session.rollback()
            raise BoltError("the workspace could not be saved") from exc


def _success(args: SuccessArgs) -> BoltResponse:
    workspace = g.slack_workspace
    html = render_template("slack_installed.html", workspace=workspace)
    return BoltResponse(status=200, body=html, headers={"Content-Type": "text/html; charset=utf-8"})


def _failure(args: FailureArgs) -> BoltResponse:
    reason = g.get("slack_install_error") or args.reason
    message = FAILURE_MESSAGES.get(reason, "Slack could not complete the installation. Please try again.")
    log.info("Slack install refused: %s", reason)
    html = render_template("slack_install_failed.html", message=message, reason=reason)
    status = FAILURE_STATUS.get(reason, 400)
    return BoltResponse(status=status, body=html, headers={"Content-Type": "text/html; charset=utf-8"})


def oauth_settings(config) -> OAuthSettings:
    """Bolt's OAuth settings for our routes, scopes, stores and pages."""
    scopes = [s.strip() for s in config["SLACK_SCOPES"].split(",") if s.strip()] if config.get("SLACK_SCOPES") \
        else DEFAULT_SCOPES
    return OAuthSettings(
        client_id=config["SLACK_CLIENT_ID"],
        client_secret=config["SLACK_CLIENT_SECRET"],
        scopes=scopes,
        user_scopes=[],
        redirect_uri=config["PUBLIC_BASE_URL"] + CALLBACK_PATH,
        install_path=INSTALL_PATH,
        redirect_uri_path=CALLBACK_PATH,
        install_page_rendering_enabled=False,
        installation_store=InstallingStore(),
        installation_store_bot_only=True,
        state_store=BoundOAuthStateStore(),
        state_cookie_name="toktra-slack-oauth-state",
        state_expiration_seconds=STATE_TTL_SECONDS,
        callback_options=CallbackOptions(success=_success, failure=_failure),
    )
