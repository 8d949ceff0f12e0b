"""Reject with a reason: the Reject button opens a modal (views.open from a job), its submission decides."""
from __future__ import annotations

import json

from app.slack.actions import APPROVE_REIMBURSEMENT, REJECT_REIMBURSEMENT
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
