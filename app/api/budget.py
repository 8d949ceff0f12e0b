"""GET and PUT /budget, and requests for more budget (POST /budget/requests)."""
from __future__ import annotations

from flask import g, jsonify, url_for

from app.api import bp
from app.api.auth import api_key_required
from app.api.contract import operation
from app.api.alerts import resolve_channel_ref
from app.api.reimbursements import org_request
from app.api.schemas import (Allowance, AllowanceIn, AllowanceList, Budget, BudgetRequest, BudgetRequestIn, BudgetUpdate,
                             Error)
from app.api.serializers import budget_json, budget_request_json, money
from app.errors import error_response, status_for
from app.models.reimbursements import BUDGET_INCREASE
from app.services.alert_routes import RouteError, pick_workspace
from app.services.accounts import find_user
from app.services.budget_card import clear_budget_channel, set_budget_channel
from app.services.budget_requests import submit_budget_request
from app.services.pace_nudges import people_with_allowances, set_allowance
from app.services.reimbursements import ReimbursementError
from app.slack.client.channels import SLACK_CHANNEL_ID
from app.services.budget import budget_status, update_budget
from app.services.budget_policy import check_budget_thresholds


@bp.get("/budget")
@api_key_required
@operation("The monthly budget and this period's spend", {200: (Budget, "The budget status")})
def get_budget():
    """The monthly limit, alert threshold and this period's spend."""
    return jsonify(budget_json(budget_status(g.org), g.org))


@bp.put("/budget")
@api_key_required
@operation("Set the monthly limit, alert thresholds, budget channel and pace nudges", {
    200: (Budget, "The updated budget status"),
    404: (Error, "No channel by that name that Toktra can post to"),
    409: (Error, "Toktra is not installed in a Slack workspace of the organization"),
    503: (Error, "The channel list is being loaded from Slack; retry, or give the channel's ID"),
}, body=BudgetUpdate)
def put_budget(body: BudgetUpdate):
    """Set the monthly limit (USD, null for none), the alert threshold(s) (%), the budget channel (null: none) and
    the pace nudge switch; a field left out keeps its value."""
    given = body.model_fields_set
    limit = body.monthly_limit_usd if "monthly_limit_usd" in given else g.org.monthly_budget_usd
    thresholds = g.org.thresholds
    if "alert_thresholds" in given:
        thresholds = body.alert_thresholds
    elif "alert_threshold_pct" in given:
        thresholds = [body.alert_threshold_pct]
    if "channel" in given:
        try:
            _choose_channel(body.channel, body.team_id)
        except RouteError as exc:
            response, status = error_response(status_for(exc), str(exc))
            if status == 503:
                response.headers["Retry-After"] = "5"
            return response, status
    if body.pace_nudges_enabled is not None:
        g.org.pace_nudges_enabled = body.pace_nudges_enabled
    update_budget(g.org, limit, thresholds)
    check_budget_thresholds(g.org)
    return jsonify(budget_json(budget_status(g.org), g.org))


def _choose_channel(ref: str | None, team_id: str | None) -> None:
    """Post the living budget card in the channel named by ref (name or ID), or nowhere for None."""
    if ref is None:
        clear_budget_channel(g.org)
        return
    workspace = pick_workspace(g.org, team_id)
    by_id = SLACK_CHANNEL_ID.match(ref)
    channel_id, channel_name = resolve_channel_ref(workspace, ref if by_id else None, None if by_id else ref)
    set_budget_channel(g.org, workspace, channel_id, channel_name)


def _allowance_json(person) -> dict:
    return Allowance(user_email=person.email, name=person.name,
                     monthly_allowance_usd=money(person.monthly_allowance_usd)).model_dump()


@bp.get("/budget/allowances")
@api_key_required
@operation("People with a monthly allowance (the measure of their pace nudges)", {
    200: (AllowanceList, "The people with an allowance")})
def get_allowances():
    """Every person with a monthly allowance, by name."""
    return jsonify(allowances=[_allowance_json(p) for p in people_with_allowances(g.org.id)])


@bp.put("/budget/allowances")
@api_key_required
@operation("Set or clear a person's monthly allowance", {
    200: (Allowance, "The person and their allowance"),
    404: (Error, "No user with that email in this organization"),
}, body=AllowanceIn)
def put_allowance(body: AllowanceIn):
    """Set a person's monthly allowance (null clears it: their own history is the measure again)."""
    person = find_user(body.user_email, g.org.id)
    if person is None:
        return error_response(404, f"No user with email {body.user_email} in this organization.")
    set_allowance(person, body.monthly_allowance_usd)
    return jsonify(_allowance_json(person))


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
    request = org_request(request_id, BUDGET_INCREASE)
    if request is None:
        return error_response(404, f"No budget request {request_id} in this organization.")
    return jsonify(budget_request_json(request))
