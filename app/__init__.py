"""The Toktra Slack service: create_app() builds a configured Flask application."""
from __future__ import annotations

import os
from collections.abc import Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import load_config, validate_config


def create_app(overrides: Mapping | None = None) -> Flask:
    """Build the app from the environment, then apply overrides (tests pass a dict)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(load_config())
    if overrides:
        app.config.from_mapping(overrides)
    validate_config(app.config)

    from app import rate_limits
    from app.extensions import csrf, db, login_manager, migrate
    from app.models.types import render_migration_item

    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir(), compare_type=True, render_as_batch=True,
                     render_item=render_migration_item)
    csrf.init_app(app)
    login_manager.init_app(app)
    rate_limits.init_app(app)

    from app import models  # noqa: F401  (registers every table on db.metadata)
    from app import errors, health, logs, metrics
    from app.error_reporting import init_error_reporting
    from app.api import bp as api_bp
    from app.cli import toktra_cli
    from app.dashboard import bp as dashboard_bp
    from app.integrations import bp as integrations_bp
    from app.slack.ingress.routes import bp as slack_bp

    app.register_blueprint(health.bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)  # bearer-key authenticated, no cookies
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(integrations_bp)
    app.register_blueprint(slack_bp)
    csrf.exempt(slack_bp)  # authenticated by Slack's request signature instead
    errors.register(app)
    metrics.init_app(app)
    logs.init_app(app)
    if not app.testing:  # tests keep pytest's log capture; every process of the service logs JSON
        logs.configure_logging(app.config)
    init_error_reporting(app.config)
    from app.slack.ingress import fast_path

    fast_path.install(app)  # POST /slack/events skips the hooks that do nothing for it
    if app.config.get("TRUSTED_PROXY_HOPS"):
        # Behind a router every request comes from it; the rate limits need the client's own address.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXY_HOPS"])
    app.cli.add_command(toktra_cli)
    return app


def _migrations_dir() -> str:
    # Absolute, so `flask db` works from any working directory.
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")
