"""Integrations → Slack pages and the OAuth install and callback routes."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, render_template, request
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from app.dashboard.auth import role_required
from app.extensions import db
from app.integrations import bp
from app.models import SlackWorkspace
from app.slack.ingress.bolt_app import oauth_enabled
from app.slack.ingress.oauth import CALLBACK_PATH, INSTALL_PATH
from app.slack.ingress.routes import slack_handler
from app.slack.manifest import build_manifest, create_app_link, manifest_json


@bp.get("/integrations/slack")
@login_required
def slack():
    """The organization's Slack workspaces, their status, and (for admins) the install button."""
    workspaces = db.session.scalars(
        sa.select(SlackWorkspace)
        .where(SlackWorkspace.org_id == current_user.org_id)
        .options(selectinload(SlackWorkspace.installed_by))
        .order_by(SlackWorkspace.installed_at)
    ).all()
    manifest = build_manifest(current_app.config)
    return render_template("integrations_slack.html", workspaces=workspaces,
                           oauth_enabled=oauth_enabled(current_app.config),
                           manifest=manifest_json(manifest), create_app_url=create_app_link(manifest))


def _oauth_not_configured():
    return render_template(
        "error.html", code=503, name="Slack install is not configured",
        description="Set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (and SLACK_SIGNING_SECRET) to install Toktra "
                    "through Slack's OAuth, or use single-workspace mode with SLACK_BOT_TOKEN.",
    ), 503


@bp.get(INSTALL_PATH)
@role_required("admin")
def install():
    """Admins only: start Slack's OAuth with a single-use state bound to this browser and organization."""
    if not oauth_enabled(current_app.config):
        return _oauth_not_configured()
    return slack_handler().handle(request)


@bp.get(CALLBACK_PATH)
def oauth_callback():
    """Slack sends the admin back here: check the state, exchange the code, store the workspace."""
    if not oauth_enabled(current_app.config):
        return _oauth_not_configured()
    return slack_handler().handle(request)
