"""GET and PUT /budget."""
from __future__ import annotations

from flask import g, jsonify

from app.api import bp
from app.api.auth import api_key_required, json_body
from app.api.serializers import budget_json
from app.errors import error_response
from app.services.budget import budget_status, parse_budget_limit, parse_threshold, update_budget
from app.services.budget_policy import check_budget_thresholds


@bp.get("/budget")
@api_key_required
def get_budget():
    """The monthly limit, alert threshold and this period's spend."""
    return jsonify(budget_json(budget_status(g.org)))


@bp.put("/budget")
@api_key_required
def put_budget():
    """Set the monthly limit (USD, null for none) and the alert threshold (%)."""
    body, error = json_body()
    if error:
        return error
    unknown = set(body) - {"monthly_limit_usd", "alert_threshold_pct"}
    if unknown:
        return error_response(400, f"Unknown field(s): {', '.join(sorted(unknown))}. "
                                   "Accepted: monthly_limit_usd, alert_threshold_pct.")
    try:
        limit = parse_budget_limit(body["monthly_limit_usd"]) if "monthly_limit_usd" in body else g.org.monthly_budget_usd
        threshold = parse_threshold(body["alert_threshold_pct"]) if "alert_threshold_pct" in body else g.org.alert_threshold_pct
    except ValueError as exc:
        return error_response(400, str(exc))
    update_budget(g.org, limit, threshold)
    check_budget_thresholds(g.org)
    return jsonify(budget_json(budget_status(g.org)))
