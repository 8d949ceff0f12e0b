"""GET /openapi.json: the OpenAPI 3 description of this API."""
from __future__ import annotations

from flask import jsonify, request

from app.api import bp


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "401": {"$ref": "#/components/responses/Unauthorized"},
}

ROUTE_ID = {"name": "route_id", "in": "path", "required": True, "schema": {"type": "integer"}}
SEVERITY = {"type": "string", "enum": ["low", "medium", "high", "critical"]}

SCHEMAS = {
    "ReimbursementIn": {
        "type": "object",
        "required": ["employee_email", "amount", "currency", "description", "period"],
        "additionalProperties": False,
        "properties": {
            "employee_email": {"type": "string", "format": "email"},
            "amount": {"type": "string", "example": "42.50", "description": "Decimal string, at most 2 decimals."},
            "currency": {"type": "string", "example": "USD", "pattern": "^[A-Z]{3}$"},
            "description": {"type": "string", "maxLength": 2000},
            "period": {"type": "string", "example": "2025-01", "pattern": "^[0-9]{4}-[0-9]{2}$"},
            "approver_email": {"type": "string", "format": "email",
                               "description": "Defaults to the employee's manager."},
        },
    },
    "Reimbursement": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "employee_email": {"type": "string"}, "approver_email": {"type": "string"},
            "amount": {"type": "string"}, "currency": {"type": "string"}, "period": {"type": "string"},
            "description": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "approved", "rejected"]},
            "decided_by": {"type": "string", "nullable": True},
            "decided_at": {"type": "string", "format": "date-time", "nullable": True},
            "rejection_reason": {"type": "string", "nullable": True},
            "payroll_batch_id": {"type": "string", "nullable": True},
            "approver_notified": {"type": "boolean"},
            "notify_error": {"type": "string", "nullable": True},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "AlertIn": {
        "type": "object",
        "required": ["severity", "policy", "title"],
        "additionalProperties": False,
        "properties": {
            "severity": SEVERITY,
            "policy": {"type": "string", "maxLength": 200},
            "title": {"type": "string", "maxLength": 500},
            "details": {"type": "string", "maxLength": 10000},
            "user_email": {"type": "string", "format": "email", "description": "The person involved."},
            "dedup_key": {"type": "string", "maxLength": 200,
                          "description": "While an alert with this key is open, the same key does not fire again."},
        },
    },
    "Alert": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "severity": SEVERITY, "policy": {"type": "string"}, "title": {"type": "string"},
            "details": {"type": "string"}, "user_email": {"type": "string", "nullable": True},
            "status": {"type": "string", "enum": ["open", "acknowledged"]}, "dedup_key": {"type": "string", "nullable": True},
            "fired_at": {"type": "string", "format": "date-time"},
            "acknowledged_by": {"type": "string", "nullable": True},
            "acknowledged_at": {"type": "string", "format": "date-time", "nullable": True},
            "tickets": {"type": "array", "items": {"type": "object", "properties": {
                "key": {"type": "string"}, "url": {"type": "string"}}}},
        },
    },
    "FiredAlert": {
        "type": "object",
        "properties": {"alert": {"$ref": "#/components/schemas/Alert"}, "created": {"type": "boolean"},
                       "deliveries": {"type": "integer"}},
    },
    "AlertChannelIn": {
        "type": "object",
        "required": ["severities"],
        "properties": {
            "channel_id": {"type": "string", "example": "C0123ABCD"},
            "channel_name": {"type": "string", "example": "security-incidents"},
            "severities": {"type": "array", "items": SEVERITY},
            "team_id": {"type": "string", "description": "Required when the organization has several workspaces."},
        },
    },
    "AlertChannel": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "team_id": {"type": "string"}, "workspace": {"type": "string"},
            "channel_id": {"type": "string"}, "channel_name": {"type": "string"},
            "severities": {"type": "array", "items": SEVERITY},
            "last_delivery": {"type": "object", "nullable": True, "properties": {
                "at": {"type": "string", "format": "date-time"}, "ok": {"type": "boolean"},
                "error": {"type": "string", "nullable": True}}},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["status", "message"],
                                 "properties": {"status": {"type": "integer"}, "message": {"type": "string"}}}},
    },
    "Money": {"type": "string", "pattern": r"^\d+(\.\d{1,6})?$", "example": "24.81"},
    "Period": {
        "type": "object",
        "properties": {"key": {"type": "string", "example": "2025-01"}, "label": {"type": "string", "example": "January 2025"},
                       "starts_at": {"type": "string", "format": "date-time"},
                       "ends_at": {"type": "string", "format": "date-time"}},
    },
    "UsageEvent": {
        "type": "object",
        "required": ["id", "user_email", "provider", "model", "input_tokens", "output_tokens", "cost_usd", "occurred_at"],
        "properties": {
            "id": {"type": "string", "maxLength": 200, "description": "Your unique id for the event; resending it is a no-op."},
            "user_email": {"type": "string", "format": "email"},
            "provider": {"type": "string", "example": "openai"},
            "model": {"type": "string", "example": "gpt-4o"},
            "input_tokens": {"type": "integer", "minimum": 0},
            "output_tokens": {"type": "integer", "minimum": 0},
            "cost_usd": {"type": "string", "example": "0.0125", "description": "Decimal string, at most 6 decimals."},
            "occurred_at": {"type": "string", "format": "date-time", "example": "2025-01-15T09:30:00Z"},
        },
    },
    "IngestResult": {
        "type": "object",
        "properties": {
            "accepted": {"type": "integer"},
            "duplicates": {"type": "integer"},
            "rejected": {"type": "array", "items": {"type": "object", "properties": {
                "index": {"type": "integer"}, "id": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "string"}}}}},
        },
    },
    "ProviderUsage": {
        "type": "object",
        "properties": {"provider": {"type": "string"}, "name": {"type": "string"},
                       "input_tokens": {"type": "integer"}, "output_tokens": {"type": "integer"},
                       "total_tokens": {"type": "integer"}, "cost_usd": _ref("Money")},
    },
    "UsageSummary": {
        "type": "object",
        "properties": {"period": _ref("Period"), "user_email": {"type": "string", "nullable": True},
                       "providers": {"type": "array", "items": _ref("ProviderUsage")},
                       "total": {"type": "object", "properties": {
                           "input_tokens": {"type": "integer"}, "output_tokens": {"type": "integer"},
                           "total_tokens": {"type": "integer"}, "cost_usd": _ref("Money")}}},
    },
    "Budget": {
        "type": "object",
        "properties": {"period": _ref("Period"),
                       "monthly_limit_usd": {**_ref("Money"), "nullable": True},
                       "alert_threshold_pct": {"type": "integer", "minimum": 1, "maximum": 100},
                       "spent_usd": _ref("Money"),
                       "remaining_usd": {"type": "string", "nullable": True, "description": "Negative when over budget."},
                       "percent_used": {"type": "string", "nullable": True, "example": "75.2"}},
    },
    "BudgetUpdate": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"monthly_limit_usd": {"type": "string", "nullable": True, "example": "10000.00"},
                       "alert_threshold_pct": {"type": "integer", "minimum": 1, "maximum": 100}},
    },
}

