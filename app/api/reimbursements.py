"""Reimbursement requests and payroll exports."""
from __future__ import annotations

from flask import Response, g, jsonify, url_for

from app.api import bp
from app.api.auth import api_key_required
from app.api.contract import MAX_ID, operation
from app.api.schemas import Reimbursement, ReimbursementIn
from app.api.serializers import reimbursement_json
from app.errors import error_response, status_for
from app.extensions import db
from app.models import ReimbursementRequest
from app.models.reimbursements import REIMBURSEMENT
from app.services.reimbursements import ReimbursementError, batch_csv, batch_requests, export_batch, submit_request
from app.services.text import text_problem



@bp.post("/reimbursements")
@api_key_required
@operation("Submit a reimbursement request (the approver gets a Slack DM)", {
    201: (Reimbursement, "The pending request; Location names it"),
}, body=ReimbursementIn)
def post_reimbursement(body: ReimbursementIn):
    """Submit a reimbursement request; its approver (the employee's manager by default) gets a Slack DM."""
    try:
        request = submit_request(g.org, body.employee_email, body.amount, body.currency, body.description,
                                 body.period, body.approver_email)
    except ReimbursementError as exc:
        return error_response(status_for(exc), str(exc))
    response = jsonify(reimbursement_json(request))
    response.headers["Location"] = url_for("api.get_reimbursement", request_id=request.id)
    return response, 201


def org_request(request_id: int, kind: str) -> ReimbursementRequest | None:
    """The caller's organization's request of this kind (reimbursement or budget increase), if it exists."""
    request = db.session.get(ReimbursementRequest, request_id) if request_id <= MAX_ID else None
    return request if request is not None and request.org_id == g.org.id and request.kind == kind else None


@bp.get("/reimbursements/<int:request_id>")
@api_key_required
@operation("A reimbursement request and its status", {200: (Reimbursement, "The request")})
def get_reimbursement(request_id: int):
    """A reimbursement request and its status."""
    request = org_request(request_id, REIMBURSEMENT)
    if request is None:
        return error_response(404, f"No reimbursement request {request_id} in this organization.")
    return jsonify(reimbursement_json(request))


def _csv(batch_id: str, body: str, status: int = 200) -> Response:
    response = Response(body, status=status, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="toktra-payroll-{batch_id}.csv"'
    response.headers["X-Toktra-Batch-Id"] = batch_id
    return response


@bp.post("/payroll-exports")
@api_key_required
@operation("Export approved requests not exported yet, as CSV (each exactly once)", {
    201: ("text/csv", "The new batch as CSV; X-Toktra-Batch-Id names it"),
    204: (None, "Nothing to export"),
})
def post_payroll_export():
    """Export every approved request not exported yet, as CSV; each request is exported exactly once."""
    batch = export_batch(g.org)
    if batch is None:
        return "", 204
    response = _csv(batch.id, batch_csv(batch_requests(g.org.id, batch.id)), 201)
    response.headers["Location"] = url_for("api.get_payroll_export", batch_id=batch.id)
    return response


@bp.get("/payroll-exports/<batch_id>")
@api_key_required
@operation("Download a payroll export batch again", {200: ("text/csv", "The batch as CSV")})
def get_payroll_export(batch_id: str):
    """Download an earlier batch again."""
    requests = [] if len(batch_id) > 64 or text_problem(batch_id) else batch_requests(g.org.id, batch_id)
    if not requests:
        return error_response(404, f"No payroll export {batch_id[:64]} in this organization.")
    return _csv(batch_id, batch_csv(requests))
