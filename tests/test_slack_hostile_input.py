"""Hostile and odd Slack input (issue 11): every slash command and click gets a clear answer within Slack's limits.

Signed requests go through the real app, a real RQ worker runs the jobs, and the Slack emulator refuses any
message over Slack's limits (so a message that is too big shows up here as a missing answer and a failed job).
"""
from __future__ import annotations

import json

import pytest
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from app.extensions import db
from app.models import Alert, ReimbursementRequest
from app.slack.actions import (
    ACKNOWLEDGE_ALERT,
    APPROVE_REIMBURSEMENT,
    CREATE_TICKET,
    INVALID_BUTTON,
    REJECT_REIMBURSEMENT,
)
from tests.conftest import fresh
from tests.test_reimbursements import submit, team  # noqa: F401 (fixture)
from tests.test_slash_commands import add_alerts, alert_titles, people, run  # noqa: F401 (fixture)

ACK_LIMIT = 600  # an error ack: our message, the accepted forms and at most a short quote of the input


def nothing_failed(queue) -> bool:
    """No job failed or was put back for a retry: every answer was accepted by Slack the first time."""
    return len(FailedJobRegistry(queue=queue)) == 0 and len(ScheduledJobRegistry(queue=queue)) == 0


def refused_at_once(signed, queue, command, text, user="U0001") -> str:
    """Send a command that must be refused in its ack; return the ack's text."""
    response = signed.command(command, text, user_id=user)
    assert response.status_code == 200
    answer = response.get_data(as_text=True)
    assert 0 < len(answer) <= ACK_LIMIT and f"Use `{command}`" in answer
    assert len(queue) == 0
    return answer


def button_values(responses) -> list[str]:
    elements = [e for r in responses for b in r["blocks"] if b["type"] == "actions" for e in b["elements"]]
    return [v for e in elements for v in ([e["value"]] if "value" in e else [o["value"] for o in e["options"]])]


# --- slash commands ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["limit:²", "limit:①", "limit:١", "limit:５"])
def test_a_limit_in_digits_that_are_not_ascii_is_refused_at_once(signed, people, queue, text):
    answer = refused_at_once(signed, queue, "/toktra-alerts", text)
    assert f"`{text}`: limit must be a whole number from 1 to 50" in answer


def test_an_email_with_a_nul_byte_is_refused_at_once(signed, people, queue):
    answer = refused_at_once(signed, queue, "/toktra-usage", "a\x00@b.com", user="U0002")
    assert "`a\ufffd@b.com` is not an email address" in answer


def test_a_5000_character_email_is_refused_at_once(signed, people, queue):
    answer = refused_at_once(signed, queue, "/toktra-usage", "a" * 4990 + "@b.example", user="U0002")
    assert "is too long for an email address (at most 254 characters)" in answer


@pytest.mark.parametrize("command, text", [
    ("/toktra-alerts", "x" * 40_000),
    ("/toktra-alerts", "limit:" + "9" * 40_000),
    ("/toktra-usage", "not-an-email" * 4000),
    ("/toktra-budget", "please " * 6000),
])
def test_a_huge_argument_is_quoted_back_only_in_part(signed, people, queue, command, text):
    answer = refused_at_once(signed, queue, command, text)
    assert "…`" in answer


@pytest.mark.parametrize("text", [
    "limit:" + "0" * 5000 + "3",
    "\t" * 3000 + "severity:LOW" + "\t" * 3000 + "limit:3" + "\t" * 3000,
])
def test_padded_arguments_still_get_the_list_with_short_button_values(signed, slack, run_worker, people, org, queue,
                                                                      text):
    add_alerts(org, 12, severity_of=lambda i: "low")
    responses = run(signed, slack, run_worker, "/toktra-alerts", text)
    assert alert_titles(responses) == ["Alert number 11", "Alert number 10", "Alert number 9"]
    assert all(len(value) < 100 and "limit:3" in value for value in button_values(responses))
    assert nothing_failed(queue)


