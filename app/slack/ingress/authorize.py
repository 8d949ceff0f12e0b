"""Authorizing Slack requests from our own store, without calling Slack on the request path."""
from __future__ import annotations

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_bolt.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from app.logs import bind
from app.slack.ingress.dedupe import CHECK_IN, CheckIn, delivery_key
from app.slack.ingress.installations import installation_cache

WORKSPACE_ID = "toktra_workspace_id"
INSTALLED = "toktra_installed"
NOT_INSTALLED_MESSAGE = (
    ":warning: Toktra is not connected to this workspace (or was uninstalled). "
    "Ask a Toktra admin to install it from Integrations → Slack."
)
# Slack sends these after an uninstall; they must reach their listeners without a live installation.
NO_INSTALLATION_NEEDED = {"app_uninstalled", "tokens_revoked", "team_access_revoked"}


def refuse_unknown_workspaces(req: BoltRequest, resp: BoltResponse, next) -> BoltResponse:
    """Before Bolt authorizes: answer requests from workspaces without an active installation here.

    Bolt itself would post its refusal to the response_url from the web process; answering in the
    acknowledgement keeps every call to Slack out of the request path. A workspace cached as installed
    is taken as it is, and the request's check-in (dedupe mark and installations version) goes to Redis
    with its job; otherwise the request checks in first and reads the installation at that version.
    """
    body = req.body or {}
    if body.get("type") in ("url_verification",) or body.get("ssl_check") or \
            (body.get("event") or {}).get("type") in NO_INSTALLATION_NEEDED:
        return next()
    context = req.context
    cache = installation_cache()
    team_id = None if context.is_enterprise_install else context.team_id
    key = delivery_key(body)
    cached = cache.peek(context.enterprise_id, team_id) if key is not None else None
    if cached is not None:
        version, installed = cached
        context[CHECK_IN] = CheckIn(key, version, first=None)
    else:
        check = context[CHECK_IN] = CheckIn.now(key)
        installed = cache.lookup(context.enterprise_id, team_id, check.version)
    if installed is not None:
        bind(slack_team=context.team_id or context.enterprise_id, workspace_id=installed.workspace_id)
        context[WORKSPACE_ID] = installed.workspace_id
        context[INSTALLED] = installed
        return next()
    return BoltResponse(status=200, body=NOT_INSTALLED_MESSAGE if context.response_url else "")


class StoredWorkspaceAuthorize(Authorize):
    """Bolt's authorize step, answered from SlackWorkspace rows (as cached by refuse_unknown_workspaces).

    Bolt's own InstallationStoreAuthorize calls auth.test on every request; the stored installation
    already holds what that returns, so the acknowledgement never waits on Slack, nor on PostgreSQL
    while the cache is current. The result carries no token: listeners only queue jobs, and jobs read
    (and rotate) the token themselves (app.slack.client.web), so the acknowledgement never decrypts one.
    """

    def __call__(self, *, context: BoltContext, enterprise_id, team_id, user_id, **_) -> AuthorizeResult:
        installed = context[INSTALLED]  # found by refuse_unknown_workspaces
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, team=installed.team_name,
                               bot_id=installed.bot_id, bot_user_id=installed.bot_user_id, bot_scopes=installed.scopes, user_id=user_id)
