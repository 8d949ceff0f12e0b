"""Configuration read from the environment, once, when the app is created."""
from __future__ import annotations

import os
from collections.abc import Mapping

# Secrets the service cannot run without outside development and tests.
REQUIRED_IN_PRODUCTION = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "TOKTRA_ENCRYPTION_KEY",
    "PUBLIC_BASE_URL",
    "SLACK_SIGNING_SECRET",
)

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class ConfigError(RuntimeError):
    """Raised when the environment cannot produce a working configuration."""


def normalize_database_url(url: str) -> str:
    """Accept Heroku-style postgres:// URLs and pick the psycopg 3 driver for PostgreSQL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = (env.get(name) or default).strip().lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (0 < value < 86400):
        raise ConfigError(f"{name} must be a number of seconds above 0, such as 0.5, got {raw!r}")
    return value


def load_config(env: Mapping[str, str] | None = None) -> dict:
    """Build the Flask config dict from the environment (os.environ by default)."""
    env = os.environ if env is None else env
    toktra_env = env.get("TOKTRA_ENV", "production").strip().lower()
    if toktra_env not in ("production", "development", "test"):
        raise ConfigError(
            f"TOKTRA_ENV must be production, development or test, got {toktra_env!r}"
        )
    production = toktra_env == "production"
    if production:
        missing = [name for name in REQUIRED_IN_PRODUCTION if not env.get(name)]
        if missing:
            raise ConfigError(
                "Missing required environment variable(s): "
                + ", ".join(missing)
                + ". Set them (see .env.example) before starting Toktra."
            )
        if not (env.get("SLACK_BOT_TOKEN") or (env.get("SLACK_CLIENT_ID") and env.get("SLACK_CLIENT_SECRET"))):
            raise ConfigError(
                "Missing Slack credentials: set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
                "(OAuth install) or SLACK_BOT_TOKEN (single workspace)."
            )

    database_url = normalize_database_url(env.get("DATABASE_URL") or "sqlite:///toktra.db")
    return {
        "TOKTRA_ENV": toktra_env,
        "SECRET_KEY": env.get("SECRET_KEY", ""),
        "TOKTRA_ENCRYPTION_KEY": env.get("TOKTRA_ENCRYPTION_KEY", ""),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "RQ_QUEUES": ["default"],
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "SLACK_BOT_TOKEN": env.get("SLACK_BOT_TOKEN", ""),
        "SLACK_SIGNING_SECRET": env.get("SLACK_SIGNING_SECRET", ""),
        "SLACK_CLIENT_ID": env.get("SLACK_CLIENT_ID", ""),
        "SLACK_CLIENT_SECRET": env.get("SLACK_CLIENT_SECRET", ""),
        "SLACK_APP_TOKEN": env.get("SLACK_APP_TOKEN", ""),
        "SLACK_API_URL": env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL,
        "SLACK_SCOPES": env.get("SLACK_SCOPES", ""),
        # Whether the Slack app has token rotation turned on (the generated manifest says so; rotation itself
        # follows the tokens Slack hands out).
        "SLACK_TOKEN_ROTATION": _choice(env, "SLACK_TOKEN_ROTATION", ("false", "true"), "false") == "true",
        # The outbox: Slack's pace per channel, and how the dispatcher treats jobs that vanish.
        "SLACK_CHANNEL_PACE_MS": _int(env, "SLACK_CHANNEL_PACE_MS", 1020),
        "OUTBOX_TICK_SECONDS": _float(env, "OUTBOX_TICK_SECONDS", 1.0),
        "OUTBOX_LEASE_SECONDS": _float(env, "OUTBOX_LEASE_SECONDS", 10.0),
        "OUTBOX_STALE_SECONDS": _float(env, "OUTBOX_STALE_SECONDS", 30.0),
        "OUTBOX_AMBIGUOUS_DELAY_SECONDS": _float(env, "OUTBOX_AMBIGUOUS_DELAY_SECONDS", 30.0),
        "RQ_MAINTENANCE_INTERVAL": _int(env, "RQ_MAINTENANCE_INTERVAL", 10),
        # How often the status of a linked or created ticket is read from ServiceNow or Jira (open / closed ones).
        "TICKET_POLL_SECONDS": _int(env, "TICKET_POLL_SECONDS", 300),
        "TICKET_POLL_CLOSED_SECONDS": _int(env, "TICKET_POLL_CLOSED_SECONDS", 3600),
        # Readiness (/readyz): the worker beats every WORKER_HEARTBEAT_SECONDS; older than MAX_AGE means dead.
        "WORKER_HEARTBEAT_SECONDS": _float(env, "WORKER_HEARTBEAT_SECONDS", 5.0),
        "WORKER_HEARTBEAT_MAX_AGE": _float(env, "WORKER_HEARTBEAT_MAX_AGE", 30.0),
        "QUEUE_MAX_WAIT_SECONDS": _float(env, "QUEUE_MAX_WAIT_SECONDS", 120.0),
        "RQ_WORKER_CLASS": _choice(env, "RQ_WORKER_CLASS", ("simple", "fork"), "simple"),
        # After this many failed posts in a row to an alert channel, its installing admin gets one DM.
        "DELIVERY_FAILURES_BEFORE_DM": _int(env, "DELIVERY_FAILURES_BEFORE_DM", 3),
        # Errors go to Sentry when set (optional).
        "SENTRY_DSN": env.get("SENTRY_DSN", ""),
        # GET /metrics answers only a scraper sending this as a bearer token; unset, it is off.
        "METRICS_TOKEN": env.get("METRICS_TOKEN", ""),
        "USAGE_BATCH_MAX_EVENTS": _int(env, "USAGE_BATCH_MAX_EVENTS", 5000),
        "MAX_CONTENT_LENGTH": _int(env, "MAX_CONTENT_LENGTH", 16 * 1024 * 1024),
        # How many proxies (e.g. 1 behind Heroku's router) append X-Forwarded-For: the client's address is read there.
        "TRUSTED_PROXY_HOPS": _int(env, "TRUSTED_PROXY_HOPS", 0),
        # Brute-force limits on refused credentials only (Flask-Limiter notation, counted in Redis).
        "SIGN_IN_FAILURES_PER_ADDRESS": env.get("SIGN_IN_FAILURES_PER_ADDRESS") or "30 per 15 minutes",
        "SIGN_IN_FAILURES_PER_ACCOUNT": env.get("SIGN_IN_FAILURES_PER_ACCOUNT") or "10 per 15 minutes",
        "API_KEY_FAILURES_PER_ADDRESS": env.get("API_KEY_FAILURES_PER_ADDRESS") or "60 per 15 minutes",
        "API_KEY_FAILURES_PER_KEY": env.get("API_KEY_FAILURES_PER_KEY") or "20 per 15 minutes",
        # Cookies: never readable by scripts, not sent cross-site, HTTPS-only outside local runs.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "PERMANENT_SESSION_LIFETIME": _int(env, "SESSION_LIFETIME_SECONDS", 8 * 3600),
        "WTF_CSRF_TIME_LIMIT": 3600,
    }


def validate_config(config: Mapping) -> None:
    """Refuse a configuration that would run insecurely or not at all."""
    if not config.get("SECRET_KEY"):
        raise ConfigError("SECRET_KEY is not set: sessions and CSRF tokens need it.")
    if not config.get("TOKTRA_ENCRYPTION_KEY"):
        raise ConfigError(
            "TOKTRA_ENCRYPTION_KEY is not set: Slack tokens and connector credentials are "
            "encrypted with it. Generate one with: python -c \"from cryptography.fernet import "
            "Fernet; print(Fernet.generate_key().decode())\""
        )
    from app.crypto import check_key

    check_key(config["TOKTRA_ENCRYPTION_KEY"])
