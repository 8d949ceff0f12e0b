"""Error pages: JSON under /api/, a friendly HTML page elsewhere; never a bare 500."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException, InternalServerError

from app.error_reporting import report
from app.extensions import db

log = logging.getLogger(__name__)

# The database did not answer (down, restarting, unreachable, pool exhausted): worth a retry.
DATABASE_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError,
                        sa.exc.DisconnectionError)
DATABASE_RETRY_AFTER = "30"


def wants_json() -> bool:
    """API and Slack callers get JSON errors; browsers get pages."""
    return request.path.startswith(("/api/", "/slack/", "/healthz", "/readyz", "/metrics"))


# How each kind of domain refusal (app/services/errors.py) answers over HTTP.
DOMAIN_STATUS = {"invalid": 400, "not_found": 404, "forbidden": 403, "conflict": 409, "unavailable": 503}


def status_for(exc) -> int:
    """The HTTP status of a domain error."""
    return DOMAIN_STATUS.get(getattr(exc, "kind", "invalid"), 400)


def error_response(status: int, message: str, **extra):
    """A JSON error body: {"error": {"status": ..., "message": ...}}."""
    body = {"error": {"status": status, "message": message, **extra}}
    return jsonify(body), status


def _rollback() -> None:
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:  # the connection is gone; the session is discarded at teardown
        log.debug("rollback failed", exc_info=True)


def register(app: Flask) -> None:
    """Install the error handlers on app."""

    @app.errorhandler(RateLimitExceeded)
    def too_many_attempts(exc: RateLimitExceeded):
        from app.rate_limits import retry_after_seconds

        wait = retry_after_seconds()
        message = (f"Too many failed attempts from here; wait {_duration(wait)} and try again. "
                   "Correct credentials are refused too until then.")
        if wants_json():
            response, status = error_response(429, message)
        else:
            response, status = app.make_response(
                (render_template("error.html", code=429, name="Too many attempts", description=message), 429)), 429
        response.headers["Retry-After"] = str(wait)
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_json():
            return error_response(exc.code or 500, exc.description or exc.name)
        return render_template("error.html", code=exc.code, name=exc.name, description=exc.description), exc.code

    @app.errorhandler(sa.exc.DataError)
    def unstorable_value(exc: sa.exc.DataError):
        # Input checks should stop these first; this keeps a missed case a clear 400, never a 500.
        log.warning("database refused a value on %s %s: %s", request.method, request.path, exc.orig)
        _rollback()
        message = ("A value in this request cannot be stored: text must not contain NUL characters and "
                   "numbers must be within range.")
        if wants_json():
            return error_response(400, message)
        return render_template("error.html", code=400, name="Bad Request", description=message), 400

    def database_unavailable(exc: Exception):
        log.error("database unavailable on %s %s: %s", request.method, request.path, exc)
        _rollback()
        message = "Toktra's database is not answering right now; nothing was changed. Please retry shortly."
        if wants_json():
            response, status = error_response(503, message)
        else:
            # Rendered without context processors: they would ask the database who is signed in.
            page = app.jinja_env.get_template("unavailable.html").render(description=message, path=request.path)
            response = app.make_response((page, 503))
            status = 503
        response.headers["Retry-After"] = DATABASE_RETRY_AFTER
        return response, status

    for exc_class in DATABASE_UNAVAILABLE:
        app.register_error_handler(exc_class, database_unavailable)

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        report(exc)
        _rollback()
        generic = InternalServerError()
        if wants_json():
            return error_response(500, "Something went wrong on our side; it has been logged. Please retry.")
        return render_template("error.html", code=500, name=generic.name,
                               description="Something went wrong on our side; it has been logged."), 500


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{round(seconds / 60)} minutes"
