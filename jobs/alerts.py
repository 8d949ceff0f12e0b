"""Alert jobs: deliver to channels exactly once, keep every copy current, acknowledge, test, sweep."""
from __future__ import annotations

import datetime as dt
import json
import logging

import sqlalchemy as sa

from app.extensions import db
from app.models import Alert, AlertChannelRoute, AlertDelivery, Organization, SlackWorkspace
from app.models.types import utcnow
from app.services.alerts import acknowledge_alert, has_active_itsm, recent_alerts
from app.slack import cards
from app.slack.actions import INVALID_BUTTON, AlertButton, parse_alert_button
from app.slack.arguments import ArgumentError, parse_alerts_args
from app.slack.channels import channel_types, store_channels
from app.slack.format import when
from app.slack.pacing import hold_channel, reserve_channel_slot
from app.slack.respond import post_response
from app.slack.users import acting_user
from app.slack.web import (
    SlackChannelUnavailable,
    SlackError,
    SlackRateLimited,
    SlackTokenRevoked,
    WorkspaceClient,
)
from jobs import QueueUnavailable, enqueue, enqueue_in
from jobs.slack_retry import reschedule_on_rate_limit

log = logging.getLogger(__name__)

# A delivery claimed this long ago whose job vanished (killed worker) may be claimed again.
STALE_CLAIM = dt.timedelta(minutes=5)
# Pending deliveries older than this are re-queued by the sweeper (their job was lost).
SWEEP_AFTER = dt.timedelta(minutes=2)

FAILURE_WORDS = {
    "not_in_channel": "Toktra is not in this channel: invite @Toktra to it.",
    "channel_not_found": "Channel not found: it was deleted, or it is private and Toktra was not invited.",
    "is_archived": "The channel is archived.",
    "invalid_auth": "The Slack token was revoked: reinstall Toktra in this workspace.",
    "token_revoked": "The Slack token was revoked: reinstall Toktra in this workspace.",
    "account_inactive": "The Slack token was revoked: reinstall Toktra in this workspace.",
    "workspace inactive": "The workspace is disconnected: reinstall Toktra in it.",
}


def failure_in_words(error: str) -> str:
    """What an admin reads for a delivery that cannot succeed."""
    return FAILURE_WORDS.get(error, f"Slack refused the message: {error}.")


def queue_deliveries(delivery_ids: list[int]) -> None:
    """Queue a job per delivery; if Redis is down the sweeper queues them later, so nothing is lost."""
    for delivery_id in delivery_ids:
        try:
            enqueue("jobs.alerts.deliver_alert", delivery_id)
        except QueueUnavailable:
            log.warning("delivery %s not queued (queue down); the sweeper will pick it up", delivery_id)
            return


def _record_on_route(delivery: AlertDelivery, ok: bool, error: str | None) -> None:
    if delivery.route_id is None:
        return
    db.session.execute(sa.update(AlertChannelRoute).where(AlertChannelRoute.id == delivery.route_id).values(
        last_delivery_at=utcnow(), last_delivery_ok=ok, last_delivery_error=error))


def _claim(delivery_id: int) -> bool:
    """Take the delivery for this job; False if another job has it or it is done."""
    now = utcnow()
    claimed = db.session.execute(
        sa.update(AlertDelivery)
        .where(AlertDelivery.id == delivery_id,
               sa.or_(AlertDelivery.state == "pending",
                      sa.and_(AlertDelivery.state == "sending", AlertDelivery.claimed_at < now - STALE_CLAIM)))
        .values(state="sending", claimed_at=now, attempts=AlertDelivery.attempts + 1)
    ).rowcount == 1
    db.session.commit()
    return claimed


def _release(delivery: AlertDelivery, error: str | None = None) -> None:
    delivery.state = "pending"
    delivery.claimed_at = None
    delivery.last_error = error
    db.session.commit()


def deliver_alert(delivery_id: int, slot_reserved: bool = False) -> str:
    """Post one alert to one channel, once: a second run, or a run after success, posts nothing."""
    delivery = db.session.get(AlertDelivery, delivery_id)
    if delivery is None or delivery.state in ("sent", "failed"):
        return "nothing to do"
    if not slot_reserved:
        wait = reserve_channel_slot(delivery.workspace_id, delivery.channel_id)
        if wait > 0:
            # Slack's per-channel pace: run again at this channel's reserved slot; other channels go on.
            enqueue_in(wait, "jobs.alerts.deliver_alert", delivery_id, True)
            return f"paced, posting in {wait:.1f}s"
    if not _claim(delivery_id):
        return "claimed elsewhere"
    db.session.refresh(delivery)
    alert, workspace = delivery.alert, db.session.get(SlackWorkspace, delivery.workspace_id)
    org = db.session.get(Organization, alert.org_id)
    try:
        client = WorkspaceClient(workspace)
        text, blocks = cards.render_alert_card(alert, org.timezone, has_active_itsm(org))
        response = client.call("chat_postMessage", channel=delivery.channel_id, text=text, blocks=blocks,
                               unfurl_links=False)
    except SlackRateLimited as exc:
        hold_channel(delivery.workspace_id, delivery.channel_id, exc.retry_after)
        _release(delivery, "rate limited by Slack")
        enqueue_in(exc.retry_after, "jobs.alerts.deliver_alert", delivery_id, True)
        return f"rate limited, retry in {exc.retry_after}s"
    except (SlackChannelUnavailable, SlackTokenRevoked) as exc:
        # A workspace found inactive before the call has no Slack error of its own to explain.
        known = exc.error in FAILURE_WORDS or isinstance(exc, SlackChannelUnavailable)
        words = failure_in_words(exc.error if known else "workspace inactive")
        delivery.state, delivery.last_error = "failed", words
        _record_on_route(delivery, False, words)
        db.session.commit()
        return f"failed: {exc.error}"
    except SlackError as exc:
        _release(delivery, f"Slack error: {exc.error}; retrying")
        raise  # RQ retries with backoff
    delivery.state, delivery.message_ts, delivery.sent_at, delivery.last_error = "sent", response["ts"], utcnow(), None
    _record_on_route(delivery, True, None)
    db.session.commit()
    return f"sent {response['ts']}"


