"""Slack users -> Toktra users, by email (users.info with users:read.email), cached in SlackUserLink."""
from __future__ import annotations

import datetime as dt
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import SlackUserLink, SlackWorkspace, User
from app.models.types import utcnow
from app.services.accounts import find_user
from app.slack.client.web import SlackChannelUnavailable, WorkspaceClient

# A link is re-checked after this long, so a changed Slack email is picked up.
LINK_TTL = dt.timedelta(hours=24)


def toktra_user_for(workspace: SlackWorkspace, slack_user_id: str, client: WorkspaceClient | None = None) -> User | None:
    """The Toktra user behind a Slack user of workspace (same organization, same email), or None."""
    link = db.session.scalar(
        sa.select(SlackUserLink).options(joinedload(SlackUserLink.user))  # the user in the same query
        .where(SlackUserLink.workspace_id == workspace.id, SlackUserLink.slack_user_id == slack_user_id)
    )
    return linked_user(workspace, slack_user_id, link, client)


def workspace_and_link(workspace_id: int, slack_user_id: str) -> tuple[SlackWorkspace | None, SlackUserLink | None]:
    """The workspace with its organization, and the Slack user's stored link with its user (None if there is
    none yet), in one query: a command or a click needs both before anything else."""
    row = db.session.execute(
        sa.select(SlackWorkspace, SlackUserLink)
        .outerjoin(SlackUserLink, sa.and_(SlackUserLink.workspace_id == SlackWorkspace.id,
                                          SlackUserLink.slack_user_id == slack_user_id))
        .options(joinedload(SlackWorkspace.organization), joinedload(SlackUserLink.user))
        .where(SlackWorkspace.id == workspace_id)
    ).one_or_none()
    return (row[0], row[1]) if row is not None else (None, None)


def linked_user(workspace: SlackWorkspace, slack_user_id: str, link: SlackUserLink | None,
                client: WorkspaceClient | None = None) -> User | None:
    """The Toktra user behind a Slack user, from their stored link (None if none yet); a missing link, or one
    older than LINK_TTL, is made or refreshed from users.info first."""
    if link is not None and utcnow() - link.refreshed_at < LINK_TTL:
        return link.user
    client = client or WorkspaceClient(workspace)
    try:
        profile = client.users_info(user=slack_user_id)["user"].get("profile", {})
    except SlackChannelUnavailable:
        profile = {}
    email = (profile.get("email") or "").strip().lower() or None
    user = find_user(email, workspace.org_id) if email else None
    if link is None:
        link = SlackUserLink(workspace_id=workspace.id, slack_user_id=slack_user_id)
        db.session.add(link)
    link.email = email
    link.user_id = user.id if user else None
    link.refreshed_at = utcnow()
    db.session.commit()
    return user


def no_account_message(workspace: SlackWorkspace, email: str | None) -> str:
    """What a Slack user without a Toktra account is told."""
    who = f"your Slack email ({email})" if email else "your Slack account (Slack did not share an email)"
    return (f":wave: Toktra could not find an account for {who} in {workspace.organization.name}. "
            "Ask a Toktra admin to add you with the same email address you use in Slack.")


def linked_email(workspace: SlackWorkspace, slack_user_id: str) -> str | None:
    """The email last seen for a Slack user of workspace."""
    return db.session.scalar(
        sa.select(SlackUserLink.email).where(SlackUserLink.workspace_id == workspace.id,
                                             SlackUserLink.slack_user_id == slack_user_id)
    )


def clicking_user(workspace_id: int, slack_user_id: str, response_url: str,
                  tell: Callable[[str], None] | None = None) -> tuple[SlackWorkspace, User] | str:
    """The active workspace and the verified Toktra user behind a click, or why not (someone without an account
    is told so, through tell when given)."""
    workspace, link = workspace_and_link(workspace_id, slack_user_id)
    if workspace is None or not workspace.active:
        return "workspace gone"
    user = acting_user(workspace, slack_user_id, link, response_url, tell)
    return (workspace, user) if user is not None else "no account"


def acting_user(workspace: SlackWorkspace, slack_user_id: str, link: SlackUserLink | None, response_url: str,
                tell: Callable[[str], None] | None = None) -> User | None:
    """The Toktra user behind a click or command, from their stored link (see linked_user); a Slack user without
    an account is told so (through tell when given, else at response_url), and None returned."""
    from app.slack.blocks.cards import notice
    from app.slack.client.respond import post_response

    user = linked_user(workspace, slack_user_id, link)
    if user is None:
        text = no_account_message(workspace, linked_email(workspace, slack_user_id))
        if tell is not None:
            tell(text)
        else:
            post_response(response_url, *notice(text))
    return user
