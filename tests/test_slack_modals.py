"""Modals opened from buttons (views.open from a job): Reject with a reason, Acknowledge with a reason."""
from __future__ import annotations

import json

import pytest

from app.slack.actions import (
    ACKNOWLEDGE_ALERT,
    ACKNOWLEDGE_WITH_REASON,
    APPROVE_REIMBURSEMENT,
    REJECT_REIMBURSEMENT,
    alert_button_value,
)
from tests.test_reimbursements import dm_of, submit, team  # noqa: F401 - the fixture is used by name


def reason(text):
    return {"reject-reason": {"reason": {"type": "plain_text_input", "value": text}}}


def click_reject(signed, slack, request_id, user="UMAX", name="reject"):
    response = signed.action(REJECT_REIMBURSEMENT, str(request_id), user_id=user, channel_id="D0001",
                             response_url=slack.response_url(name))
    assert response.status_code == 200 and response.get_data(as_text=True) == ""


def test_reject_opens_a_modal_and_its_required_reason_reaches_the_employee(api, signed, slack, team, run_worker):
    request_id = submit(api).json["id"]
    run_worker()
    assert "input" not in [b["type"] for b in dm_of(slack, "UMAX")[0]["blocks"]]  # no inline reason any more
    click_reject(signed, slack, request_id)
    run_worker()
    [modal] = slack.modals()
    assert modal["type"] == "modal" and modal["title"]["text"] == "Reject request"
    assert modal["submit"]["text"] == "Reject"
    assert "Alice Smith* asks for *42.50 USD*" in json.dumps(modal["blocks"])
    [open_call] = slack.calls_to("views.open")
    assert open_call.params["trigger_id"]  # the click's own trigger_id
    assert api("get", f"/reimbursements/{request_id}").json["status"] == "pending"  # opening decides nothing

    answer = signed.view_submission(modal, reason("  Use the team licence instead.  "), user_id="UMAX")
    assert answer.status_code == 200 and answer.get_data(as_text=True) == ""  # closes the modal
    run_worker()
    status = api("get", f"/reimbursements/{request_id}").json
    assert status["status"] == "rejected" and status["rejection_reason"] == "Use the team licence instead."
    [notice] = dm_of(slack, "UALICE")
    assert "was rejected by Max Manager. Reason: “Use the team licence instead.”" in notice["text"]
    assert "❌ Rejected by Max Manager" in json.dumps(dm_of(slack, "UMAX")[0]["blocks"], ensure_ascii=False)


def test_a_rejection_without_a_reason_is_refused_in_the_modal(api, signed, slack, team, run_worker, queue):
    request_id = submit(api).json["id"]
    run_worker()
    click_reject(signed, slack, request_id)
    run_worker()
    [modal] = slack.modals()
    for blank in ("", "   \n  "):
        answer = signed.view_submission(modal, reason(blank), user_id="UMAX")
        assert answer.status_code == 200
        assert answer.json == {"response_action": "errors", "errors": {
            "reject-reason": "Give a reason: it is sent to the employee with the rejection."}}
    assert len(queue) == 0
    assert api("get", f"/reimbursements/{request_id}").json["status"] == "pending"
    # The corrected form (same view id and hash) goes through, once.
    signed.view_submission(modal, reason("Not a work expense."), user_id="UMAX")
    signed.view_submission(modal, reason("Not a work expense."), user_id="UMAX")  # a double submit
    run_worker()
    assert api("get", f"/reimbursements/{request_id}").json["rejection_reason"] == "Not a work expense."
    assert len(dm_of(slack, "UALICE")) == 1


def test_who_may_not_reject_is_told_so_and_gets_no_modal(api, signed, slack, team, run_worker):
    request_id = submit(api).json["id"]
    run_worker()
    click_reject(signed, slack, request_id, user="UBOB", name="bob")
    run_worker()
    [refusal] = slack.responses("bob")
    assert "Only Max Manager (the assigned approver) or an admin can decide this request." in refusal["text"]
    assert slack.calls_to("views.open") == []


def test_rejecting_a_decided_request_says_what_happened(api, signed, slack, team, run_worker):
    request_id = submit(api).json["id"]
    run_worker()
    signed.action(APPROVE_REIMBURSEMENT, str(request_id), user_id="UMAX", response_url=slack.response_url("a"))
    run_worker()
    click_reject(signed, slack, request_id, name="late")
    run_worker()
    [told] = slack.responses("late")
    assert told["text"].startswith("This request was already decided: ✅ Approved by Max Manager at")
    assert slack.calls_to("views.open") == []


def test_a_modal_submitted_after_someone_else_decided_is_told_so(api, signed, slack, team, run_worker):
    request_id = submit(api).json["id"]
    run_worker()
    click_reject(signed, slack, request_id, name="max-reject")
    run_worker()
    [modal] = slack.modals()
    signed.action(APPROVE_REIMBURSEMENT, str(request_id), user_id="UADA", response_url=slack.response_url("ada"))
    run_worker()
    signed.view_submission(modal, reason("Too expensive."), user_id="UMAX")
    run_worker()
    [told] = slack.responses("max-reject")  # the Reject click's response_url rides in the modal
    assert told["text"].startswith("This request was already decided: ✅ Approved by Ada Admin at")
    assert api("get", f"/reimbursements/{request_id}").json["status"] == "approved"


