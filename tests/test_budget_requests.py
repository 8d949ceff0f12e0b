"""Request more budget: the button, the modal, the admins' DMs, one decision, and the limit raised only on approval."""
from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal

import pytest
import time_machine

from app.extensions import db
from app.models import Organization, ReimbursementRequest, User
from app.services.periods import current_period
from app.services.reimbursements import decide
from app.services.usage import ingest_usage
from app.slack.actions import APPROVE_REIMBURSEMENT, REJECT_REIMBURSEMENT, REQUEST_MORE_BUDGET
from app.slack.blocks.modals import BAD_BUDGET_AMOUNT, NO_BUDGET_REASON
from tests.conftest import csrf_token_from, fresh
from tests.test_reimbursements import buttons, dm_of


@pytest.fixture
def people(org, make_user, admin, slack, workspace):
    """Two admins (Ada, Bea), a manager (Max) and a member (Alice), all in Slack; Globex has spent $8,600 of $10,000."""
    bea = make_user("bea@globex.example", "Bea Boss", role="admin")
    max_ = make_user("max@globex.example", "Max Manager", role="manager")
    alice = make_user("alice@globex.example", "Alice Smith", manager=max_.email)
    for slack_id, user in (("UADA", admin), ("UBEA", bea), ("UMAX", max_), ("UALICE", alice)):
        slack.add_user(slack_id, user.email, user.email.split("@")[0])
    ingest_usage(org, [{"id": "u1", "user_email": alice.email, "provider": "openai", "model": "gpt-4o",
                        "input_tokens": 1000, "output_tokens": 1000, "cost_usd": "8600.00",
                        "occurred_at": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)).isoformat()}])
    return {"ada": admin, "bea": bea, "max": max_, "alice": alice}


def budget_card(signed, slack, run_worker, user="UMAX", name="budget"):
    """/toktra-budget as user: the one card answered."""
    assert signed.command("/toktra-budget", user_id=user, response_url=slack.response_url(name)).status_code == 200
    run_worker()
    [card] = slack.responses(name)
    return card


def monthly_limit_line(card) -> str:
    return next(line for line in card["text"].splitlines() if line.startswith("Monthly limit:"))


def click_request(signed, slack, org, user="UMAX", name="ask"):
    response = signed.action(REQUEST_MORE_BUDGET, str(org.id), user_id=user, response_url=slack.response_url(name),
                             is_ephemeral=True)
    assert response.status_code == 200 and response.get_data(as_text=True) == ""


def values(amount="1500", reason="Launch week: the support bot doubles its traffic.", scope="period"):
    state = {"budget-amount": {"amount": {"type": "plain_text_input", "value": amount}},
             "budget-reason": {"reason": {"type": "plain_text_input", "value": reason}}}
    if scope is not None:
        state["budget-scope"] = {"scope": {"type": "radio_buttons", "selected_option": {"value": scope}}}
    return state


def ask(signed, slack, run_worker, org, user="UMAX", name="ask", **fields) -> int:
    """Click Request more budget, fill the modal, submit it; the id of the stored request."""
    click_request(signed, slack, org, user, name)
    run_worker()
    modal = slack.modals()[-1]
    answer = signed.view_submission(modal, values(**fields), user_id=user)
    assert answer.status_code == 200 and answer.get_data(as_text=True) == ""  # closes the modal
    run_worker()
    return db.session.scalars(
        db.select(ReimbursementRequest.id).where(ReimbursementRequest.kind == "budget_increase")
        .order_by(ReimbursementRequest.id.desc())).first()


