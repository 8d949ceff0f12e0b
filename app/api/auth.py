"""API key authentication for the REST API."""
from __future__ import annotations

import functools

from flask import g, request

from app.errors import error_response
from app.extensions import db
from app.models import Organization
from app.services.accounts import authenticate_api_key, touch_api_key
from app.services.text import text_problem

MAX_KEY_LENGTH = 200


def api_key_required(view):
    """Authenticate `Authorization: Bearer <key>`; the view gets g.org."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return _unauthorized("Send your API key as 'Authorization: Bearer <key>'.")
        key = key.strip()
        api_key = None if len(key) > MAX_KEY_LENGTH or text_problem(key) else authenticate_api_key(key)
        if api_key is None:
            return _unauthorized("This API key is not valid or has been revoked.")
        touch_api_key(api_key)
        g.org, g.api_key = db.session.get(Organization, api_key.org_id), api_key
        return view(*args, **kwargs)

    return wrapper


def _unauthorized(message: str):
    response, status = error_response(401, message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="toktra"'
    return response, status
