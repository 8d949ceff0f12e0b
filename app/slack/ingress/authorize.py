"""Authorizing Slack requests from our own store, without calling Slack on the request path."""
from __future__ import annotations

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_bolt.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from app.extensions import db
from app.models import SlackWorkspace
from app.slack.client.store import bot_token_for, find_workspace

WORKSPACE_ID = "toktra_workspace_id"
NOT_INSTALLED_MESSAGE = (
    ":warning: Toktra is not connected to this workspace (or was uninstalled). "
    "Ask a Toktra admin to install it from Integrations → Slack."
)
# Slack sends these after an uninstall; they must reach their listeners without a live installation.
NO_INSTALLATION_NEEDED = {"app_uninstalled", "tokens_revoked", "team_access_revoked"}


def refuse_unknown_workspaces(req: BoltRequest, resp: BoltResponse, next) -> BoltResponse:
    """Before Bolt authorizes: answer requests from workspaces without an active installation here.

    Bolt itself would post its refusal to the response_url from the web process; answering in the
    acknowledgement keeps every call to Slack out of the request path.
    """
    body = req.body or {}
    if body.get("type") in ("url_verification",) or body.get("ssl_check") or \
            (body.get("event") or {}).get("type") in NO_INSTALLATION_NEEDED:
        return next()
    context = req.context
    workspace = find_workspace(context.enterprise_id, None if context.is_enterprise_install else context.team_id)
    if workspace is not None and workspace.active:
        context[WORKSPACE_ID] = workspace.id
        return next()
    return BoltResponse(status=200, body=NOT_INSTALLED_MESSAGE if context.response_url else "")


class StoredWorkspaceAuthorize(Authorize):
    """Bolt's authorize step, answered from SlackWorkspace rows.

    Bolt's own InstallationStoreAuthorize calls auth.test on every request; the stored installation
    already holds what that returns, so the acknowledgement never waits on Slack. Token rotation
    happens in jobs, before a token is used (app.slack.client.web).
    """

    def __call__(self, *, context: BoltContext, enterprise_id, team_id, user_id, **_) -> AuthorizeResult | None:
        workspace = db.session.get(SlackWorkspace, context[WORKSPACE_ID])  # found by refuse_unknown_workspaces
        token = bot_token_for(workspace)
        if token is None:
            return None
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, team=workspace.team_name,
                               bot_token=token, bot_id=workspace.bot_id, bot_user_id=workspace.bot_user_id,
                               bot_scopes=workspace.scopes, user_id=user_id)
