"""REST API v1: bearer API keys, JSON in and out."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from app.api import alerts, budget, openapi, reimbursements, usage  # noqa: E402,F401
