"""Reimbursements: submission, the approver's DM, decisions in Slack and the dashboard, races, payroll export."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import ReimbursementRequest
from app.services.periods import current_period
from app.services.reimbursements import decide
from app.services.usage import ingest_usage
from app.slack.actions import APPROVE_REIMBURSEMENT, REJECT_REIMBURSEMENT
from app.slack.blocks.reimbursement_cards import REASON_ACTION, REASON_BLOCK
from tests.conftest import csrf_token_from, fresh


@pytest.fixture
def team(make_user, admin, slack, workspace):
    """Max (manager) approves Alice's requests; everyone is in Slack workspace T0001."""
    manager = make_user("max@globex.example", "Max Manager", role="manager")
    alice = make_user("alice@globex.example", "Alice Smith", manager=manager.email)
    bob = make_user("bob@globex.example", "Bob Jones", manager=manager.email)
    for slack_id, user in (("UMAX", manager), ("UALICE", alice), ("UBOB", bob), ("UADA", admin)):
        slack.add_user(slack_id, user.email, user.email.split("@")[0])
    return {"manager": manager, "alice": alice, "bob": bob, "admin": admin}


def submit(api, **fields):
    body = {"employee_email": "alice@globex.example", "amount": "42.50", "currency": "USD",
            "description": "ChatGPT Plus for customer research", "period": current_period("UTC").key, **fields}
    return api("post", "/reimbursements", json=body)


def dm_of(slack, user_id):
    """The bot's DM channel messages with a Slack user (opened through conversations.open)."""
    channels = {c.response["channel"]["id"] for c in slack.calls_to("conversations.open")
                if c.params.get("users") == user_id}
    return [m for channel in channels for m in slack.messages(channel)]


def buttons(message):
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_the_approver_gets_a_dm_with_details_usage_and_buttons(api, slack, team, org, queue, run_worker):
    ingest_usage(org, [{"id": "u1", "user_email": "alice@globex.example", "provider": "openai", "model": "gpt-4o",
                        "input_tokens": 1_000_000, "output_tokens": 240_500, "cost_usd": "24.81",
                        "occurred_at": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)).isoformat()}])
    response = submit(api)
    assert response.status_code == 201
    assert response.json["approver_email"] == "max@globex.example" and response.json["status"] == "pending"
    run_worker()
    [dm] = dm_of(slack, "UMAX")
    body = json.dumps(dm["blocks"], ensure_ascii=False)
    assert "Reimbursement request from Alice Smith" in body
    assert "42.50 USD" in body and "ChatGPT Plus for customer research" in body
    assert "OpenAI         1,240,500   $24.81" in body
    assert buttons(dm) == [APPROVE_REIMBURSEMENT, REJECT_REIMBURSEMENT]
    assert api("get", f"/reimbursements/{response.json['id']}").json["approver_notified"] is True


def test_a_description_cannot_mention_the_channel_or_forge_a_link_in_the_dm(api, slack, team, queue, run_worker):
    assert submit(api, description="<!channel> see <https://evil.example|the invoice> & more").status_code == 201
    run_worker()
    [dm] = dm_of(slack, "UMAX")
    body = json.dumps(dm["blocks"], ensure_ascii=False)
    assert "&lt;!channel&gt; see &lt;https://evil.example|the invoice&gt; &amp; more" in body
    assert "<!channel>" not in body


def test_an_approver_outside_slack_still_sees_it_in_the_dashboard_with_why(api, slack, team, queue, run_worker,
                                                                           client, login):
    response = submit(api, approver_email="ada@globex.example")
    slack.fail("users.lookupByEmail", error="users_not_found")
    run_worker()
    status = api("get", f"/reimbursements/{response.json['id']}").json
    assert status["approver_notified"] is False
    assert status["notify_error"] == ("Ada Admin (ada@globex.example) was not found in the connected Slack "
                                      "workspaces, so no DM was sent.")
    login(team["admin"])
    page = client.get("/reimbursements/approvals").get_data(as_text=True)
    assert "Alice Smith" in page and "was not found in the connected Slack workspaces" in page


