"""Reimbursement requests and payroll exports."""
from __future__ import annotations

from flask import Response, g, jsonify, url_for

from app.api import bp
from app.api.auth import api_key_required, json_body
from app.api.serializers import reimbursement_json
from app.errors import error_response
from app.extensions import db
from app.models import ReimbursementRequest
from app.services.reimbursements import ReimbursementError, batch_csv, batch_requests, export_batch, submit_request

REQUEST_FIELDS = {"employee_email", "amount", "currency", "description", "period", "approver_email"}


@bp.post("/reimbursements")
@api_key_required
def post_reimbursement():
    """Submit a reimbursement request; its approver (the employee's manager by default) gets a Slack DM."""
    body, error = json_body()
    if error:
        return error
    unknown = set(body) - REQUEST_FIELDS
    if unknown:
        return error_response(400, f"Unknown field(s): {', '.join(sorted(unknown))}. "
                                   f"Accepted: {', '.join(sorted(REQUEST_FIELDS))}.")
    text = {k: body.get(k) for k in ("employee_email", "currency", "description", "period", "approver_email")}
    bad = [k for k, v in text.items() if v is not None and not isinstance(v, str)]
    if bad:
        return error_response(400, f"{bad[0]} must be a string.")
    try:
        request = submit_request(g.org, text["employee_email"] or "", body.get("amount"), text["currency"] or "USD",
                                 text["description"] or "", text["period"] or "", text["approver_email"])
    except ReimbursementError as exc:
        return error_response(exc.status, str(exc))
    response = jsonify(reimbursement_json(request))
    response.headers["Location"] = url_for("api.get_reimbursement", request_id=request.id)
    return response, 201


@bp.get("/reimbursements/<int:request_id>")
@api_key_required
def get_reimbursement(request_id: int):
    """A reimbursement request and its status."""
    request = db.session.get(ReimbursementRequest, request_id)
    if request is None or request.org_id != g.org.id:
        return error_response(404, f"No reimbursement request {request_id} in this organization.")
    return jsonify(reimbursement_json(request))


def _csv(batch_id: str, body: str, status: int = 200) -> Response:
    response = Response(body, status=status, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="toktra-payroll-{batch_id}.csv"'
    response.headers["X-Toktra-Batch-Id"] = batch_id
    return response


@bp.post("/payroll-exports")
@api_key_required
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
def get_payroll_export(batch_id: str):
    """Download an earlier batch again."""
    requests = batch_requests(g.org.id, batch_id)
    if not requests:
        return error_response(404, f"No payroll export {batch_id} in this organization.")
    return _csv(batch_id, batch_csv(requests))
