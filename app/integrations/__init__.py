"""Integrations → Slack: the workspace list and the admin-only OAuth install."""
from flask import Blueprint

bp = Blueprint("integrations", __name__)

from app.integrations import routes  # noqa: E402,F401
from app.integrations import alert_channels, itsm  # noqa: E402,F401