def text_of(message) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def test_a_manager_asks_from_toktra_budget_and_an_admins_approval_raises_this_periods_limit(
        signed, slack, run_worker, org, people):
    card = budget_card(signed, slack, run_worker)
    [button] = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (button["action_id"], button["value"], button["text"]["text"]) == (
        REQUEST_MORE_BUDGET, str(org.id), "Request more budget")

    click_request(signed, slack, org)
    run_worker()
    [modal] = slack.modals()
    assert modal["title"]["text"] == "Request more budget" and modal["submit"]["text"] == "Send request"
    assert "has spent *$8,600.00* of its *$10,000.00* limit (86.0%)" in text_of(modal)
    [open_call] = slack.calls_to("views.open")
    assert open_call.params["trigger_id"]

    request_id = ask_from_open_modal(signed, slack, run_worker, modal, amount="$1,500")
    [confirmation] = slack.responses("ask")
    assert confirmation["text"] == (":inbox_tray: Your request for $1,500.00 more budget (this period only) was sent "
                                    "to Globex's admins for approval. You'll get a DM with their decision.")
    # Both admins are asked; nothing changes before a decision.
    for admin in ("UADA", "UBEA"):
        [dm] = dm_of(slack, admin)
        assert dm["text"] == "Budget request from Max Manager: $1,500.00 more for this period's limit only"
        assert "Launch week: the support bot doubles its traffic." in text_of(dm)
        assert buttons(dm) == [APPROVE_REIMBURSEMENT, REJECT_REIMBURSEMENT]
    assert monthly_limit_line(budget_card(signed, slack, run_worker, name="before")) == "Monthly limit:     $10,000"

    signed.action(APPROVE_REIMBURSEMENT, str(request_id), user_id="UADA", channel_id="D0001",
                  response_url=slack.response_url("approve"))
    run_worker()
    after = budget_card(signed, slack, run_worker, name="after")
    assert monthly_limit_line(after) == "Monthly limit:     $11,500"
    assert "Spent:             $8,600 (74.8%)" in after["text"]
    period = current_period("UTC")
    assert f"the limit includes $1,500 approved for {period.label} only" in text_of(after)
    for admin in ("UADA", "UBEA"):  # every copy shows who decided, with no buttons left
        [dm] = dm_of(slack, admin)
        assert buttons(dm) == [] and "✅ Approved by Ada Admin at" in text_of(dm)
        assert f"the limit for {period.label} was raised by $1,500.00" in text_of(dm)
    [notice] = dm_of(slack, "UMAX")
    assert notice["text"] == ("Your request for $1,500.00 more budget (this period's limit only) was approved by "
                              f"Ada Admin: the limit for {period.label} was raised by $1,500.00. The limit for "
                              f"{period.label} is now $11,500.00.")
    assert fresh(db.session.get(Organization, org.id)).monthly_budget_usd == Decimal("10000")  # this period only
    # Next period the monthly limit applies again.
    with time_machine.travel(period.ends_at + dt.timedelta(hours=1)):
        assert monthly_limit_line(budget_card(signed, slack, run_worker, name="next")) == "Monthly limit:     $10,000"


def ask_from_open_modal(signed, slack, run_worker, modal, user="UMAX", **fields) -> int:
    answer = signed.view_submission(modal, values(**fields), user_id=user)
    assert answer.status_code == 200 and answer.get_data(as_text=True) == ""
    run_worker()
    return db.session.scalars(db.select(ReimbursementRequest.id)
                              .where(ReimbursementRequest.kind == "budget_increase")).one()


def test_approving_the_monthly_scope_raises_the_monthly_limit_for_good_and_is_never_paid_out(
        signed, slack, run_worker, org, people, client, login, api):
    request_id = ask(signed, slack, run_worker, org, amount="2000", scope="monthly")
    login(people["bea"])
    pending = client.get("/reimbursements/approvals").get_data(as_text=True)
    assert "Budget increase" in pending and "the monthly limit from now on" in pending
    response = client.post(f"/reimbursements/{request_id}/decision",
                           data={"csrf_token": csrf_token_from(pending), "decision": "approve"})
    assert response.status_code == 303
    page = client.get("/reimbursements/approvals").get_data(as_text=True)
    assert "Max Manager&#39;s request was approved." in page and "Budget raised" in page
    run_worker()
    assert fresh(db.session.get(Organization, org.id)).monthly_budget_usd == Decimal("12000")
    assert api("get", "/budget").json["monthly_limit_usd"] == "12000.00"
    assert monthly_limit_line(budget_card(signed, slack, run_worker)) == "Monthly limit:     $12,000"
    [notice] = dm_of(slack, "UMAX")
    period = current_period("UTC")
    assert notice["text"] == ("Your request for $2,000.00 more budget (the monthly limit, from now on) was approved by "
                              f"Bea Boss: the monthly limit was raised by $2,000.00 from {period.label} on. The limit "
                              f"for {period.label} is now $12,000.00.")
    assert api("post", "/payroll-exports").status_code == 204  # a budget request is not a reimbursement


