"""Alerts intake (POST/GET /alerts) and alert channels as code (/alert-channels)."""
from __future__ import annotations

from flask import g, jsonify

from app.extensions import db
from app.models import Alert

from app.api import bp
from app.api.auth import api_key_required
from app.api.contract import MAX_ID, operation
from app.api.schemas import (
    AlertChannel,
    AlertChannelIn,
    AlertChannelList,
    AlertIn,
    AlertList,
    AlertTimeline,
    AlertsQuery,
    Error,
    FiredAlert,
    ResolvedAlert,
    SeveritiesIn,
)
from app.api.serializers import alert_json, route_json
from app.errors import error_response, status_for
from app.services.errors import NOT_FOUND, UNAVAILABLE
from app.services.accounts import find_user
from app.services.alert_routes import KEEP, RouteError, add_route, get_route, org_routes, pick_workspace, remove_route, update_route
from app.services.alert_lifecycle import resolve_alert
from app.services.alerts import fire_alert, recent_alerts
from app.services.alert_timeline import event_words, timelines
from app.services.digests import DigestError, check_delivery
from app.slack.blocks.format import plain
from app.slack.client.channels import cached_channels, find_channel, resolve_channel
from jobs import QueueUnavailable, enqueue
from jobs.alerts import refresh_channel_list



@bp.post("/alerts")
@api_key_required
@operation("Fire an alert (stored with its channel deliveries, then delivered)", {
    201: (FiredAlert, "The new alert"),
    200: (FiredAlert, "An open alert with the same dedup_key already exists"),
}, body=AlertIn)
def post_alert(body: AlertIn):
    """Fire an alert: it is stored with its channel deliveries, then delivered by jobs."""
    subject = None
    if body.user_email:
        subject = find_user(body.user_email, g.org.id)
        if subject is None:
            return error_response(400, f"user_email: no user with email {body.user_email} in this organization.")
    fired = fire_alert(g.org, body.severity, body.policy, body.title, body.details, subject, body.dedup_key or None)
    answer = {"alert": alert_json(fired.alert), "created": fired.created, "deliveries": fired.channels}
    return jsonify(FiredAlert.model_validate(answer).model_dump()), 201 if fired.created else 200


@bp.get("/alerts")
@api_key_required
@operation("The organization's alerts, newest first", {200: (AlertList, "The alerts")}, query=AlertsQuery)
def get_alerts(query: AlertsQuery):
    """The organization's alerts, newest first, filtered by severity and status."""
    alerts = recent_alerts(g.org, query.severity, query.limit, query.status, with_tickets=True)
    return jsonify(alerts=[alert_json(a) for a in alerts])


@bp.post("/alerts/<int:alert_id>/resolve")
@api_key_required
@operation("Resolve an alert (idempotent: an alert resolved already is answered as it is, 200)", {
    200: (ResolvedAlert, "The alert, resolved; resolved_now says whether this request did it"),
    404: (Error, "No such alert in this organization"),
})
def post_alert_resolve(alert_id: int):
    """Resolve an alert, e.g. from the system that raised it once the problem is gone; every card says so."""
    if alert_id > MAX_ID:
        return _no_alert(alert_id)
    resolved_now, alert = resolve_alert(alert_id, g.org.id, None, f"through the API (key “{plain(g.api_key.name)}”)")
    if alert is None:
        return _no_alert(alert_id)
    answer = {"alert": alert_json(alert), "resolved_now": resolved_now}
    return jsonify(ResolvedAlert.model_validate(answer).model_dump())


@bp.get("/alerts/<int:alert_id>/events")
@api_key_required
@operation("An alert's timeline, oldest first", {
    200: (AlertTimeline, "What happened to the alert: actions, tickets, reminders sent, snooze ends"),
    404: (Error, "No such alert in this organization"),
})
def get_alert_events(alert_id: int):
    """An alert's timeline: who acknowledged, resolved or snoozed it, its tickets, and the reminders and snooze
    ends Toktra posted."""
    alert = db.session.get(Alert, alert_id) if alert_id <= MAX_ID else None
    if alert is None or alert.org_id != g.org.id:
        return _no_alert(alert_id)
    events = [{"event": e.event, "summary": event_words(e), "actor": e.actor.email if e.actor else None,
               "at": e.at.isoformat()} for e in timelines([alert.id])[alert.id]]
    return jsonify(AlertTimeline.model_validate({"events": events}).model_dump())


def _no_alert(alert_id: int):
    return error_response(404, f"No alert {alert_id} in this organization.")


