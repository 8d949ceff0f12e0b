"""GET and PUT /budget."""
from __future__ import annotations

from flask import g, jsonify

from app.api import bp
from app.api.auth import api_key_required
from app.api.contract import operation
from app.api.schemas import Budget, BudgetUpdate
from app.api.serializers import budget_json
from app.services.budget import budget_status, update_budget
from app.services.budget_policy import check_budget_thresholds


@bp.get("/budget")
@api_key_required
@operation("The monthly budget and this period's spend", {200: (Budget, "The budget status")})
def get_budget():
    """The monthly limit, alert threshold and this period's spend."""
    return jsonify(budget_json(budget_status(g.org)))


@bp.put("/budget")
@api_key_required
@operation("Set the monthly limit and alert thresholds", {200: (Budget, "The updated budget status")},
           body=BudgetUpdate)
def put_budget(body: BudgetUpdate):
    """Set the monthly limit (USD, null for none) and the alert threshold(s) (%); a field left out keeps its value."""
    given = body.model_fields_set
    limit = body.monthly_limit_usd if "monthly_limit_usd" in given else g.org.monthly_budget_usd
    thresholds = g.org.thresholds
    if "alert_thresholds" in given:
        thresholds = body.alert_thresholds
    elif "alert_threshold_pct" in given:
        thresholds = [body.alert_threshold_pct]
    update_budget(g.org, limit, thresholds)
    check_budget_thresholds(g.org)
    return jsonify(budget_json(budget_status(g.org)))
