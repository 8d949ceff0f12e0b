"""Error pages: JSON under /api/, a friendly HTML page elsewhere; never a bare 500."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db

log = logging.getLogger(__name__)


def wants_json() -> bool:
    """API and Slack callers get JSON errors; browsers get pages."""
    return request.path.startswith(("/api/", "/slack/", "/healthz"))


def error_response(status: int, message: str, **extra):
    """A JSON error body: {"error": {"status": ..., "message": ...}}."""
    body = {"error": {"status": status, "message": message, **extra}}
    return jsonify(body), status


def register(app: Flask) -> None:
    """Install the error handlers on app."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_json():
            return error_response(exc.code or 500, exc.description or exc.name)
        return render_template("error.html", code=exc.code, name=exc.name, description=exc.description), exc.code

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        generic = InternalServerError()
        if wants_json():
            return error_response(500, "Something went wrong on our side; it has been logged. Please retry.")
        return render_template("error.html", code=500, name=generic.name,
                               description="Something went wrong on our side; it has been logged."), 500
