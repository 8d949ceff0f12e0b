"""Nobody decides their own reimbursement request: not in the dashboard, not in Slack, not even as an admin."""
from __future__ import annotations

import html

import pytest

from app.services.periods import current_period
from app.slack.actions import APPROVE_REIMBURSEMENT
from tests.conftest import csrf_token_from

REFUSAL = ("You cannot decide your own reimbursement request; Max Manager (the assigned approver) or another "
           "admin must decide it.")


@pytest.fixture
def own_request(api, make_user, admin):
    """A pending request of Ada's (an admin), to be approved by her manager Max: its id."""
    make_user("max@globex.example", "Max Manager", role="manager")
    response = api("post", "/reimbursements", json={
        "employee_email": admin.email, "approver_email": "max@globex.example", "amount": "42.50",
        "description": "Claude Pro", "period": current_period("UTC").key})
    assert response.status_code == 201
    return response.get_json()["id"]


def test_an_admin_cannot_approve_their_own_request_in_the_dashboard(api, client, login, admin, own_request):
    login(admin)
    token = csrf_token_from(client.get("/reimbursements/approvals").get_data(as_text=True))
    response = client.post(f"/reimbursements/{own_request}/decision", data={"decision": "approve",
                                                                            "csrf_token": token})
    assert response.status_code == 403
    assert REFUSAL in html.unescape(response.get_data(as_text=True))
    status = api("get", f"/reimbursements/{own_request}").get_json()
    assert (status["status"], status["decided_by"]) == ("pending", None)


def test_an_admin_cannot_approve_their_own_request_in_slack(api, signed, slack, workspace, admin, own_request,
                                                            queue, run_worker):
    slack.add_user("UADA", admin.email, "ada")
    signed.action(APPROVE_REIMBURSEMENT, str(own_request), user_id="UADA", channel_id="D0001",
                  response_url=slack.response_url("ada"))
    run_worker()
    [refusal] = slack.responses("ada")
    assert REFUSAL in refusal["text"]
    assert api("get", f"/reimbursements/{own_request}").get_json()["status"] == "pending"
