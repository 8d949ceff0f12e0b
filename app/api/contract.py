"""@operation: one declaration per route that validates its query and body and documents it in OpenAPI."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

from flask import request
from pydantic import BaseModel, ValidationError

from app.api.schemas import TOO_LARGE, RequestBody, error_messages


MAX_ID = 2**31 - 1  # ids are PostgreSQL integers: a larger one names nothing


class ApiError(Exception):
    """A request the API refuses; the blueprint's handler answers it as a JSON error."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says about one route."""

    summary: str
    responses: dict[int, tuple[type[BaseModel] | str | None, str]]
    body: type[RequestBody] | None = None
    query: type[RequestBody] | None = None
    public: bool = False
    retry_after: frozenset[int] = field(default_factory=frozenset)


def operation(summary: str, responses: dict, *, body: type[RequestBody] | None = None,
              query: type[RequestBody] | None = None, public: bool = False, retry_after=()):
    """Declare a route: validated `query` and `body` models are passed to the view as keyword arguments.

    responses maps a status to (response model, a media type such as "text/csv", or None; description).
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if query is not None:
                kwargs["query"] = read(query, {name: request.args.get(name) for name in request.args})
            if body is not None:
                kwargs["body"] = read(body, json_object())
            return view(*args, **kwargs)

        wrapper.operation = Operation(summary, responses, body, query, public, frozenset(retry_after))
        return wrapper

    return decorate


def json_object() -> dict:
    """The request's JSON object, or an ApiError saying why it is unusable."""
    if not request.is_json:
        raise ApiError(415, "Send a JSON body with 'Content-Type: application/json'.")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # the standard parser recurses once per level of nesting
        raise ApiError(400, "The body nests too deeply to be read; send a flat JSON object.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The body must be a JSON object.")
    return body


def read(model: type[RequestBody], data: dict) -> RequestBody:
    """data validated by model; an ApiError in the project's words if it does not fit."""
    try:
        return model.model_validate(data)
    except RecursionError:
        raise ApiError(400, "The body nests too deeply to be read; send a flat JSON object.") from None
    except ValidationError as exc:
        too_large = any(e["type"] == TOO_LARGE for e in exc.errors(include_url=False, include_input=False))
        raise ApiError(413 if too_large else 400, "; ".join(error_messages(model, exc))) from None
