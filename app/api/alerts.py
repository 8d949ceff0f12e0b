"""Alerts intake (POST/GET /alerts) and alert channels as code (/alert-channels)."""
from __future__ import annotations

from flask import g, jsonify, request

from app.api import bp
from app.api.auth import api_key_required, json_body
from app.api.serializers import alert_json, route_json
from app.errors import error_response
from app.models import SEVERITIES
from app.services.accounts import find_user
from app.services.alert_routes import (
    RouteError,
    add_route,
    get_route,
    org_routes,
    parse_severities,
    pick_workspace,
    remove_route,
    update_route,
)
from app.services.alerts import MAX_DETAILS, MAX_POLICY, MAX_TITLE, fire_alert, recent_alerts
from app.slack.channels import cached_channels, find_channel
from jobs import QueueUnavailable, enqueue
from jobs.alerts import refresh_channel_list

ALERT_FIELDS = {"severity", "policy", "title", "details", "user_email", "dedup_key"}


def _text(body: dict, name: str, limit: int, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise RouteError(f"{name} must be a non-empty string" if required else f"{name} must be a string")
    if len(value) > limit:
        raise RouteError(f"{name} is longer than {limit:,} characters")
    return value.strip()


@bp.post("/alerts")
@api_key_required
def post_alert():
    """Fire an alert: it is stored with its channel deliveries, then delivered by jobs."""
    body, error = json_body()
    if error:
        return error
    unknown = set(body) - ALERT_FIELDS
    if unknown:
        return error_response(400, f"Unknown field(s): {', '.join(sorted(unknown))}. Accepted: {', '.join(sorted(ALERT_FIELDS))}.")
    try:
        severity = _text(body, "severity", 16).lower()
        if severity not in SEVERITIES:
            raise RouteError(f"severity must be one of {', '.join(SEVERITIES)}")
        policy, title = _text(body, "policy", MAX_POLICY), _text(body, "title", MAX_TITLE)
        details = _text(body, "details", MAX_DETAILS, required=False) or ""
        dedup_key = _text(body, "dedup_key", 200, required=False) or None
        email = _text(body, "user_email", 320, required=False)
    except RouteError as exc:
        return error_response(400, str(exc))
    subject = None
    if email:
        subject = find_user(email, g.org.id)
        if subject is None:
            return error_response(400, f"user_email: no user with email {email} in this organization.")
    fired = fire_alert(g.org, severity, policy, title, details, subject, dedup_key)
    body = {"alert": alert_json(fired.alert), "created": fired.created, "deliveries": fired.channels}
    return jsonify(body), 201 if fired.created else 200


@bp.get("/alerts")
@api_key_required
def get_alerts():
    """The organization's alerts, newest first, filtered by severity and status."""
    severity = request.args.get("severity", "").lower() or None
    status = request.args.get("status", "").lower() or None
    if severity and severity not in SEVERITIES:
        return error_response(400, f"severity must be one of {', '.join(SEVERITIES)}.")
    if status and status not in ("open", "acknowledged"):
        return error_response(400, "status must be open or acknowledged.")
    raw_limit = request.args.get("limit", "50")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 200:
        return error_response(400, "limit must be a whole number from 1 to 200.")
    alerts = recent_alerts(g.org, severity, int(raw_limit), status, with_tickets=True)
    return jsonify(alerts=[alert_json(a) for a in alerts])


@bp.get("/alert-channels")
@api_key_required
def get_alert_channels():
    """Every channel that receives alerts, with its severities and last delivery."""
    return jsonify(alert_channels=[route_json(r) for r in org_routes(g.org.id)])


def _resolve_channel(workspace, body: dict) -> tuple[str, str]:
    """(channel id, name) from channel_id or channel_name, using the channel list Toktra keeps."""
    channel_id, channel_name = body.get("channel_id"), body.get("channel_name")
    if not (isinstance(channel_id, str) and channel_id.strip()) and not (isinstance(channel_name, str) and channel_name.strip()):
        raise RouteError("give channel_id (e.g. C0123ABCD) or channel_name (e.g. security-incidents)")
    if isinstance(channel_id, str) and channel_id.strip():
        known = find_channel(workspace.id, channel_id)
        return channel_id.strip(), known["name"] if known else (channel_name or "").lstrip("#")
    channels, _ = cached_channels(workspace.id)
    if channels is None:
        try:
            enqueue(refresh_channel_list, workspace_id=workspace.id)
        except QueueUnavailable:
            pass
        raise RouteError("Toktra is loading this workspace's channel list from Slack; retry in a few seconds, "
                         "or give channel_id instead.", 503)
    known = find_channel(workspace.id, channel_name)
    if known is None:
        raise RouteError(f"no channel named #{channel_name.lstrip('#')} that Toktra can post to in "
                         f"{workspace.team_name}; invite @Toktra to private channels first.", 404)
    return known["id"], known["name"]


@bp.post("/alert-channels")
@api_key_required
def post_alert_channel():
    """Route severities to a channel (by id or name; team_id when the org has several workspaces)."""
    body, error = json_body()
    if error:
        return error
    try:
        severities = parse_severities(body.get("severities"))
        workspace = pick_workspace(g.org, body.get("team_id"))
        channel_id, channel_name = _resolve_channel(workspace, body)
        route = add_route(workspace, channel_id, channel_name, severities)
    except RouteError as exc:
        response, status = error_response(exc.status, str(exc))
        if status == 503:
            response.headers["Retry-After"] = "5"
        return response, status
    return jsonify(route_json(route)), 201


@bp.put("/alert-channels/<int:route_id>")
@api_key_required
def put_alert_channel(route_id: int):
    """Change which severities a channel receives."""
    route = get_route(g.org.id, route_id)
    if route is None:
        return error_response(404, f"No alert channel {route_id} in this organization.")
    body, error = json_body()
    if error:
        return error
    try:
        update_route(route, parse_severities(body.get("severities")))
    except RouteError as exc:
        return error_response(exc.status, str(exc))
    return jsonify(route_json(route))


@bp.delete("/alert-channels/<int:route_id>")
@api_key_required
def delete_alert_channel(route_id: int):
    """Stop sending alerts to a channel."""
    route = get_route(g.org.id, route_id)
    if route is None:
        return error_response(404, f"No alert channel {route_id} in this organization.")
    remove_route(route)
    return "", 204