def test_a_rejection_changes_nothing_and_tells_the_requester_why(signed, slack, run_worker, org, people):
    request_id = ask(signed, slack, run_worker, org)
    signed.action(REJECT_REIMBURSEMENT, str(request_id), user_id="UBEA", channel_id="D0002",
                  response_url=slack.response_url("reject"))
    run_worker()
    modal = slack.modals()[-1]
    assert modal["title"]["text"] == "Reject request"
    signed.view_submission(modal, {"reject-reason": {"reason": {"type": "plain_text_input",
                                                                "value": "Use the reserve next month."}}},
                           user_id="UBEA")
    run_worker()
    assert monthly_limit_line(budget_card(signed, slack, run_worker)) == "Monthly limit:     $10,000"
    [notice] = dm_of(slack, "UMAX")
    assert notice["text"] == ("Your request for $1,500.00 more budget (this period's limit only) was rejected by "
                              "Bea Boss; the budget is unchanged. Reason: “Use the reserve next month.”")
    for admin in ("UADA", "UBEA"):
        [dm] = dm_of(slack, admin)
        assert buttons(dm) == [] and "❌ Rejected by Bea Boss at" in text_of(dm)
    assert fresh(db.session.get(Organization, org.id)).monthly_budget_usd == Decimal("10000")


