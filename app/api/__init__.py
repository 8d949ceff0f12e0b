"""REST API v1: bearer API keys, JSON in and out."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from app.api import alerts, budget, openapi, reimbursements, usage  # noqa: E402,F401
from app.api.contract import ApiError  # noqa: E402
from app.errors import error_response  # noqa: E402
from app.rate_limits import api_key_limits  # noqa: E402

api_key_limits(bp)


@bp.errorhandler(ApiError)
def refused(exc: ApiError):
    """A request that does not fit the contract: a JSON error saying why."""
    return error_response(exc.status, exc.message)