@reschedule_on_rate_limit
def update_alert_cards(alert_id: int) -> int:
    """Bring every channel copy of an alert up to date (acknowledged, ticket linked); returns how many."""
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        return 0
    org = db.session.get(Organization, alert.org_id)
    deliveries = db.session.scalars(sa.select(AlertDelivery).where(
        AlertDelivery.alert_id == alert_id, AlertDelivery.state == "sent")).all()
    text, blocks = cards.render_alert_card(alert, org.timezone, has_active_itsm(org))
    updated = 0
    for delivery in deliveries:
        workspace = db.session.get(SlackWorkspace, delivery.workspace_id)
        try:
            WorkspaceClient(workspace).call("chat_update", channel=delivery.channel_id, ts=delivery.message_ts,
                                            text=text, blocks=blocks)
            updated += 1
        except (SlackChannelUnavailable, SlackTokenRevoked) as exc:
            log.info("alert %s copy in %s not updated: %s", alert_id, delivery.channel_id, exc.error)
    return updated


@reschedule_on_rate_limit
def acknowledge_from_slack(workspace_id: int, value: str, slack_user_id: str, response_url: str,
                           is_ephemeral: bool) -> str:
    """Acknowledge an alert for the verified Slack user; the first click wins, later ones are told who won."""
    workspace = db.session.get(SlackWorkspace, workspace_id)
    if workspace is None or not workspace.active:
        return "workspace gone"
    button = parse_alert_button(value)
    user = acting_user(workspace, slack_user_id, response_url)
    if user is None:
        return "no account"
    if button is None:
        post_response(response_url, *cards.notice(INVALID_BUTTON))
        return "invalid button"
    won, alert = acknowledge_alert(button.alert_id, user)
    org = workspace.organization
    if alert is None:
        post_response(response_url, *cards.notice("This alert no longer exists in Toktra."))
        return "missing"
    if not won:
        by = alert.acknowledged_by.name if alert.acknowledged_by else "someone"
        post_response(response_url, *cards.notice(
            f"This alert was already acknowledged by {by} at {when(alert.acknowledged_at, org.timezone)}."))
        return "already acknowledged"
    if is_ephemeral:
        _replace_alert_list(org, response_url, button)
    enqueue("jobs.alerts.update_alert_cards", alert.id)
    return "acknowledged"


def _replace_alert_list(org: Organization, response_url: str, button: AlertButton) -> None:
    """Re-render the /toktra-alerts message the click came from, showing the new state."""
    query_text = button.query
    try:
        query = parse_alerts_args(query_text)
    except ArgumentError:
        return
    alerts = recent_alerts(org, query.severity, query.limit, with_tickets=True)
    heading = f"*Recent alerts for {org.name}* — updated"
    pages = cards.render_alert_list(alerts, org.timezone, has_active_itsm(org), heading, query_text)
    page = button.page
    if 0 <= page < len(pages):
        text, blocks = pages[page]
        post_response(response_url, text, blocks, replace_original=True)


def send_test_alert(route_id: int) -> str:
    """Post a test message to an alert channel and record how it went on the route."""
    route = db.session.get(AlertChannelRoute, route_id)
    if route is None:
        return "route gone"
    workspace = route.workspace
    ok, error = True, None
    try:
        text, blocks = cards.render_test_alert(route.channel_name or route.channel_id, workspace.organization.name)
        WorkspaceClient(workspace).call("chat_postMessage", channel=route.channel_id, text=text, blocks=blocks)
    except SlackRateLimited as exc:
        enqueue_in(exc.retry_after, "jobs.alerts.send_test_alert", route_id)
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
            page = client.call("conversations_list", types=channel_types(workspace.scopes), exclude_archived=True,
                               limit=200,
                               cursor=cursor or None)
        except SlackRateLimited as exc:
            enqueue_in(exc.retry_after, "jobs.alerts.refresh_channel_list", workspace_id, cursor, json.dumps(channels))
            return len(channels)
        channels += [{"id": c["id"], "name": c["name"], "is_private": c.get("is_private", False)}
                     for c in page["channels"] if c.get("is_member") or not c.get("is_private")]
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            break
    store_channels(workspace_id, channels)
    return len(channels)


def sweep_deliveries() -> int:
    """Re-queue deliveries still pending past the deadline (their job was lost); returns how many."""
    now = utcnow()
    stuck = db.session.scalars(
        sa.select(AlertDelivery.id).where(
            sa.or_(sa.and_(AlertDelivery.state == "pending", AlertDelivery.created_at < now - SWEEP_AFTER),
                   sa.and_(AlertDelivery.state == "sending", AlertDelivery.claimed_at < now - STALE_CLAIM)))
        .order_by(AlertDelivery.id).limit(1000)
    ).all()
    queue_deliveries(list(stuck))
    return len(stuck)


def fire_budget_alerts(org: Organization) -> None:
    """Fire (and queue) the budget alerts the organization's current spend calls for."""
    from app.services.budget_policy import check_budget_thresholds

    for fired in check_budget_thresholds(org):
        queue_deliveries(fired.delivery_ids)
