"""The App Home tab: app_home_opened → an outbox message → views.publish, for each kind of person."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from app.extensions import db
from app.models.outbox import OutboxMessage
from app.services.alerts import acknowledge_alert, fire_alert
from app.services.periods import current_period
from app.services.reimbursements import submit_request
from app.services.usage import ingest_usage
from app.slack.actions import ACKNOWLEDGE_ALERT, APPROVE_REIMBURSEMENT, REJECT_REIMBURSEMENT, alert_button_value


@pytest.fixture
def people(slack, workspace, make_user, admin):
    """Ada (admin, U0001), Max (manager, U0002), Alice (Max's report, U0003), Bob (member, U0004) and a stranger."""
    max_ = make_user("max@globex.example", "Max Manager", role="manager")
    alice = make_user("alice@globex.example", "Alice Smith", manager=max_.email)
    bob = make_user("bob@globex.example", "Bob Jones")
    for slack_id, person in [("U0001", admin), ("U0002", max_), ("U0003", alice), ("U0004", bob)]:
        slack.add_user(slack_id, person.email, person.email.split("@")[0])
    slack.add_user("U0009", "stranger@elsewhere.example", "stranger")
    return {"admin": admin, "max": max_, "alice": alice, "bob": bob}


def open_home(signed, user):
    """Slack's app_home_opened event for user's Home tab; the answer is an instant 200."""
    response = signed.event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home",
                             "event_ts": "1700000000.000100"})
    assert response.status_code == 200


def shown(view) -> str:
    """Every text of a published view, in order."""
    return json.dumps(view["blocks"], ensure_ascii=False)


def buttons(view) -> list[tuple[str, str]]:
    return [(e["text"]["text"], e["value"]) for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
            if e["type"] == "button"]


def test_an_admin_sees_usage_budget_and_every_open_alert(signed, slack, run_worker, people, org):
    now = dt.datetime.now(dt.timezone.utc)
    ingest_usage(org, [{"id": "e1", "user_email": people["admin"].email, "provider": "openai", "model": "gpt-4o",
                        "input_tokens": 1_000_000, "output_tokens": 240_500, "cost_usd": "7520.00",
                        "occurred_at": (now - dt.timedelta(minutes=5)).isoformat()}])
    about_bob = fire_alert(org, "high", "Secrets in prompts", "API key in a prompt", subject=people["bob"]).alert
    open_home(signed, "U0001")
    run_worker()
    view = slack.home_view("U0001")
    assert view["type"] == "home"
    text = shown(view)
    assert "Toktra for Ada Admin" in text and current_period("UTC").label in text
    assert "OpenAI         1,240,500   $7,520.00" in text
    assert "🟠 ███████████████░░░░░ 75.2%" in text  # the spec's colour for 75–90%
    assert "API key in a prompt" in text and "Person: Bob Jones" in text
    assert ("Acknowledge", alert_button_value(about_bob.id)) in buttons(view)
    assert "/toktra-alerts" in text
    [call] = slack.calls_to("views.publish")
    assert call.params["user_id"] == "U0001"


def test_a_member_sees_only_the_alerts_about_them(signed, slack, run_worker, people, org):
    fire_alert(org, "high", "Secrets in prompts", "Bob's key in a prompt", subject=people["bob"])
    fire_alert(org, "low", "Unusual model", "Alice tried a new model", subject=people["alice"])
    open_home(signed, "U0004")
    run_worker()
    text = shown(slack.home_view("U0004"))
    assert "Bob's key in a prompt" in text and "Alice tried a new model" not in text
    assert "1 open alerts about you" in text


def test_an_approver_sees_the_requests_waiting_and_approves_from_home(signed, slack, run_worker, people, org):
    period = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    request = submit_request(org, people["alice"].email, "42.50", "USD", "ChatGPT Plus", period)
    fire_alert(org, "medium", "Off-hours use", "Alice at 3 am", subject=people["alice"])
    open_home(signed, "U0002")
    run_worker()
    view = slack.home_view("U0002")
    text = shown(view)
    assert "Reimbursement requests waiting for you* (1)" in text and "Alice Smith* asks for *42.50 USD*" in text
    assert "Alice at 3 am" in text  # a manager acts on the alerts about their reports
    assert ("Approve", str(request.id)) in buttons(view)

    # Slack sends Home tab clicks without a response_url; the tab is republished with the decision.
    response = signed.view_action(APPROVE_REIMBURSEMENT, str(request.id), view, user_id="U0002")
    assert response.status_code == 200
    run_worker()
    db.session.refresh(request)
    assert request.status == "approved"
    assert "waiting for you" not in shown(slack.home_view("U0002"))