def test_long_names_and_texts_are_cut_to_slacks_limits(signed, slack, run_worker, people, org, queue, admin):
    admin.name = "Ada " + "Lovelace-" * 21  # 193 characters; the column holds 200
    db.session.add(Alert(org_id=org.id, severity="high", policy="P" * 200, title="T" * 500, details="D" * 20_000,
                         subject_user_id=admin.id))
    db.session.commit()
    [usage] = run(signed, slack, run_worker, "/toktra-usage", user="U0002", name="usage")
    assert usage["blocks"][0]["text"]["text"].startswith("Usage Summary — Ada Lovelace-")
    [listing] = run(signed, slack, run_worker, "/toktra-alerts", user="U0002", name="alerts")
    assert "DDDD…" in json.dumps(listing["blocks"], ensure_ascii=False)
    assert nothing_failed(queue)


# --- buttons -------------------------------------------------------------------------------------

def click(signed, slack, run_worker, action, value, user, name):
    """Click a button with value; return what reached the clicker's response_url."""
    response = signed.action(action, value, user_id=user, response_url=slack.response_url(name))
    assert response.status_code == 200
    run_worker()
    return slack.responses(name)


@pytest.mark.parametrize("action, value", [
    *((APPROVE_REIMBURSEMENT, v) for v in ["99999999999999999999", "١", "-1", "0", "1.0", " 1", "", "null"]),
    *((REJECT_REIMBURSEMENT, v) for v in ["99999999999999999999", "١"]),
])
def test_a_forged_reimbursement_button_gets_a_clear_answer_and_decides_nothing(api, signed, slack, team, queue,
                                                                              run_worker, action, value):
    request_id = submit(api).json["id"]
    run_worker()
    assert request_id == 1  # so "١" would have been read as this request
    [answer] = click(signed, slack, run_worker, action, value, "UMAX", "forged")
    assert answer["text"] == INVALID_BUTTON
    assert fresh(db.session.get(ReimbursementRequest, request_id)).status == "pending"
    assert nothing_failed(queue)


@pytest.mark.parametrize("action, value", [
    *((ACKNOWLEDGE_ALERT, v) for v in [
        "99999999999999999999", json.dumps({"alert": 99999999999999999999}), "١", json.dumps({"alert": "١"}),
        json.dumps({"alert": 1, "page": 10**30}), json.dumps({"alert": 1, "q": "limit:①"}),
        json.dumps({"alert": True}), "[" * 1999, "x" * 5000, json.dumps([1]), ""]),
    *((CREATE_TICKET, v) for v in ["99999999999999999999", "١", json.dumps({"alert": 2**31})]),
])
def test_a_forged_alert_button_gets_a_clear_answer_and_changes_nothing(signed, slack, run_worker, people, org, queue,
                                                                     action, value):
    add_alerts(org, 1)
    [answer] = click(signed, slack, run_worker, action, value, "U0001", "forged")
    assert answer["text"] == INVALID_BUTTON
    assert fresh(db.session.get(Alert, 1)).status == "open"
    assert nothing_failed(queue)


def test_a_long_name_and_description_still_reach_the_approver_within_slacks_limits(api, slack, team, queue,
                                                                                  run_worker):
    from tests.test_reimbursements import dm_of

    request_id = submit(api).json["id"]
    request = db.session.get(ReimbursementRequest, request_id)
    request.description = "Licences " * 5000
    request.employee.name = "Alice " + "Smith-" * 32  # 198 characters; the column holds 200
    db.session.commit()
    run_worker()
    [dm] = dm_of(slack, "UMAX")
    assert dm["blocks"][0]["text"]["text"].startswith("Reimbursement request from Alice Smith-Smith-")
    assert "Licences Licences" in json.dumps(dm["blocks"])
    assert nothing_failed(queue)