def test_an_expired_trigger_tells_the_clicker_to_click_again(api, signed, slack, team, run_worker):
    request_id = submit(api).json["id"]
    run_worker()
    slack.fail("views.open", error="expired_trigger_id")
    click_reject(signed, slack, request_id, name="slow")
    run_worker()
    [told] = slack.responses("slow")
    assert "Click Reject again." in told["text"]


# --- Acknowledge with a reason ------------------------------------------------------------------

@pytest.fixture
def alert_in_two_channels(slack, workspace, make_user, org):
    """A high alert posted to #security and #all-alerts; Ada (U0001, admin) and Bob (U0002, member) in Slack."""
    from app.extensions import db
    from app.models import AlertChannelRoute
    from app.services.alerts import fire_alert

    for channel_id, name in (("C1", "security"), ("C2", "all-alerts")):
        slack.add_channel(channel_id, name)
        db.session.add(AlertChannelRoute(workspace_id=workspace.id, channel_id=channel_id, channel_name=name,
                                         severities="low,medium,high,critical"))
    db.session.commit()
    slack.add_user("U0001", "ada@globex.example", "ada")
    bob = make_user("bob@globex.example", "Bob Jones")
    slack.add_user("U0002", bob.email, "bob")
    return fire_alert(org, "high", "Secrets in prompts", "API key in a prompt", subject=bob).alert


def ack_values(reason_value=None, note=None):
    values = {"ack-note": {"note": {"type": "plain_text_input", "value": note}}}
    values["ack-reason"] = {"reason": {"type": "static_select", "selected_option": (
        {"value": reason_value, "text": {"type": "plain_text", "text": reason_value}} if reason_value else None)}}
    return values


def test_acknowledge_with_a_reason_shows_on_every_copy_and_in_the_dashboard(
        signed, slack, run_worker, alert_in_two_channels, client, login, admin):
    alert = alert_in_two_channels
    run_worker()
    card = slack.messages("C1")[0]
    labels = [e["text"]["text"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
              if e["type"] == "button"]
    assert labels[:2] == ["Acknowledge", "Acknowledge with reason…"]
    value = alert_button_value(alert.id)
    signed.action(ACKNOWLEDGE_WITH_REASON, value, user_id="U0001", channel_id="C1",
                  response_url=slack.response_url("ack"))
    run_worker()
    [modal] = slack.modals()
    assert modal["title"]["text"] == "Acknowledge alert"
    options = [o["value"] for o in modal["blocks"][1]["element"]["options"]]
    assert options == ["false_positive", "approved_exception", "needs_follow_up"]
    assert "Open" in json.dumps(slack.messages("C2")[0]["blocks"])  # opening the modal changes nothing yet

    refused = signed.view_submission(modal, ack_values(None, "no reason chosen"), user_id="U0001")
    assert refused.json == {"response_action": "errors", "errors": {"ack-reason": "Choose why you acknowledge this alert."}}
    assert signed.view_submission(modal, ack_values("false_positive", "Test key from the docs."),
                                  user_id="U0001").get_data(as_text=True) == ""
    run_worker()
    for channel in ("C1", "C2"):
        shown = json.dumps(slack.messages(channel)[0]["blocks"], ensure_ascii=False)
        assert "✅ Acknowledged by Ada Admin at" in shown
        assert "(False positive: “Test key from the docs.”)" in shown
        assert "Acknowledge with reason" not in shown
        [told] = slack.thread(channel, slack.messages(channel)[0]["ts"])
        assert told["text"] == "✅ Acknowledged by Ada Admin — False positive: “Test key from the docs.”"
    login(admin)
    page = client.get("/alerts").get_data(as_text=True)
    assert "False positive" in page and "“Test key from the docs.”" in page


def test_acknowledge_with_reason_on_an_acknowledged_alert_says_who_did(
        signed, slack, run_worker, alert_in_two_channels):
    alert = alert_in_two_channels
    signed.action(ACKNOWLEDGE_ALERT, alert_button_value(alert.id), user_id="U0002", response_url=slack.response_url("a"))
    run_worker()
    signed.action(ACKNOWLEDGE_WITH_REASON, alert_button_value(alert.id), user_id="U0001",
                  response_url=slack.response_url("late"))
    run_worker()
    [told] = slack.responses("late")
    assert told["text"].startswith("This alert was already acknowledged by Bob Jones at")
    assert slack.calls_to("views.open") == []


def test_a_forged_reason_is_refused_in_the_modal(signed, slack, run_worker, alert_in_two_channels, queue):
    signed.action(ACKNOWLEDGE_WITH_REASON, alert_button_value(alert_in_two_channels.id), user_id="U0001",
                  response_url=slack.response_url("x"))
    run_worker()
    [modal] = slack.modals()
    answer = signed.view_submission(modal, ack_values("because_i_said_so"), user_id="U0001")
    assert answer.json["response_action"] == "errors"
    assert len(queue) == 0
