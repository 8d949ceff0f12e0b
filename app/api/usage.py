"""POST /usage (ingest) and GET /usage/summary."""
from __future__ import annotations

from flask import g, jsonify

from app.api import bp
from app.api.auth import api_key_required
from app.api.contract import operation
from app.api.schemas import Error, IngestResult, UsageBatch, UsageSummary, UsageSummaryQuery
from app.api.serializers import usage_summary_json
from app.errors import error_response
from app.services.accounts import find_user
from app.services.usage import ECHO_LIMIT, ingest_usage, usage_summary
from app.services.budget_policy import check_budget_thresholds


@bp.post("/usage")
@api_key_required
@operation("Ingest usage events (idempotent by event id)", {
    200: (IngestResult, "What was stored, skipped as duplicate, or rejected (one reason per bad field)"),
    413: (Error, "The batch has more events than the limit (maxItems); split it"),
}, body=UsageBatch)
def post_usage(body: UsageBatch):
    """Ingest a batch of usage events; idempotent by event id, with a reason per rejected event."""
    refused = [{"index": e.index, "errors": e.errors} for e in body.events if e.errors]
    valid = [e for e in body.events if not e.errors]
    result = ingest_usage(g.org, [e.raw for e in valid])
    for item in result.rejected:  # the service numbered them within the valid ones
        item["index"] = valid[item["index"]].index
    for item in refused:
        raw = body.events[item["index"]].raw
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            item["id"] = raw["id"][:ECHO_LIMIT]
    if result.accepted:
        check_budget_thresholds(g.org)
    rejected = sorted(refused + result.rejected, key=lambda item: item["index"])
    return jsonify(IngestResult(accepted=result.accepted, duplicates=result.duplicates,
                                rejected=rejected).model_dump(exclude_none=True))


@bp.get("/usage/summary")
@api_key_required
@operation("Usage in the current billing period, per provider and in total", {
    200: (UsageSummary, "The summary"),
    404: (Error, "No user with that email in this organization"),
}, query=UsageSummaryQuery)
def get_usage_summary(query: UsageSummaryQuery):
    """The current billing period's tokens and cost per provider, for one person or the org."""
    user = None
    if query.user_email:
        user = find_user(query.user_email, g.org.id)
        if user is None:
            return error_response(404, f"No user with email {query.user_email} in this organization.")
    return jsonify(usage_summary_json(usage_summary(g.org, user), user))
