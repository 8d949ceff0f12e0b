"""Slack installations kept in our own SlackWorkspace table, behind slack_sdk's InstallationStore."""
from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from flask import current_app
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore

from app.extensions import db
from app.models import SlackWorkspace
from app.models.types import utcnow

log = logging.getLogger(__name__)


def workspace_query(enterprise_id: str | None, team_id: str | None, *columns) -> sa.Select:
    """SELECT columns (default: the row) of a team's workspace (or an org-wide enterprise install), newest first."""
    query = sa.select(*(columns or (SlackWorkspace,)))
    if team_id:
        query = query.where(SlackWorkspace.team_id == team_id)
    else:
        query = query.where(SlackWorkspace.enterprise_id == (enterprise_id or ""), SlackWorkspace.team_id == "")
    return query.order_by(SlackWorkspace.id.desc())


def find_workspace(enterprise_id: str | None, team_id: str | None) -> SlackWorkspace | None:
    """The workspace row for a team (or an org-wide enterprise install), active or not."""
    return db.session.scalars(workspace_query(enterprise_id, team_id)).first()


def bot_token_for(workspace: SlackWorkspace) -> str | None:
    """The workspace's bot token: its own (OAuth) or, in single-workspace mode, SLACK_BOT_TOKEN."""
    return workspace.bot_token or current_app.config["SLACK_BOT_TOKEN"] or None


def _expires_at(seconds_from_epoch: int | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(seconds_from_epoch, dt.timezone.utc) if seconds_from_epoch else None


def save_installation(installation: Installation, org_id: int, installed_by_id: int | None) -> SlackWorkspace:
    """Record an OAuth installation for an organization: a new workspace adds a row, a reinstall updates it."""
    workspace = find_workspace(installation.enterprise_id, installation.team_id)
    if workspace is not None and workspace.org_id != org_id:
        raise PermissionError(f"workspace {installation.team_name or installation.team_id} belongs to another organization")
    if workspace is None:
        workspace = SlackWorkspace(org_id=org_id, team_id=installation.team_id or "")
        db.session.add(workspace)
    workspace.enterprise_id = installation.enterprise_id or ""
    workspace.team_name = installation.team_name or installation.enterprise_name or ""
    workspace.app_id = installation.app_id
    workspace.bot_id = installation.bot_id
    workspace.bot_user_id = installation.bot_user_id
    workspace.bot_token = installation.bot_token
    workspace.bot_refresh_token = installation.bot_refresh_token
    workspace.bot_token_expires_at = _expires_at(installation.bot_token_expires_at)
    workspace.scopes = ",".join(installation.bot_scopes or [])
    workspace.installed_by_id = installed_by_id
    workspace.installed_at = utcnow()
    workspace.active = True
    workspace.deactivated_at = None
    workspace.deactivated_reason = None
    db.session.commit()
    return workspace


def deactivate_workspace(workspace_id: int, reason: str) -> bool:
    """Mark a workspace inactive (uninstalled, revoked); its token is dropped. True if it was active."""
    workspace = db.session.get(SlackWorkspace, workspace_id, with_for_update=True)
    if workspace is None or not workspace.active:
        db.session.commit()
        return False
    workspace.active = False
    workspace.deactivated_at = utcnow()
    workspace.deactivated_reason = reason
    workspace.bot_token = None
    workspace.bot_refresh_token = None
    db.session.commit()
    log.warning("Slack workspace %s (%s) deactivated: %s", workspace.team_id, workspace.team_name, reason)
    return True


class WorkspaceInstallationStore(InstallationStore):
    """Bolt reads active workspaces' bot tokens from here, and saves rotated tokens back."""

    @property
    def logger(self) -> logging.Logger:
        return log

    def save(self, installation: Installation):
        """Update an installed workspace's tokens (new installs go through save_installation)."""
        self.save_bot(installation.to_bot())

    def save_bot(self, bot: Bot):
        """Store rotated bot tokens for an installed workspace."""
        workspace = find_workspace(bot.enterprise_id, bot.team_id)
        if workspace is None:
            raise LookupError(f"no installed workspace for team {bot.team_id}")
        workspace.bot_token = bot.bot_token
        workspace.bot_refresh_token = bot.bot_refresh_token
        workspace.bot_token_expires_at = _expires_at(bot.bot_token_expires_at)
        db.session.commit()

    def find_bot(self, *, enterprise_id, team_id, is_enterprise_install=False) -> Bot | None:
        """The active workspace's bot, or None (unknown or deactivated workspace)."""
        workspace = find_workspace(enterprise_id, None if is_enterprise_install else team_id)
        if workspace is None or not workspace.active:
            return None
        token = bot_token_for(workspace)
        if token is None:
            return None
        return Bot(
            app_id=workspace.app_id,
            enterprise_id=workspace.enterprise_id or None,
            team_id=workspace.team_id or None,
            team_name=workspace.team_name,
            bot_token=token,
            bot_id=workspace.bot_id,
            bot_user_id=workspace.bot_user_id,
            bot_scopes=workspace.scopes,
            bot_refresh_token=workspace.bot_refresh_token,
            bot_token_expires_at=(
                int(workspace.bot_token_expires_at.timestamp()) if workspace.bot_token_expires_at else None
            ),
            is_enterprise_install=bool(is_enterprise_install),
            installed_at=workspace.installed_at.timestamp(),
        )

    def find_installation(self, *, enterprise_id, team_id, user_id=None, is_enterprise_install=False):
        """Bot-only app: an installation is its bot."""
        bot = self.find_bot(enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install)
        if bot is None:
            return None
        return Installation(
            app_id=bot.app_id, enterprise_id=bot.enterprise_id, team_id=bot.team_id, team_name=bot.team_name,
            bot_token=bot.bot_token, bot_id=bot.bot_id, bot_user_id=bot.bot_user_id, bot_scopes=bot.bot_scopes,
            bot_refresh_token=bot.bot_refresh_token, bot_token_expires_at=bot.bot_token_expires_at,
            user_id=user_id or "", is_enterprise_install=bot.is_enterprise_install,
        )

    def delete_bot(self, *, enterprise_id, team_id) -> None:
        """Deactivate the workspace whose bot was removed."""
        workspace = find_workspace(enterprise_id, team_id)
        if workspace is not None:
            deactivate_workspace(workspace.id, "bot removed")

    def delete_installation(self, *, enterprise_id, team_id, user_id=None) -> None:
        """Bot-only app: nothing per user to delete."""