@pytest.mark.parametrize("fields, message", [
    ({"amount": "0"}, "amount must be more than 0"),
    ({"amount": 42.5}, 'amount must be a decimal string such as "42.50"'),
    ({"amount": "1.234"}, "at most 2 decimals"),
    ({"currency": "dollars"}, "three-letter ISO 4217 code"),
    ({"period": "2025-13"}, "period must be a month written YYYY-MM"),
    ({"period": "2999-01"}, "is in the future"),
    ({"description": " "}, "description must say what the money was spent on"),
    ({"employee_email": "ghost@globex.example"}, "employee_email: no user with email ghost@globex.example"),
    ({"approver_email": "alice@globex.example"}, "cannot approve their own request"),
    ({"approver_email": "bob@globex.example"}, "is not a manager or admin"),
    ({"tip": "5"}, "Unknown field(s): tip"),
])
def test_bad_submissions_are_refused_with_a_reason(api, team, fields, message):
    response = submit(api, **fields)
    assert response.status_code == 400
    assert message in response.json["error"]["message"]


def test_an_employee_without_a_manager_must_name_an_approver(api, team, make_user):
    make_user("solo@globex.example", "Solo")
    response = submit(api, employee_email="solo@globex.example")
    assert response.status_code == 400
    assert "solo@globex.example has no manager in Toktra; give approver_email" in response.json["error"]["message"]


def click(signed, slack, request_id, user, action=APPROVE_REIMBURSEMENT, name="click", reason=None):
    state = {REASON_BLOCK: {REASON_ACTION: {"type": "plain_text_input", "value": reason}}} if reason else None
    response = signed.action(action, str(request_id), user_id=user, channel_id="D0001",
                             response_url=slack.response_url(name), state=state)
    assert response.status_code == 200


def test_approve_in_slack_updates_the_card_tells_the_employee_and_queues_payroll(api, signed, slack, team, queue,
                                                                                  run_worker):
    request_id = submit(api).json["id"]
    run_worker()
    click(signed, slack, request_id, "UMAX")
    run_worker()
    status = api("get", f"/reimbursements/{request_id}").json
    assert status["status"] == "approved" and status["decided_by"] == "max@globex.example"
    [card] = dm_of(slack, "UMAX")
    assert buttons(card) == []
    assert "✅ Approved by Max Manager at" in json.dumps(card["blocks"], ensure_ascii=False)
    assert "queued for payroll export" in card["text"]
    [notice] = dm_of(slack, "UALICE")
    assert notice["text"].startswith("Your reimbursement request for 42.50 USD")
    assert "was approved by Max Manager. It will be paid with the next payroll export." in notice["text"]


def test_reject_in_slack_carries_the_typed_reason_to_the_employee(api, signed, slack, team, queue, run_worker):
    request_id = submit(api).json["id"]
    run_worker()
    click(signed, slack, request_id, "UMAX", REJECT_REIMBURSEMENT, reason="Use the team licence instead.")
    run_worker()
    assert api("get", f"/reimbursements/{request_id}").json["rejection_reason"] == "Use the team licence instead."
    [notice] = dm_of(slack, "UALICE")
    assert "was rejected by Max Manager. Reason: “Use the team licence instead.”" in notice["text"]


def test_only_the_approver_or_an_admin_may_decide(api, signed, slack, team, queue, run_worker):
    request_id = submit(api).json["id"]
    run_worker()
    click(signed, slack, request_id, "UBOB", name="bob")
    run_worker()
    [refusal] = slack.responses("bob")
    assert "Only Max Manager (the assigned approver) or an admin can decide this request." in refusal["text"]
    assert api("get", f"/reimbursements/{request_id}").json["status"] == "pending"
    click(signed, slack, request_id, "UADA", REJECT_REIMBURSEMENT, name="ada")  # opens the reason modal
    run_worker()
    [modal] = slack.modals()
    signed.view_submission(modal, {"reject-reason": {"reason": {"type": "plain_text_input", "value": "No."}}},
                           user_id="UADA")
    run_worker()
    assert api("get", f"/reimbursements/{request_id}").json["decided_by"] == "ada@globex.example"


