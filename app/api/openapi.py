"""GET /openapi.json: the OpenAPI 3.1 document, generated from the routes' @operation declarations and models."""
from __future__ import annotations

import re

from flask import current_app, jsonify, request
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.api import bp
from app.api.contract import operation
from app.api.schemas import Error, UsageBatch

API_PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.", "required": True,
                               "schema": {"type": "integer", "minimum": 0}}}
# Answers every route can give, besides its own.
COMMON = {
    503: (Error, "The database is not answering; retry after Retry-After seconds"),
}
AUTHENTICATED = {
    401: (Error, "Missing, invalid or revoked API key"),
    429: (Error, "Too many failed API key attempts from this address or for this key; retry after Retry-After"),
}
WITH_BODY = {
    400: (Error, "The body does not fit the schema; the message says what is wrong and what would be right"),
    415: (Error, "The body is not sent as application/json"),
}
WITH_QUERY = {400: (Error, "A query parameter does not fit the schema; the message says why")}
WITH_PATH = {404: (Error, "No such item in this organization")}


def _api_routes(app):
    """(rule, method, view) for every /api/v1 route, in a stable order."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith(API_PREFIX + "/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method.lower(), app.view_functions[rule.endpoint]


ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")  # <int:route_id>, <batch_id>


def _path_parameters(rule) -> list[dict]:
    params = []
    for converter, name in ARGUMENT.findall(rule.rule):
        schema = {"type": "integer", "minimum": 0} if converter == "int" else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _query_parameters(model: type[BaseModel], schemas: dict) -> list[dict]:
    schema = schemas[model.__name__]
    params = []
    for name, prop in schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k not in ("title", "description")}
        param = {"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop}
        if "description" in schema["properties"][name]:
            param["description"] = schema["properties"][name]["description"]
        params.append(param)
    return params


def _response(target, description: str, retry_after: bool) -> dict:
    response: dict = {"description": description}
    if isinstance(target, type) and issubclass(target, BaseModel):
        response["content"] = {"application/json": {"schema": {"$ref": REF.format(model=target.__name__)}}}
    elif isinstance(target, str):
        schema = {"type": "object"} if target == "application/json" else {"type": "string"}
        response["content"] = {target: {"schema": schema}}
    if retry_after:
        response["headers"] = RETRY_AFTER
    return response


def openapi_document(app, server_url: str) -> dict:
    """The OpenAPI 3.1 document of every /api/v1 route, with server_url as the API's base."""
    routes = list(_api_routes(app))
    missing = [rule.rule for rule, _, view in routes if not hasattr(view, "operation")]
    if missing:
        raise RuntimeError(f"API routes without an @operation declaration: {', '.join(missing)}")

    inputs, outputs = set(), set()
    for _, _, view in routes:
        op = view.operation
        inputs.update(m for m in (op.body, op.query) if m is not None)
        for target, _ in (*op.responses.values(), *COMMON.values(), *AUTHENTICATED.values()):
            if isinstance(target, type):
                outputs.add(target)
    models = [(m, "validation") for m in sorted(inputs, key=lambda m: m.__name__)]
    models += [(m, "serialization") for m in sorted(outputs, key=lambda m: m.__name__)]
    _, generated = models_json_schema(models, ref_template=REF)
    schemas = generated.get("$defs", {})
    # The batch limit is configuration (USAGE_BATCH_MAX_EVENTS), so it is filled in here.
    schemas[UsageBatch.__name__]["properties"]["events"]["maxItems"] = app.config["USAGE_BATCH_MAX_EVENTS"]

    paths: dict[str, dict] = {}
    for rule, method, view in routes:
        op = view.operation
        path = ARGUMENT.sub(r"{\2}", rule.rule[len(API_PREFIX):])
        responses = dict(op.responses)
        parameters = _path_parameters(rule)
        if parameters:
            responses = WITH_PATH | responses
        if op.query is not None:
            parameters += _query_parameters(op.query, schemas)
            responses = WITH_QUERY | responses
        if op.body is not None:
            responses = WITH_BODY | responses
        if not op.public:
            responses = AUTHENTICATED | responses
        responses = COMMON | responses
        entry = {
            "summary": op.summary,
            "operationId": view.__name__,
            "responses": {str(status): _response(target, description, status in (429, 503) or status in op.retry_after)
                          for status, (target, description) in sorted(responses.items())},
        }
        if view.__doc__:
            entry["description"] = view.__doc__.strip().splitlines()[0]
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": REF.format(model=op.body.__name__)}}}}
        if op.public:
            entry["security"] = []
        paths.setdefault(path, {})[method] = entry

    for model in {view.operation.query for _, _, view in routes} - {None}:
        del schemas[model.__name__]  # a query model becomes parameters, not a schema
    return {
        "openapi": "3.1.0",
        "info": {"title": "Toktra API", "version": "1.1.0",
                 "description": "Usage ingest, usage summaries, budgets, alerts, alert channels and reimbursements "
                                "for a Toktra organization."},
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}, "schemas": schemas},
    }


@bp.get("/openapi.json")
@operation("This document", {200: ("application/json", "The OpenAPI 3.1 document")}, public=True)
def get_openapi():
    """The OpenAPI 3.1 document describing these routes."""
    return jsonify(openapi_document(current_app, request.url_root.rstrip("/") + API_PREFIX))
