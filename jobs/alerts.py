"""Alert jobs: Acknowledge, Resolve, Reopen and Snooze clicked in Slack, test messages to a channel, the channel list."""
from __future__ import annotations

import json
import logging


from app.extensions import db
from app.models import AlertChannelRoute, Organization, SlackWorkspace
from app.models.types import utcnow
from app.services.alert_lifecycle import SNOOZE_CHOICES, reopen_alert, resolve_alert, snooze_alert
from app.services.alerts import ACK_REASONS, acknowledge_alert, has_active_itsm, recent_alerts
from app.services.errors import DomainError
from app.slack.blocks import cards
from app.slack.actions import INVALID_BUTTON, AlertButton, parse_alert_button, parse_snooze_choice
from app.slack.arguments import ArgumentError, parse_alerts_args
from app.slack.client.channels import channel_types, store_channels
from app.slack.blocks.format import slack_time
from app.slack.client.respond import post_response, post_response_if_alive
from app.slack.client.users import clicking_user
from app.slack.client.web import SlackError, SlackRateLimited, WorkspaceClient, failure_in_words
from jobs import enqueue_in
from jobs.slack_retry import reschedule_on_rate_limit

log = logging.getLogger(__name__)


@reschedule_on_rate_limit
def acknowledge_from_slack(workspace_id: int, value: str, slack_user_id: str, response_url: str,
                           is_ephemeral: bool, reason: str | None = None, note: str | None = None) -> str:
    """Acknowledge an alert for the verified Slack user; the first click wins, later ones are told who won.

    The acknowledgement and the update of every channel copy are committed together first, so a dead
    response_url (expired list, 30 minutes on) can only cost the clicker's own view, never the update.
    """
    clicked = clicked_alert_button(workspace_id, value, slack_user_id, response_url)
    if isinstance(clicked, str):
        return clicked
    workspace, user, button = clicked
    won, alert = acknowledge_alert(button.alert_id, user, reason if reason in ACK_REASONS else None, note)
    org = workspace.organization
    if alert is None:
        post_response_if_alive(response_url, *cards.notice("This alert no longer exists in Toktra."))
        return "missing"
    if not won:
        post_response_if_alive(response_url, *cards.notice(already_acknowledged(alert, org)))
        return "already acknowledged"
    if is_ephemeral:
        _replace_alert_list(org, response_url, button)
    return "acknowledged"


def already_acknowledged(alert, org: Organization) -> str:
    """What a late clicker is told (resolved meanwhile, or acknowledged by whom and when)."""
    if alert.status == "resolved":
        return resolved_words(alert, org)
    by = alert.acknowledged_by.name if alert.acknowledged_by else "someone"
    return f"This alert was already acknowledged by {by} at {slack_time(alert.acknowledged_at, org.timezone)}."


def _replace_alert_list(org: Organization, response_url: str, button: AlertButton) -> None:
    """Re-render the /toktra-alerts message the click came from, showing the new state."""
    query_text = button.query
    try:
        query = parse_alerts_args(query_text)
    except ArgumentError:
        return
    alerts = recent_alerts(org, query.severity, query.limit, query.statuses, with_tickets=True)
    heading = f"*Recent alerts for {org.name}* — updated"
    pages = cards.render_alert_list(alerts, org.timezone, has_active_itsm(org), heading, query_text)
    page = button.page
    if 0 <= page < len(pages):
        text, blocks = pages[page]
        post_response_if_alive(response_url, text, blocks, replace_original=True)


def send_test_alert(route_id: int) -> str:
    """Post a test message to an alert channel and record how it went on the route."""
    route = db.session.get(AlertChannelRoute, route_id)
    if route is None:
        return "route gone"
    workspace = route.workspace
    ok, error = True, None
    try:
        text, blocks = cards.render_test_alert(route.channel_name or route.channel_id, workspace.organization.name)
        WorkspaceClient(workspace).chat_postMessage(channel=route.channel_id, text=text, blocks=blocks)
    except SlackRateLimited as exc:
        enqueue_in(exc.retry_after, send_test_alert, route_id=route_id)
        return "rate limited"
    except SlackError as exc:
        ok, error = False, failure_in_words(exc.error)
    route.last_delivery_at, route.last_delivery_ok, route.last_delivery_error = utcnow(), ok, error
    db.session.commit()
    return "sent" if ok else error