def test_the_button_value_cannot_make_someone_else_the_decider(api, signed, slack, team, queue, run_worker):
    """Identity comes from the verified Slack user id, whatever the payload's value says."""
    request_id = submit(api).json["id"]
    run_worker()
    signed.action(APPROVE_REIMBURSEMENT, json.dumps({"id": request_id, "user": "UMAX"}), user_id="UBOB",
                  response_url=slack.response_url("forged"))
    run_worker()
    assert api("get", f"/reimbursements/{request_id}").json["status"] == "pending"


def test_a_second_click_is_told_what_happened(api, signed, slack, team, queue, run_worker):
    request_id = submit(api).json["id"]
    run_worker()
    click(signed, slack, request_id, "UMAX", name="first")
    run_worker()  # Reject's modal is opened ahead of the queue, so it would open before the approval landed
    click(signed, slack, request_id, "UMAX", REJECT_REIMBURSEMENT, name="second")
    run_worker()
    [told] = slack.responses("second")
    assert told["text"].startswith("This request was already decided: ✅ Approved by Max Manager at")
    assert api("get", f"/reimbursements/{request_id}").json["status"] == "approved"


def test_approve_and_reject_at_once_leave_exactly_one_decision(app, api, team):
    request_id = submit(api).json["id"]
    from app.models import User

    outcomes, people = [], (team["manager"].id, team["admin"].id)

    def race(user_id, approve):
        with app.app_context():
            outcomes.append(decide(request_id, db.session.get(User, user_id), approve).decided)

    threads = [threading.Thread(target=race, args=(people[i % 2], i % 3 == 0)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count(True) == 1
    request = fresh(db.session.get(ReimbursementRequest, request_id))
    assert request.status in ("approved", "rejected") and request.decided_by_id in people


def decide_in_dashboard(client, login, user, request_id, decision, reason=""):
    login(user)
    token = csrf_token_from(client.get("/reimbursements/approvals").get_data(as_text=True))
    return client.post(f"/reimbursements/{request_id}/decision",
                       data={"csrf_token": token, "decision": decision, "reason": reason})


def test_deciding_in_the_dashboard_updates_the_slack_dm(api, client, login, slack, team, queue, run_worker):
    request_id = submit(api).json["id"]
    run_worker()
    response = decide_in_dashboard(client, login, team["manager"], request_id, "reject", "Over the limit")
    assert response.status_code == 303
    assert "Alice Smith&#39;s request was rejected." in client.get("/reimbursements/approvals").get_data(as_text=True)
    run_worker()
    [card] = dm_of(slack, "UMAX")
    assert "❌ Rejected by Max Manager" in json.dumps(card["blocks"], ensure_ascii=False)
    assert "Over the limit" in dm_of(slack, "UALICE")[0]["text"]


def test_slack_and_dashboard_at_once_end_in_one_decision(api, client, login, signed, slack, team, queue, run_worker):
    request_id = submit(api).json["id"]
    run_worker()
    click(signed, slack, request_id, "UMAX", REJECT_REIMBURSEMENT, name="slack")  # queued, not yet run
    decide_in_dashboard(client, login, team["manager"], request_id, "approve")
    run_worker()
    assert "already decided: ✅ Approved" in slack.responses("slack")[0]["text"]
    assert api("get", f"/reimbursements/{request_id}").json["status"] == "approved"


def test_members_cannot_decide_in_the_dashboard(api, client, login, team):
    request_id = submit(api).json["id"]
    login(team["bob"])
    assert client.post(f"/reimbursements/{request_id}/decision", data={"decision": "approve"}).status_code in (400, 403)
    assert api("get", f"/reimbursements/{request_id}").json["status"] == "pending"


def test_an_employee_submits_from_the_dashboard(client, login, team, queue, run_worker, slack):
    login(team["alice"])
    page = client.get("/reimbursements/new").get_data(as_text=True)
    assert "My manager (Max Manager)" in page
    token = csrf_token_from(page)
    response = client.post("/reimbursements/new", data={
        "csrf_token": token, "amount": "19.99", "currency": "usd", "period": current_period("UTC").key,
        "description": "Claude Pro", "approver_email": ""})
    assert response.status_code == 303
    assert "Request sent to Max Manager for approval." in client.get("/reimbursements/new").get_data(as_text=True)
    request = db.session.scalar(sa.select(ReimbursementRequest))
    assert (request.amount, request.currency, request.approver.email) == (Decimal("19.99"), "USD",
                                                                          "max@globex.example")
    bad = client.post("/reimbursements/new", data={"csrf_token": token, "amount": "-3", "currency": "USD",
                                                   "period": current_period("UTC").key, "description": "x"})
    assert bad.status_code == 400
    assert "amount must be more than 0" in bad.get_data(as_text=True)


def approve(team, request_id):
    return decide(request_id, team["manager"], True)


def test_payroll_export_returns_each_approved_request_exactly_once(api, team):
    ids = [submit(api, amount=amount).json["id"] for amount in ("10.00", "20.50", "30.00")]
    approve(team, ids[0])
    approve(team, ids[1])
    decide(ids[2], team["manager"], False, "no")
    first = api("post", "/payroll-exports")
    assert first.status_code == 201 and first.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(first.get_data(as_text=True))))
    assert [(int(r["request_id"]), r["amount"], r["employee_email"], r["approved_by"]) for r in rows] == [
        (ids[0], "10.00", "alice@globex.example", "max@globex.example"),
        (ids[1], "20.50", "alice@globex.example", "max@globex.example")]
    batch = first.headers["X-Toktra-Batch-Id"]
    assert api("post", "/payroll-exports").status_code == 204
    again = api("get", f"/payroll-exports/{batch}")
    assert again.status_code == 200 and again.get_data(as_text=True) == first.get_data(as_text=True)
    assert api("get", f"/reimbursements/{ids[0]}").json["payroll_batch_id"] == batch
    assert api("get", "/payroll-exports/pb_nope").status_code == 404


