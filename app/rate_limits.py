"""Brute-force limits: failed sign-ins and failed API key attempts, counted in Redis per address and per account."""
from __future__ import annotations

import math
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many

from app import crypto
from app.config import ConfigError

SETTINGS = ("SIGN_IN_FAILURES_PER_ADDRESS", "SIGN_IN_FAILURES_PER_ACCOUNT", "API_KEY_FAILURES_PER_ADDRESS",
            "API_KEY_FAILURES_PER_KEY")

limiter = Limiter(key_func=get_remote_address)


def failed(response) -> bool:
    """Only refused credentials count against a limit, so normal use never reaches one."""
    return response.status_code == 401


def _setting(name: str):
    return lambda: current_app.config[name]


def submitted_account() -> str:
    """The email a sign-in form names (lower-cased), so one account cannot be guessed at from many addresses."""
    return (request.form.get("email") or "").strip().lower()[:320] or "-"


def presented_key() -> str | None:
    """The public prefix of the API key presented, so one key cannot be guessed at from many addresses."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return crypto.api_key_prefix(key.strip()) if scheme.lower() == "bearer" else None


def _no_key() -> bool:
    return presented_key() is None


def sign_in_limits(view):
    """Limit failed sign-ins per address and per account (SIGN_IN_FAILURES_PER_ADDRESS / _PER_ACCOUNT)."""
    view = limiter.limit(_setting("SIGN_IN_FAILURES_PER_ACCOUNT"), key_func=submitted_account, methods=["POST"],
                         deduct_when=failed, scope="sign-in-account")(view)
    return limiter.limit(_setting("SIGN_IN_FAILURES_PER_ADDRESS"), key_func=get_remote_address, methods=["POST"],
                         deduct_when=failed, scope="sign-in-address")(view)


def api_key_limits(blueprint) -> None:
    """Limit failed API key attempts on every route of blueprint, per address and per key."""
    limiter.shared_limit(_setting("API_KEY_FAILURES_PER_KEY"), scope="api-key", key_func=presented_key,
                         exempt_when=_no_key, deduct_when=failed)(blueprint)
    limiter.shared_limit(_setting("API_KEY_FAILURES_PER_ADDRESS"), scope="api-key-address",
                         key_func=get_remote_address, deduct_when=failed)(blueprint)


def init_app(app: Flask) -> None:
    """Count in the app's Redis; if Redis does not answer, let requests through rather than lock everyone out."""
    for name in SETTINGS:
        try:
            parse_many(app.config[name])
        except ValueError:
            raise ConfigError(f"{name} must be a limit such as '10 per 15 minutes', got {app.config[name]!r}") from None
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 0.5, "socket_timeout": 0.5})
    app.config.setdefault("RATELIMIT_STRATEGY", "fixed-window")
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "toktra-limits")
    limiter.init_app(app)


def retry_after_seconds() -> int:
    """Seconds until the limit that was just breached lets requests through again."""
    breached = limiter.current_limit
    if breached is None:
        return 60
    return max(1, math.ceil(breached.reset_at - time.time()))
