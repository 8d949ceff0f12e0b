"""Hostile and odd input to the REST API: a clear 4xx naming the field, never a 500, nothing half-written."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Alert, ReimbursementRequest, UsageRecord
from app.services.periods import current_period
from tests.test_api_usage import ALICE, event

NUL = "a\x00b"
SURROGATE = "a\ud800b"


@pytest.fixture
def people(make_user, admin):
    """Alice (member, managed by Ada the admin)."""
    return make_user(ALICE, "Alice Smith", manager=admin.email)


def raw_post(api, path, body: dict):
    """POST body serialized by hand, so lone surrogates travel as JSON escapes (\\ud800) as a client would send."""
    return api("post", path, data=json.dumps(body), content_type="application/json")


def error_message(response) -> str:
    assert response.is_json, response.get_data(as_text=True)
    return response.get_json()["error"]["message"]


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- NUL and lone surrogates in every stored string -----------------------------------------------

@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize("field", ["id", "model", "user_email"])
def test_a_nul_or_lone_surrogate_in_a_usage_event_rejects_that_event_with_a_reason(api, people, field, bad):
    value = f"{ALICE[:5]}{bad}{ALICE[5:]}" if field == "user_email" else bad
    response = raw_post(api, "/usage", {"events": [event("good-1"), event("bad", **{field: value}), event("good-2")]})
    assert response.status_code == 200
    result = response.get_json()
    assert result["accepted"] == 2
    [rejected] = result["rejected"]
    assert rejected["index"] == 1
    [reason] = rejected["errors"]
    assert reason.startswith(field)
    assert count(UsageRecord) == 2


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize("field", ["title", "policy", "details", "dedup_key", "user_email"])
def test_a_nul_or_lone_surrogate_in_an_alert_is_refused_naming_the_field(api, people, field, bad):
    body = {"severity": "high", "policy": "P", "title": "T", field: bad}
    response = raw_post(api, "/alerts", body)
    assert response.status_code == 400
    message = error_message(response)
    assert message.startswith(field)
    assert "NUL" in message if bad == NUL else "lone surrogate" in message
    assert count(Alert) == 0


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize("field", ["description", "employee_email", "approver_email"])
def test_a_nul_or_lone_surrogate_in_a_reimbursement_is_refused_naming_the_field(api, people, field, bad):
    body = {"employee_email": ALICE, "amount": "12.00", "description": "ChatGPT Plus",
            "period": current_period("UTC").key, field: bad}
    response = raw_post(api, "/reimbursements", body)
    assert response.status_code == 400
    assert error_message(response).startswith(field)
    assert count(ReimbursementRequest) == 0


def test_a_nul_in_a_query_parameter_or_path_is_answered_without_a_500(api, people):
    response = api("get", "/usage/summary?user_email=a%00b@globex.example")
    assert response.status_code == 400
    assert error_message(response) == "user_email must not contain NUL characters (\\u0000)"
    assert api("get", "/payroll-exports/pb_%00").status_code == 404
    assert api("get", "/alerts?severity=hi%00gh").status_code == 400


def test_a_nul_in_the_api_key_is_refused_as_an_invalid_key(client, api_key):
    prefix = api_key.split("_")[1]
    response = client.get("/api/v1/budget", headers={"Authorization": f"Bearer tok_{prefix[:7]}\x00_secret"})
    assert response.status_code == 401


# --- nesting, numbers, periods, lengths -----------------------------------------------------------

@pytest.mark.parametrize("path", ["/usage", "/alerts", "/reimbursements"])
def test_a_hundred_thousand_levels_of_nesting_is_bad_json_not_a_500(api, people, path):
    depth = 100_000
    response = api("post", path, data='{"events": ' + "[" * depth + "]" * depth + "}", content_type="application/json")
    assert response.status_code == 400
    assert error_message(response) == "The body nests too deeply to be read; send a flat JSON object."


@pytest.mark.parametrize("period", ["0000-01", "1999-12", "0001-12"])
def test_a_period_out_of_range_is_refused_and_nothing_is_stored(api, people, period):
    response = api("post", "/reimbursements", json={"employee_email": ALICE, "amount": "12.00",
                                                     "description": "ChatGPT Plus", "period": period})
    assert response.status_code == 400
    assert error_message(response) == (f'period {period} is out of range; give a month from 2000-01 on, '
                                       'such as "2025-01"')
    assert count(ReimbursementRequest) == 0


@pytest.mark.parametrize("period", ["٢٠٢٥-٠١", "２０２５-01", "2025-1", "25-01"])
def test_a_period_in_other_digits_or_shapes_is_refused(api, people, period):
    response = api("post", "/reimbursements", json={"employee_email": ALICE, "amount": "12.00",
                                                     "description": "ChatGPT Plus", "period": period})
    assert response.status_code == 400
    assert 'period must be a month written YYYY-MM, such as "2025-01"' in error_message(response)


@pytest.mark.parametrize("limit", ["²", "①", "١", "５", "-1", "201", "1" * 40, "1.5", " "])
def test_a_limit_that_is_not_plain_ascii_digits_in_range_gets_400(api, people, limit):
    response = api("get", "/alerts", query_string={"limit": limit})
    assert response.status_code == 400
    assert error_message(response) == "limit must be a whole number from 1 to 200."


@pytest.mark.parametrize("method,path,body", [
    ("get", "/reimbursements/99999999999999999999", None),
    ("get", "/reimbursements/2147483648", None),
    ("put", "/alert-channels/99999999999999999999", {"severities": ["high"]}),
    ("delete", "/alert-channels/2147483648", None),
])
def test_an_id_beyond_the_database_integer_is_not_found_rather_than_a_500(api, people, method, path, body):
    response = api(method, path, json=body)
    assert response.status_code == 404
    assert response.is_json


@pytest.mark.parametrize("path,body,message", [
    ("/alerts", {"severity": "high", "policy": "P", "title": "T", "dedup_key": "k" * 201},
     "dedup_key is longer than 200 characters"),
    ("/alerts", {"severity": "high", "policy": "p" * 201, "title": "T"}, "policy is longer than 200 characters"),
    ("/alerts", {"severity": "high", "policy": "P", "title": "T", "details": "d" * 10_001},
     "details is longer than 10,000 characters"),
    ("/alerts", {"severity": "high", "policy": "P", "title": "T", "user_email": "u" * 321},
     "user_email is longer than 320 characters"),
    ("/reimbursements", {"employee_email": ALICE, "amount": "1.00", "description": "d" * 2001, "period": "2025-01"},
     "description is longer than 2,000 characters"),
    ("/reimbursements", {"employee_email": "e" * 321, "amount": "1.00", "description": "d", "period": "2025-01"},
     "employee_email is longer than 320 characters"),
    ("/alert-channels", {"channel_id": "C" * 33, "severities": ["high"]}, "channel_id is longer than 32 characters"),
    ("/alert-channels", {"team_id": "T" * 33, "channel_id": "C1", "severities": ["high"]},
     "team_id is longer than 32 characters"),
])
def test_text_longer_than_its_column_is_refused_with_the_limit_named(api, people, path, body, message):
    response = api("post", path, json=body)
    assert response.status_code == 400
    assert message in error_message(response)


def test_usage_text_longer_than_its_column_rejects_that_event_only(api, people):
    result = api("post", "/usage", json={"events": [event("ok"), event("long", model="m" * 201),
                                                    event("x" * 201), event("p", provider="p" * 65)]}).get_json()
    assert result["accepted"] == 1
    assert [(r["index"], r["errors"]) for r in result["rejected"]] == [
        (1, ["model must be a non-empty string of at most 200 characters"]),
        (2, ["id must be a non-empty string of at most 200 characters"]),
        (3, ['provider must be a name such as "openai" or "anthropic"']),
    ]


def test_a_rejected_events_echoed_id_is_cut_short(api, people):
    huge = "i" * 40_000
    result = api("post", "/usage", json={"events": [event(huge, cost_usd="abc")]}).get_json()
    assert result["rejected"][0]["id"] == huge[:256]


def test_an_integer_amount_is_accepted_as_documented(api, people, client):
    response = api("post", "/reimbursements", json={"employee_email": ALICE, "amount": 42, "description": "Plus",
                                                     "period": current_period("UTC").key})
    assert response.status_code == 201
    assert response.get_json()["amount"] == "42.00"
    amount = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["ReimbursementIn"]["properties"][
        "amount"]
    assert {branch["type"] for branch in amount["anyOf"]} == {"string", "integer"}


def test_thousands_of_unknown_fields_get_a_short_answer(api, people):
    body = {"severity": "high", "policy": "P", "title": "T", **{f"field-{n}-" + "x" * 500: n for n in range(2000)}}
    response = api("post", "/alerts", json=body)
    assert response.status_code == 400
    message = error_message(response)
    assert message.startswith("Unknown field(s): field-0-xxx")
    assert "and 1,990 more. Accepted: severity, policy, title, details, user_email, dedup_key." in message
    assert len(message) < 1000


def test_unknown_severities_are_not_echoed_at_length(api, people):
    response = api("post", "/alert-channels", json={"channel_id": "C1", "severities": ["x" * 50_000]})
    assert response.status_code == 400
    assert error_message(response) == 'severities must be a list such as ["high", "critical"]'


@pytest.mark.parametrize("path,body,words", [
    ("/reimbursements", {"employee_email": ALICE, "amount": "٤٢", "description": "d", "period": "2025-01"},
     'amount must be a decimal string such as "42.50"'),
    ("/usage", {"events": [event("e", cost_usd="０.５")]}, "cost_usd must be a non-negative decimal string"),
])
def test_money_in_other_digits_is_refused(api, people, path, body, words):
    response = api("post", path, json=body)
    text = response.get_data(as_text=True)
    assert words in (error_message(response) if response.status_code == 400 else
                     response.get_json()["rejected"][0]["errors"][0]), text


@pytest.mark.parametrize("body,message", [
    ({"alert_threshold_pct": "٨٠"}, "alert_threshold_pct must be a whole number from 1 to 100"),
    ({"monthly_limit_usd": "٣٠٠"}, 'monthly_limit_usd must be a decimal string such as "10000.00", or null for no budget'),
])
def test_budget_numbers_in_other_digits_are_refused(api, org, body, message):
    response = api("put", "/budget", json=body)
    assert response.status_code == 400
    assert error_message(response) == message
