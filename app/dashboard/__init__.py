"""The server-rendered dashboard: sign-in, overview, integrations, alerts, approvals, settings."""
from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from app.dashboard import auth, filters, pages, reimbursements  # noqa: E402,F401