def test_two_admins_clicking_at_once_make_one_decision_and_raise_the_limit_once(
        app, signed, slack, run_worker, org, people):
    request_id = ask(signed, slack, run_worker, org)
    signed.action(APPROVE_REIMBURSEMENT, str(request_id), user_id="UADA", response_url=slack.response_url("ada"))
    signed.action(APPROVE_REIMBURSEMENT, str(request_id), user_id="UBEA", response_url=slack.response_url("bea"))
    run_worker()
    [told] = slack.responses("bea")
    assert told["text"].startswith("This request was already decided: ✅ Approved by Ada Admin at")
    assert monthly_limit_line(budget_card(signed, slack, run_worker)) == "Monthly limit:     $11,500"

    # And truly at once, straight into the decision: one wins, the limit is raised once.
    second = ask(signed, slack, run_worker, org, name="ask-2", amount="100")
    outcomes, admins = [], (people["ada"].id, people["bea"].id)

    def race(user_id):
        with app.app_context():
            outcomes.append(decide(second, db.session.get(User, user_id), True).decided)

    threads = [threading.Thread(target=race, args=(admins[i % 2],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count(True) == 1
    assert monthly_limit_line(budget_card(signed, slack, run_worker, name="after-race")) == "Monthly limit:     $11,600"


def test_a_member_gets_no_button_and_a_clear_refusal(signed, slack, run_worker, org, people):
    card = budget_card(signed, slack, run_worker, user="UALICE")
    assert buttons(card) == []
    click_request(signed, slack, org, user="UALICE", name="alice")  # a forged or old button
    run_worker()
    [refusal] = slack.responses("alice")
    assert refusal["text"] == (":no_entry: Only managers and admins can ask for more budget. Ask your manager to "
                               "request it, or an admin to raise the monthly limit.")
    assert slack.calls_to("views.open") == []


def home_with_the_budget_button(signed, slack, run_worker, org, user):
    """user's Home tab once the 80% threshold was crossed: the budget alert's card carries Request more budget."""
    from app.services.budget_policy import check_budget_thresholds
    from tests.test_slack_home import open_home

    check_budget_thresholds(org)  # 86% crossed the 80% threshold
    open_home(signed, user)
    run_worker()
    home = slack.home_view(user)
    assert f'"action_id": "{REQUEST_MORE_BUDGET}"' in json.dumps(home["blocks"])
    return home


def test_a_member_clicking_on_home_sees_the_refusal_in_a_modal(signed, slack, run_worker, org, people):
    home = home_with_the_budget_button(signed, slack, run_worker, org, "UBEA")
    people["bea"].role = "member"  # demoted since her Home tab was published: the button is stale
    db.session.commit()
    # A Home tab click has no response_url: the refusal can only be shown in a modal.
    response = signed.view_action(REQUEST_MORE_BUDGET, str(org.id), home, user_id="UBEA", trigger_id="1.home-click")
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    run_worker()
    [modal] = slack.modals()
    assert modal["title"]["text"] == "Request more budget"
    assert modal["close"]["text"] == "Close" and "submit" not in modal
    assert [b["text"]["text"] for b in modal["blocks"]] == [
        ":no_entry: Only managers and admins can ask for more budget. Ask your manager to request it, or an admin "
        "to raise the monthly limit."]
    [call] = slack.calls_to("views.open")
    assert call.params["trigger_id"] == "1.home-click"
    assert db.session.scalars(db.select(ReimbursementRequest)).all() == []


def test_someone_without_an_account_clicking_on_home_is_told_why_in_a_modal(signed, slack, run_worker, org, people):
    home = home_with_the_budget_button(signed, slack, run_worker, org, "UBEA")
    slack.add_user("USTRANGER", "stranger@elsewhere.example", "stranger")
    signed.view_action(REQUEST_MORE_BUDGET, str(org.id), home, user_id="USTRANGER")
    run_worker()
    [modal] = slack.modals()
    assert "could not find an account for your Slack email (stranger@elsewhere.example) in Globex" in text_of(modal)


def test_an_admin_asking_from_home_sees_the_outcome_in_the_modal(signed, slack, run_worker, org, people):
    home = home_with_the_budget_button(signed, slack, run_worker, org, "UADA")
    signed.view_action(REQUEST_MORE_BUDGET, str(org.id), home, user_id="UADA")
    run_worker()
    [modal] = slack.modals()
    assert modal["submit"]["text"] == "Send request"
    assert "has spent *$8,600.00* of its *$10,000.00* limit (86.0%)" in text_of(modal)
    # No response_url to answer at: the modal stays open and shows the outcome.
    answer = signed.view_submission(modal, values(), user_id="UADA")
    assert answer.status_code == 200 and answer.json["response_action"] == "update"
    assert "Sending your request…" in json.dumps(answer.json["view"], ensure_ascii=False)
    run_worker()
    [shown] = slack.modals()
    assert [b["text"]["text"] for b in shown["blocks"]] == [
        ":inbox_tray: Your request for $1,500.00 more budget (this period only) was sent to Globex's admins for "
        "approval. You'll get a DM with their decision."]
    assert len(dm_of(slack, "UBEA")) == 1


def test_a_lone_admin_asking_from_home_sees_the_refusal_in_the_modal(signed, slack, run_worker, org, people):
    people["bea"].role = "member"
    db.session.commit()
    home = home_with_the_budget_button(signed, slack, run_worker, org, "UADA")
    signed.view_action(REQUEST_MORE_BUDGET, str(org.id), home, user_id="UADA")
    run_worker()
    signed.view_submission(slack.modals()[-1], values(), user_id="UADA")
    run_worker()
    [shown] = slack.modals()
    assert [b["text"]["text"] for b in shown["blocks"]] == [
        ":no_entry: Globex has no other admin to approve a budget request; an admin can raise the monthly limit "
        "under Settings."]
    assert db.session.scalars(db.select(ReimbursementRequest)).all() == []


@pytest.mark.parametrize("amount", ["", "lots", "0", "-5", "1.234", "2000000", "NaN"])
def test_a_bad_amount_is_refused_in_the_modal(signed, slack, run_worker, org, people, queue, amount):
    click_request(signed, slack, org)
    run_worker()
    [modal] = slack.modals()
    answer = signed.view_submission(modal, values(amount=amount, reason=" "), user_id="UMAX")
    assert answer.status_code == 200
    assert answer.json == {"response_action": "errors", "errors": {"budget-amount": BAD_BUDGET_AMOUNT,
                                                                   "budget-reason": NO_BUDGET_REASON}}
    assert BAD_BUDGET_AMOUNT.startswith("Enter an amount in US dollars: more than 0, at most 1,000,000")
    assert len(queue) == 0
    # The corrected form goes through.
    ask_from_open_modal(signed, slack, run_worker, modal, amount="250.50")
    assert len(dm_of(slack, "UADA")) == 1


def test_an_admin_asking_is_decided_by_the_other_admin_only(signed, slack, run_worker, org, people):
    request_id = ask(signed, slack, run_worker, org, user="UADA", name="ada-asks")
    assert dm_of(slack, "UADA") == [] and len(dm_of(slack, "UBEA")) == 1
    signed.action(APPROVE_REIMBURSEMENT, str(request_id), user_id="UADA", response_url=slack.response_url("self"))
    signed.action(APPROVE_REIMBURSEMENT, str(request_id), user_id="UMAX", response_url=slack.response_url("max"))
    run_worker()
    assert slack.responses("self")[0]["text"] == (":no_entry: You cannot decide your own budget request; another "
                                                  "admin must decide it.")
    assert slack.responses("max")[0]["text"] == ":no_entry: Only an admin can decide a budget request."
    assert monthly_limit_line(budget_card(signed, slack, run_worker)) == "Monthly limit:     $10,000"


def test_a_lone_admin_is_told_there_is_no_one_to_approve(signed, slack, run_worker, org, people):
    people["bea"].role = "member"
    db.session.commit()
    click_request(signed, slack, org, user="UADA", name="lone")
    run_worker()
    signed.view_submission(slack.modals()[-1], values(), user_id="UADA")
    run_worker()
    told = slack.responses("lone")[-1]
    assert told["text"] == (":no_entry: Globex has no other admin to approve a budget request; an admin can raise the "
                            "monthly limit under Settings.")
    assert db.session.scalars(db.select(ReimbursementRequest)).all() == []


def test_budget_alert_cards_carry_the_button(signed, slack, run_worker, org, people):
    from app.services.budget_policy import check_budget_thresholds

    check_budget_thresholds(org)  # 86% crossed the 80% threshold
    assert signed.command("/toktra-alerts", user_id="UMAX", response_url=slack.response_url("alerts")).status_code == 200
    run_worker()
    budget_buttons = [e for answer in slack.responses("alerts") for b in answer["blocks"] if b["type"] == "actions"
                      for e in b["elements"] if e["action_id"] == REQUEST_MORE_BUDGET]
    assert [b["value"] for b in budget_buttons] == [str(org.id)]


def test_the_api_takes_a_request_and_reports_its_decision(api, slack, run_worker, org, people, signed):
    response = api("post", "/budget/requests", json={"requester_email": "max@globex.example", "amount": "750",
                                                     "reason": "Evaluation of a new model.", "scope": "monthly"})
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["requester_email"], body["amount"], body["scope"], body["status"]) == (
        "max@globex.example", "750.00", "monthly", "pending")
    assert response.headers["Location"].endswith(f"/api/v1/budget/requests/{body['id']}")
    run_worker()
    assert len(dm_of(slack, "UADA")) == 1 and len(dm_of(slack, "UBEA")) == 1
    signed.action(APPROVE_REIMBURSEMENT, str(body["id"]), user_id="UBEA", response_url=slack.response_url("ok"))
    run_worker()
    decided = api("get", f"/budget/requests/{body['id']}").json
    assert decided["status"] == "approved" and decided["decided_by"] == "bea@globex.example"
    assert api("get", "/budget").json["monthly_limit_usd"] == "10750.00"
    assert api("get", f"/reimbursements/{body['id']}").status_code == 404  # not a reimbursement


@pytest.mark.parametrize("fields, status, message", [
    ({"requester_email": "alice@globex.example"}, 403, "Only managers and admins can ask for more budget."),
    ({"requester_email": "ghost@globex.example"}, 400, "requester_email: no user with email ghost@globex.example"),
    ({"amount": "0"}, 400, "amount must be more than 0"),
    ({"amount": 12.5}, 400, 'amount must be a decimal string such as "42.50"'),
    ({"reason": "  "}, 400, "reason"),
    ({"scope": "forever"}, 400, 'scope must be "period" (this period only) or "monthly"'),
])
def test_bad_api_requests_are_refused_with_a_reason(api, people, fields, status, message):
    body = {"requester_email": "max@globex.example", "amount": "100", "reason": "More tests.", **fields}
    response = api("post", "/budget/requests", json=body)
    assert response.status_code == status
    assert message in response.json["error"]["message"]


def test_every_other_admins_home_tab_lists_the_request_with_its_buttons(signed, slack, run_worker, org, people):
    from tests.test_slack_home import open_home

    for admin in ("UADA", "UBEA"):
        open_home(signed, admin)
    run_worker()
    request_id = ask(signed, slack, run_worker, org)
    for admin in ("UADA", "UBEA"):
        home = json.dumps(slack.home_view(admin)["blocks"], ensure_ascii=False)
        assert "Requests waiting for you* (1)" in home
        assert "*Max Manager* asks for *1,500.00 USD* more budget" in home
        assert f'"value": "{request_id}"' in home
    signed.action(APPROVE_REIMBURSEMENT, str(request_id), user_id="UBEA", response_url=slack.response_url("ok"))
    run_worker()
    assert "more budget" not in json.dumps(slack.home_view("UADA")["blocks"])


def test_an_approved_raise_lets_the_crossed_threshold_fire_again_and_the_card_turns_green(
        signed, slack, run_worker, org, people, workspace, api):
    from app.models import Alert
    from app.services.alerts import acknowledge_alert
    from app.slack.client.channels import store_channels
    from tests.test_alerts import usage

    slack.add_channel("C0BUDGET", "budget")
    store_channels(workspace.id, [{"id": "C0BUDGET", "name": "budget", "is_private": False}])
    # At 86% the 80% threshold fires as the budget channel is chosen, told in the card's thread.
    assert api("put", "/budget", json={"channel": "#budget"}).status_code == 200
    run_worker()
    [card] = slack.channel_messages("C0BUDGET")
    assert "🟠" in text_of(card)
    [first] = slack.thread("C0BUDGET", card["ts"])
    assert first["text"].startswith("🟠 Crossed 80% of the monthly budget: $8,000 of $10,000, at")
    [alert] = db.session.scalars(db.select(Alert)).all()
    acknowledge_alert(alert.id, people["ada"])

    request_id = ask(signed, slack, run_worker, org, amount="5000")
    signed.action(APPROVE_REIMBURSEMENT, str(request_id), user_id="UBEA", response_url=slack.response_url("ok"))
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=61)):
        run_worker()  # the card is edited at most once a minute
        [card] = slack.channel_messages("C0BUDGET")
        assert "$8,600 (57.3%)" in text_of(card) and "🟢" in text_of(card) and "🟠" not in text_of(card)

        api("post", "/usage", json={"events": [usage(people["alice"].email, "3400", 1)]})  # 80% of $15,000
        api("post", "/usage", json={"events": [usage(people["alice"].email, "10", 2)]})
        run_worker()
    replies = [m["text"] for m in slack.thread("C0BUDGET", card["ts"])]
    assert len(replies) == 2
    assert replies[1].startswith("🟠 Crossed 80% of the monthly budget: $12,000 of $15,000, at")
    # The first reply's outbox row is kept (its history too), under a key that makes way for the second.
    from app.models import OutboxMessage
    sent = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.kind == "budget_reply")
                              .order_by(OutboxMessage.id)).all()
    assert [(m.state, m.key.endswith(f":superseded:{m.id}")) for m in sent] == [("sent", True), ("sent", False)]
    alerts = db.session.scalars(db.select(Alert).order_by(Alert.id)).all()
    assert [(a.title, a.status) for a in alerts] == [
        (f"Globex has spent 80% of the monthly budget for {current_period('UTC').label}", "acknowledged"),
        (f"Globex has spent 80% of the monthly budget for {current_period('UTC').label}", "open")]


def test_a_request_whose_confirmation_cannot_be_posted_is_stored_once_and_not_retried(
        signed, slack, run_worker, org, people, redis_conn):
    from rq import Queue
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry

    gone = "http://127.0.0.1:9/response_url/gone"  # nothing listens there: the confirmation post fails
    assert signed.action(REQUEST_MORE_BUDGET, str(org.id), user_id="UMAX", response_url=gone,
                         is_ephemeral=True).status_code == 200
    run_worker()
    answer = signed.view_submission(slack.modals()[-1], values(amount="700"), user_id="UMAX")
    assert answer.status_code == 200
    run_worker()
    requests = db.session.scalars(db.select(ReimbursementRequest)
                                  .where(ReimbursementRequest.kind == "budget_increase")).all()
    assert [(r.amount, r.status) for r in requests] == [(Decimal("700.00"), "pending")]
    [dm] = dm_of(slack, "UBEA")  # the approvers were asked all the same
    assert "$700" in json.dumps(dm["blocks"])
    queue = Queue("default", connection=redis_conn)
    assert FailedJobRegistry(queue=queue).count == 0 and ScheduledJobRegistry(queue=queue).count == 0
