"""GET and PUT /budget, and requests for more budget (POST /budget/requests)."""
from __future__ import annotations

from flask import g, jsonify, url_for

from app.api import bp
from app.api.auth import api_key_required
from app.api.contract import MAX_ID, operation
from app.api.schemas import Budget, BudgetRequest, BudgetRequestIn, BudgetUpdate, Error
from app.api.serializers import budget_json, budget_request_json
from app.errors import error_response, status_for
from app.extensions import db
from app.models import ReimbursementRequest
from app.models.reimbursements import BUDGET_INCREASE
from app.services.accounts import find_user
from app.services.budget_requests import submit_budget_request
from app.services.reimbursements import ReimbursementError
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


@bp.post("/budget/requests")
@api_key_required
@operation("Ask for more budget (the organization's other admins get a Slack DM)", {
    201: (BudgetRequest, "The pending request; Location names it"),
    403: (Error, "The requester is a member: only managers and admins may ask for more budget"),
}, body=BudgetRequestIn)
def post_budget_request(body: BudgetRequestIn):
    """Ask for more budget on behalf of a manager or admin; approval raises this period's or the monthly limit."""
    requester = find_user(body.requester_email, g.org.id)
    if requester is None:
        return error_response(400, f"requester_email: no user with email {body.requester_email} in this organization")
    try:
        request = submit_budget_request(g.org, requester, body.amount, body.reason, body.scope)
    except ReimbursementError as exc:
        return error_response(status_for(exc), str(exc))
    response = jsonify(budget_request_json(request))
    response.headers["Location"] = url_for("api.get_budget_request", request_id=request.id)
    return response, 201


@bp.get("/budget/requests/<int:request_id>")
@api_key_required
@operation("A request for more budget and its status", {200: (BudgetRequest, "The request")})
def get_budget_request(request_id: int):
    """A request for more budget and its status."""
    request = db.session.get(ReimbursementRequest, request_id) if request_id <= MAX_ID else None
    if request is None or request.org_id != g.org.id or request.kind != BUDGET_INCREASE:
        return error_response(404, f"No budget request {request_id} in this organization.")
    return jsonify(budget_request_json(request))