def test_someone_without_a_toktra_account_is_told_what_to_do(signed, slack, run_worker, people):
    open_home(signed, "U0009")
    run_worker()
    text = shown(slack.home_view("U0009"))
    assert "could not find an account for your Slack email (stranger@elsewhere.example) in Globex" in text
    assert "Ask a Toktra admin to add you" in text
    assert "actions" not in [b["type"] for b in slack.home_view("U0009")["blocks"]]


def test_open_homes_are_republished_when_what_they_show_changes_and_changes_coalesce(
        signed, slack, run_worker, people, org):
    open_home(signed, "U0001")
    open_home(signed, "U0004")
    open_home(signed, "U0004")  # opened twice before it was sent: one publish
    run_worker()
    assert len(slack.calls_to("views.publish")) == 2
    first = fire_alert(org, "critical", "Data exfiltration", "Customer list pasted", subject=people["bob"]).alert
    second = fire_alert(org, "high", "Secrets in prompts", "Another key", subject=people["bob"]).alert
    acknowledge_alert(second.id, people["admin"])  # three changes while the views wait: one publish each
    run_worker()
    assert len(slack.calls_to("views.publish")) == 4
    for user in ("U0001", "U0004"):
        text = shown(slack.home_view(user))
        assert "Customer list pasted" in text and "Another key" not in text
    # Acknowledged from the Home tab itself (no response_url): every home drops it.
    signed.view_action(ACKNOWLEDGE_ALERT, alert_button_value(first.id), slack.home_view("U0004"), user_id="U0004")
    run_worker()
    assert "Customer list pasted" not in shown(slack.home_view("U0001"))
    assert "No open alerts about you" in shown(slack.home_view("U0004"))
    homes = db.session.query(OutboxMessage).filter_by(kind="home_view").all()
    assert {(m.recipient_user_id, m.state) for m in homes} == {("U0001", "sent"), ("U0004", "sent")}


def test_the_messages_tab_publishes_nothing(signed, slack, run_worker, people):
    signed.event({"type": "app_home_opened", "user": "U0001", "channel": "D0001", "tab": "messages",
                  "event_ts": "1700000000.000100"})
    run_worker()
    assert slack.calls_to("views.publish") == []


def test_a_home_tab_that_could_not_be_published_is_tried_again_when_opened_again(signed, slack, run_worker, people):
    slack.fail("views.publish", error="invalid_arguments")  # refused once: the message is given up
    open_home(signed, "U0001")
    run_worker()
    [home] = db.session.query(OutboxMessage).filter_by(kind="home_view").all()
    assert home.state == "failed" and slack.home_view("U0001") is None
    open_home(signed, "U0001")
    run_worker()
    assert "Toktra for Ada Admin" in shown(slack.home_view("U0001"))


def test_an_approver_rejects_from_home_through_the_reason_modal(signed, slack, run_worker, people, org):
    period = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    request = submit_request(org, people["alice"].email, "42.50", "USD", "ChatGPT Plus", period)
    open_home(signed, "U0002")
    run_worker()
    home = slack.home_view("U0002")
    assert signed.view_action(REJECT_REIMBURSEMENT, str(request.id), home, user_id="U0002").status_code == 200
    run_worker()
    [modal] = slack.modals()
    signed.view_submission(modal, {"reject-reason": {"reason": {"type": "plain_text_input", "value": "Team plan."}}},
                           user_id="U0002")
    run_worker()
    db.session.refresh(request)
    assert (request.status, request.rejection_reason) == ("rejected", "Team plan.")
    assert "waiting for you" not in shown(slack.home_view("U0002"))