def refresh_channel_list(workspace_id: int, cursor: str = "", found: str = "[]") -> int:
    """List the workspace's channels (every page) into the cache; a 429 resumes from the same page later."""
    workspace = db.session.get(SlackWorkspace, workspace_id)
    if workspace is None or not workspace.active:
        return 0
    channels = json.loads(found)
    client = WorkspaceClient(workspace)
    while True:
        try:
            page = client.conversations_list(types=channel_types(workspace.scopes), exclude_archived=True, limit=200,
                                             cursor=cursor or None)
        except SlackRateLimited as exc:
            enqueue_in(exc.retry_after, refresh_channel_list, workspace_id=workspace_id, cursor=cursor,
                       found=json.dumps(channels))
            return len(channels)
        channels += [{"id": c["id"], "name": c["name"], "is_private": c.get("is_private", False)}
                     for c in page["channels"] if c.get("is_member") or not c.get("is_private")]
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            break
    store_channels(workspace_id, channels)
    return len(channels)


def clicked_alert_button(workspace_id: int, value: str, slack_user_id: str, response_url: str):
    """(workspace, verified Toktra user, button) behind an alert card's click, or why not (the clicker is told)."""
    clicked = clicking_user(workspace_id, slack_user_id, response_url)
    if isinstance(clicked, str):
        return clicked
    workspace, user = clicked
    button = parse_alert_button(value)
    if button is None:
        post_response(response_url, *cards.notice(INVALID_BUTTON))
        return "invalid button"
    return workspace, user, button


def _answer(workspace, response_url: str, button: AlertButton, is_ephemeral: bool, alert, won: bool,
            refused: str) -> str:
    """Tell a late clicker what already happened, or re-render the list the click came from."""
    if alert is None:
        post_response_if_alive(response_url, *cards.notice("This alert no longer exists in Toktra."))
        return "missing"
    if not won:
        post_response_if_alive(response_url, *cards.notice(refused))
        return "unchanged"
    if is_ephemeral:
        _replace_alert_list(workspace.organization, response_url, button)
    return "done"


def resolved_words(alert, org: Organization) -> str:
    """What someone resolving a resolved alert is told."""
    by = alert.resolved_by.name if alert.resolved_by else "Toktra"
    return f"This alert was already resolved by {by} at {slack_time(alert.resolved_at, org.timezone)}."


@reschedule_on_rate_limit
def resolve_from_slack(workspace_id: int, value: str, slack_user_id: str, response_url: str,
                       is_ephemeral: bool = False) -> str:
    """Resolve an alert for the verified Slack user; every copy and its thread say so."""
    clicked = clicked_alert_button(workspace_id, value, slack_user_id, response_url)
    if isinstance(clicked, str):
        return clicked
    workspace, user, button = clicked
    won, alert = resolve_alert(button.alert_id, user.org_id, user)
    refused = resolved_words(alert, workspace.organization) if alert is not None else ""
    return _answer(workspace, response_url, button, is_ephemeral, alert, won, refused)


@reschedule_on_rate_limit
def reopen_from_slack(workspace_id: int, value: str, slack_user_id: str, response_url: str,
                      is_ephemeral: bool = False) -> str:
    """Reopen a resolved alert for the verified Slack user."""
    clicked = clicked_alert_button(workspace_id, value, slack_user_id, response_url)
    if isinstance(clicked, str):
        return clicked
    workspace, user, button = clicked
    try:
        won, alert = reopen_alert(button.alert_id, user)
    except DomainError as exc:
        post_response_if_alive(response_url, *cards.notice(str(exc)))
        return "refused"
    refused = f"This alert is not resolved (it is {alert.status})." if alert is not None else ""
    return _answer(workspace, response_url, button, is_ephemeral, alert, won, refused)


@reschedule_on_rate_limit
def snooze_from_slack(workspace_id: int, value: str, slack_user_id: str, response_url: str,
                      is_ephemeral: bool = False) -> str:
    """Snooze an alert for the verified Slack user for the duration chosen in the card's menu."""
    clicked = clicked_alert_button(workspace_id, value, slack_user_id, response_url)
    if isinstance(clicked, str):
        return clicked
    workspace, user, button = clicked
    choice = parse_snooze_choice(value)
    if choice not in SNOOZE_CHOICES:
        post_response(response_url, *cards.notice(INVALID_BUTTON))
        return "invalid button"
    won, alert = snooze_alert(button.alert_id, user, choice)
    return _answer(workspace, response_url, button, is_ephemeral, alert, won,
                   "This alert is resolved, so there is nothing to snooze; reopen it first.")