def test_concurrent_exports_never_share_a_request(app, api, team, org):
    from app.models import Organization
    from app.services.reimbursements import export_batch

    for n in range(20):
        approve(team, submit(api, amount=f"{n + 1}.00").json["id"])
    batches, org_id = [], org.id

    def export():
        with app.app_context():
            batch = export_batch(db.session.get(Organization, org_id))
            batches.append(batch.request_count if batch else 0)

    threads = [threading.Thread(target=export) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(batches) == 20
    assert db.session.scalar(sa.select(sa.func.count()).where(ReimbursementRequest.payroll_batch_id.is_(None))) == 0


def test_the_cli_exports_a_batch(api, runner, team, tmp_path):
    approve(team, submit(api, description="=HYPERLINK(\"http://evil\")").json["id"])
    out = tmp_path / "payroll.csv"
    result = runner.invoke(args=["toktra", "payroll-export", "--org", "Globex", "--output", str(out)])
    assert result.exit_code == 0, result.output
    [row] = list(csv.DictReader(out.open()))
    assert row["description"].startswith("'=")  # no formula injection into spreadsheets
    again = runner.invoke(args=["toktra", "payroll-export", "--org", "Globex"])
    assert "Nothing to export" in again.output


def test_a_decision_made_while_redis_is_down_still_reaches_the_approver_card_and_the_employee(
        app, api, client, login, slack, team, queue, run_worker):
    from tests.conftest import TEST_REDIS_URL

    request_id = submit(api).json["id"]
    run_worker()
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions.pop("toktra.redis.fast", None)
    response = decide_in_dashboard(client, login, team["manager"], request_id, "approve")
    assert response.status_code == 303
    app.config["REDIS_URL"] = TEST_REDIS_URL
    app.extensions.pop("toktra.redis.fast", None)
    run_worker()  # the card update and the notice were committed with the decision
    assert "✅ Approved by Max Manager" in json.dumps(dm_of(slack, "UMAX")[0]["blocks"], ensure_ascii=False)
    [notice] = dm_of(slack, "UALICE")
    assert "was approved by Max Manager" in notice["text"]