PATHS = {
    "/usage": {
        "post": {
            "summary": "Ingest usage events (idempotent by event id)",
            "operationId": "postUsage",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["events"],
                "properties": {"events": {"type": "array", "items": _ref("UsageEvent")}}}}}},
            "responses": {"200": _json(_ref("IngestResult"), "What was stored, skipped as duplicate, or rejected"),
                          "413": {"$ref": "#/components/responses/BadRequest"}, **ERRORS},
        }
    },
    "/usage/summary": {
        "get": {
            "summary": "Usage in the current billing period, per provider and in total",
            "operationId": "getUsageSummary",
            "parameters": [{"name": "user_email", "in": "query", "required": False, "schema": {"type": "string"},
                            "description": "One person's usage; the whole organization's when omitted."}],
            "responses": {"200": _json(_ref("UsageSummary"), "The summary"),
                          "404": {"$ref": "#/components/responses/BadRequest"}, **ERRORS},
        }
    },
    "/budget": {
        "get": {"summary": "The monthly budget and this period's spend", "operationId": "getBudget",
                "responses": {"200": _json(_ref("Budget"), "The budget status"), **ERRORS}},
        "put": {"summary": "Set the monthly limit and alert threshold", "operationId": "putBudget",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("BudgetUpdate")}}},
                "responses": {"200": _json(_ref("Budget"), "The updated budget status"), **ERRORS}},
    },
    "/alerts": {
        "post": {
            "summary": "Fire an alert (stored with its channel deliveries, then delivered)",
            "operationId": "postAlert",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("AlertIn")}}},
            "responses": {"201": _json(_ref("FiredAlert"), "The new alert"),
                          "200": _json(_ref("FiredAlert"), "An open alert with the same dedup_key already exists"),
                          **ERRORS},
        },
        "get": {
            "summary": "The organization's alerts, newest first",
            "operationId": "getAlerts",
            "parameters": [
                {"name": "severity", "in": "query", "schema": {"type": "string", "enum": ["low", "medium", "high", "critical"]}},
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["open", "acknowledged"]}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
            ],
            "responses": {"200": _json({"type": "object", "properties": {"alerts": {"type": "array", "items": _ref("Alert")}}},
                                       "The alerts"), **ERRORS},
        },
    },
    "/alert-channels": {
        "get": {"summary": "Channels that receive alerts", "operationId": "getAlertChannels",
                "responses": {"200": _json({"type": "object", "properties": {
                    "alert_channels": {"type": "array", "items": _ref("AlertChannel")}}}, "The channels"), **ERRORS}},
        "post": {"summary": "Route severities to a channel", "operationId": "postAlertChannel",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("AlertChannelIn")}}},
                 "responses": {"201": _json(_ref("AlertChannel"), "The new route"),
                               "404": {"$ref": "#/components/responses/BadRequest"},
                               "409": {"$ref": "#/components/responses/BadRequest"},
                               "503": {"$ref": "#/components/responses/BadRequest"}, **ERRORS}},
    },
    "/alert-channels/{route_id}": {
        "put": {"summary": "Change a channel's severities", "operationId": "putAlertChannel",
                "parameters": [ROUTE_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["severities"],
                    "properties": {"severities": {"type": "array", "items": {"type": "string"}}}}}}},
                "responses": {"200": _json(_ref("AlertChannel"), "The updated route"),
                              "404": {"$ref": "#/components/responses/BadRequest"}, **ERRORS}},
        "delete": {"summary": "Stop sending alerts to a channel", "operationId": "deleteAlertChannel",
                   "parameters": [ROUTE_ID],
                   "responses": {"204": {"description": "Removed"},
                                 "404": {"$ref": "#/components/responses/BadRequest"}, **ERRORS}},
    },
    "/reimbursements": {
        "post": {"summary": "Submit a reimbursement request (the approver gets a Slack DM)",
                 "operationId": "postReimbursement",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ReimbursementIn")}}},
                 "responses": {"201": _json(_ref("Reimbursement"), "The pending request"), **ERRORS}},
    },
    "/reimbursements/{request_id}": {
        "get": {"summary": "A reimbursement request and its status", "operationId": "getReimbursement",
                "parameters": [{"name": "request_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": _json(_ref("Reimbursement"), "The request"),
                              "404": {"$ref": "#/components/responses/BadRequest"}, **ERRORS}},
    },
    "/payroll-exports": {
        "post": {"summary": "Export approved requests not exported yet, as CSV (each exactly once)",
                 "operationId": "postPayrollExport",
                 "responses": {"201": {"description": "The new batch as CSV; X-Toktra-Batch-Id names it",
                                       "content": {"text/csv": {"schema": {"type": "string"}}}},
                               "204": {"description": "Nothing to export"}, **ERRORS}},
    },
    "/payroll-exports/{batch_id}": {
        "get": {"summary": "Download a payroll export batch again", "operationId": "getPayrollExport",
                "parameters": [{"name": "batch_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The batch as CSV",
                                      "content": {"text/csv": {"schema": {"type": "string"}}}},
                              "404": {"$ref": "#/components/responses/BadRequest"}, **ERRORS}},
    },
    "/openapi.json": {
        "get": {"summary": "This document", "operationId": "getOpenApi", "security": [],
                "responses": {"200": {"description": "OpenAPI 3 document"}}},
    },
}


def openapi_document(server_url: str) -> dict:
    """The OpenAPI 3.0 document, with server_url as the API's base."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "Toktra API", "version": "1.0.0",
                 "description": "Usage ingest, usage summaries and budgets for a Toktra organization."},
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
            "responses": {
                "BadRequest": _json(_ref("Error"), "The request was not usable; the message says why"),
                "Unauthorized": _json(_ref("Error"), "Missing, invalid or revoked API key"),
            },
        },
    }


@bp.get("/openapi.json")
def get_openapi():
    """The OpenAPI 3 document describing these routes."""
    return jsonify(openapi_document(request.url_root.rstrip("/") + "/api/v1"))
