"""Optional error reporting to Sentry: on when SENTRY_DSN is set (web, worker and socket processes), else nothing."""
from __future__ import annotations

import sentry_sdk
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.rq import RqIntegration

from app.logs import scrub


def _scrubbed(event, hint):
    # Sentry's own scrubbing misses our secrets' shapes (Slack tokens, API keys) inside messages and values.
    import json

    return json.loads(scrub(json.dumps(event, default=str)))


def init_error_reporting(config) -> bool:
    """Start Sentry with its Flask and RQ integrations when SENTRY_DSN is set; returns whether it did."""
    dsn = config.get("SENTRY_DSN")
    if not dsn:
        return False
    sentry_sdk.init(dsn=dsn, environment=config.get("TOKTRA_ENV"), integrations=[FlaskIntegration(), RqIntegration()],
                    before_send=_scrubbed, traces_sample_rate=0)
    return True


def report(exc: BaseException) -> None:
    """Send an exception the app handled itself (an unexpected error answered with a 500); no-op without Sentry."""
    sentry_sdk.capture_exception(exc)