@bp.get("/alert-channels")
@api_key_required
@operation("Channels that receive alerts", {200: (AlertChannelList, "The channels")})
def get_alert_channels():
    """Every channel that receives alerts, with its severities and last delivery."""
    return jsonify(alert_channels=[route_json(r) for r in org_routes(g.org.id)])


def _resolve_channel(workspace, body: AlertChannelIn) -> tuple[str, str]:
    """(channel id, name) from channel_id or channel_name, using the channel list Toktra keeps."""
    return resolve_channel_ref(workspace, body.channel_id, body.channel_name)


def resolve_channel_ref(workspace, channel_id: str | None, channel_name: str | None) -> tuple[str, str]:
    """(channel id, name) from a channel ID or name given to the API; RouteError (503 while the list loads) if not."""
    if not channel_id and not channel_name:
        raise RouteError("give channel_id (e.g. C0123ABCD) or channel_name (e.g. security-incidents)")
    if channel_id:
        known = find_channel(workspace.id, channel_id)
        return channel_id, known["name"] if known else (channel_name or "").lstrip("#")
    channels, _ = cached_channels(workspace.id)
    if channels is None:
        try:
            enqueue(refresh_channel_list, workspace_id=workspace.id)
        except QueueUnavailable:
            pass
        raise RouteError("Toktra is loading this workspace's channel list from Slack; retry in a few seconds, "
                         "or give channel_id instead.", UNAVAILABLE)
    known = resolve_channel(workspace.id, channel_name)
    if known is None:
        raise RouteError(f"no channel named #{channel_name.lstrip('#')} that Toktra can post to in "
                         f"{workspace.team_name}; invite @Toktra to private channels first, or give the "
                         "channel's ID (in Slack: channel details).", NOT_FOUND)
    return known["id"], known["name"]


@bp.post("/alert-channels")
@api_key_required
@operation("Route severities to a channel", {
    201: (AlertChannel, "The new route"),
    404: (Error, "No channel by that name that Toktra can post to"),
    409: (Error, "The channel already receives alerts, or Toktra is not installed in a workspace"),
    503: (Error, "The channel list is being loaded from Slack (or the database is not answering); retry"),
}, body=AlertChannelIn)
def post_alert_channel(body: AlertChannelIn):
    """Route severities to a channel (by id or name; team_id when the org has several workspaces)."""
    try:
        workspace = pick_workspace(g.org, body.team_id)
        delivery = check_delivery(body.delivery, body.digest_time, body.digest_weekday)
        channel_id, channel_name = _resolve_channel(workspace, body)
        route = add_route(workspace, channel_id, channel_name, body.severities, body.remind_after_minutes,
                          remind_after_by_severity=body.remind_after_by_severity, delivery=delivery)
    except (RouteError, DigestError) as exc:
        response, status = error_response(status_for(exc), str(exc))
        if status == 503:
            response.headers["Retry-After"] = "5"
        return response, status
    return jsonify(route_json(route)), 201


@bp.put("/alert-channels/<int:route_id>")
@api_key_required
@operation("Change a channel's severities, reminders or delivery (real time, daily or weekly digest)",
           {200: (AlertChannel, "The updated route")}, body=SeveritiesIn)
def put_alert_channel(route_id: int, body: SeveritiesIn):
    """Change which severities a channel receives."""
    route = get_route(g.org.id, route_id) if route_id <= MAX_ID else None
    if route is None:
        return error_response(404, f"No alert channel {route_id} in this organization.")
    try:
        delivery = None
        if body.delivery is not None or body.digest_time is not None or body.digest_weekday is not None:
            delivery = check_delivery(body.delivery or route.delivery,
                                      body.digest_time if body.digest_time is not None else route.digest_time,
                                      body.digest_weekday if body.digest_weekday is not None else route.digest_weekday)
        reminders = body.remind_after_minutes if "remind_after_minutes" in body.model_fields_set else KEEP
        by_severity = body.remind_after_by_severity if "remind_after_by_severity" in body.model_fields_set else KEEP
        update_route(route, body.severities, reminders, remind_after_by_severity=by_severity, delivery=delivery)
    except (RouteError, DigestError) as exc:
        return error_response(status_for(exc), str(exc))
    return jsonify(route_json(route))


@bp.delete("/alert-channels/<int:route_id>")
@api_key_required
@operation("Stop sending alerts to a channel", {204: (None, "Removed")})
def delete_alert_channel(route_id: int):
    """Stop sending alerts to a channel."""
    route = get_route(g.org.id, route_id) if route_id <= MAX_ID else None
    if route is None:
        return error_response(404, f"No alert channel {route_id} in this organization.")
    remove_route(route)
    return "", 204
