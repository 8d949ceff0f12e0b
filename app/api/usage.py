"""POST /usage (ingest) and GET /usage/summary."""
from __future__ import annotations

from flask import current_app, g, jsonify, request

from app.api import bp
from app.api.auth import api_key_required, json_body
from app.api.serializers import usage_summary_json
from app.errors import error_response
from app.services.accounts import find_user
from app.services.usage import ingest_usage, usage_summary
from app.services.budget_policy import check_budget_thresholds


@bp.post("/usage")
@api_key_required
def post_usage():
    """Ingest a batch of usage events; idempotent by event id, with a reason per rejected event."""
    body, error = json_body()
    if error:
        return error
    events = body.get("events")
    if not isinstance(events, list):
        return error_response(400, 'The body must have an "events" array.')
    limit = current_app.config["USAGE_BATCH_MAX_EVENTS"]
    if len(events) > limit:
        return error_response(413, f"A batch holds at most {limit} events; this one has {len(events)}. Split it.")
    result = ingest_usage(g.org, events)
    if result.accepted:
        check_budget_thresholds(g.org)
    return jsonify(accepted=result.accepted, duplicates=result.duplicates, rejected=result.rejected)


@bp.get("/usage/summary")
@api_key_required
def get_usage_summary():
    """The current billing period's tokens and cost per provider, for one person or the org."""
    email = request.args.get("user_email", "").strip()
    user = None
    if email:
        user = find_user(email, g.org.id)
        if user is None:
            return error_response(404, f"No user with email {email} in this organization.")
    return jsonify(usage_summary_json(usage_summary(g.org, user), user))
