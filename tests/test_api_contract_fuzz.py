"""Schemathesis against our own OpenAPI document: every API route, generated input, no 5xx, every answer as documented.

It runs through the Flask app (WSGI) with a real API key on the real PostgreSQL test database. The budget is fixed
and derandomized so the suite stays fast and a failure reproduces.
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.services.alerts import fire_alert
from app.services.periods import current_period

EXAMPLES_PER_ROUTE = 25  # per route and mode: about 20 s for the whole API on the 2-core machine


@schemathesis.check
def no_server_error_but_a_documented_retry(ctx, response, case):
    """No 5xx, except a 503 that says when to retry (the route documents it: e.g. a channel list still loading)."""
    retry_after = {name.lower() for name in response.headers} & {"retry-after"}
    if response.status_code >= 500 and not (response.status_code == 503 and retry_after):
        raise AssertionError(f"{case.method} {case.path} answered {response.status_code}: {response.text[:500]}")


CHECKS = [no_server_error_but_a_documented_retry, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


def documented_cases() -> list:
    """(method, path, mode) for every documented route, read from the document itself (no database needed).

    Negative mode needs something to break: a parameter, a body or the API key.
    """
    from app import create_app
    from app.api.openapi import openapi_document

    os.environ.setdefault("TOKTRA_ENV", "test")
    app = create_app({"SECRET_KEY": "x", "TOKTRA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                      "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.test_request_context():
        paths = openapi_document(app, "http://localhost/api/v1")["paths"]
    cases = []
    for path, item in paths.items():
        for method, operation in item.items():
            breakable = "parameters" in operation or "requestBody" in operation or operation.get("security") != []
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if breakable else (GenerationMode.POSITIVE,):
                cases.append(pytest.param(method.upper(), path, mode, id=f"{method.upper()} {path} {mode.value}"))
    return cases


@pytest.fixture
def records(api, make_user, admin, workspace, redis_conn):
    """A few real records for the generated requests to meet: people, an alert, a reimbursement request."""
    make_user("alice@globex.example", "Alice Smith", manager=admin.email)
    fire_alert(admin.organization, "high", "P", "An alert to list", dedup_key="fuzz")
    response = api("post", "/reimbursements", json={"employee_email": "alice@globex.example", "amount": "10.00",
                                                    "description": "Plus", "period": current_period("UTC").key})
    assert response.status_code == 201


@pytest.mark.parametrize("method,path,mode", documented_cases())
def test_every_api_route_keeps_its_documented_contract(app, api_key, records, method, path, mode):
    """Valid input (positive) and input that breaks the schema (negative): never a 500, always as documented."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def call(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)

    call()
