"""Authorizing Slack requests from our own store, without calling Slack on the request path."""
from __future__ import annotations

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_bolt.context import BoltContext

from app.slack.store import bot_token_for, find_workspace

WORKSPACE_ID = "toktra_workspace_id"


class StoredWorkspaceAuthorize(Authorize):
    """Bolt's authorize step, answered from SlackWorkspace rows.

    Bolt's own InstallationStoreAuthorize calls auth.test on every request; the stored installation
    already holds what that returns, so the acknowledgement never waits on Slack. Token rotation
    happens in jobs, before a token is used (app.slack.web).
    """

    def __call__(self, *, context: BoltContext, enterprise_id, team_id, user_id, **_) -> AuthorizeResult | None:
        workspace = find_workspace(enterprise_id, None if context.is_enterprise_install else team_id)
        if workspace is None or not workspace.active:
            return None
        token = bot_token_for(workspace)
        if token is None:
            return None
        context[WORKSPACE_ID] = workspace.id  # the listeners need no second lookup
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, team=workspace.team_name,
                               bot_token=token, bot_id=workspace.bot_id, bot_user_id=workspace.bot_user_id,
                               bot_scopes=workspace.scopes, user_id=user_id)
