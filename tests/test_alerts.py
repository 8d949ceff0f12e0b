"""Security alerts: intake, routing, delivery through the outbox, budget alerts, Acknowledge."""
from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
import sqlalchemy as sa
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from app.extensions import db
from app.models import Alert, AlertChannelRoute, OutboxMessage, SlackWorkspace
from app.services.alerts import acknowledge_alert, fire_alert
from app.slack.actions import ACKNOWLEDGE_ALERT
from jobs import enqueue
from jobs.outbox import deliver, dispatch_due
from tests.conftest import TEST_REDIS_URL, fresh


@pytest.fixture
def channels(slack, workspace, org, admin):
    """Two workspaces' alert channels: A routes critical, high and everything; B routes high+critical."""
    slack.add_team("T0002", "Beta")
    beta = SlackWorkspace(org_id=org.id, team_id="T0002", team_name="Beta", bot_token=slack.team("T0002").bot_token,
                          bot_user_id=slack.team("T0002").bot_user_id, scopes="", installed_by_id=admin.id)
    db.session.add(beta)
    for channel_id, name, team in (("C1", "security-incidents", "T0001"), ("C2", "it-alerts", "T0001"),
                                   ("C3", "all-alerts", "T0001"), ("C4", "beta-alerts", "T0002")):
        slack.add_channel(channel_id, name, team_id=team)
    db.session.flush()
    routes = {
        "C1": AlertChannelRoute(workspace_id=workspace.id, channel_id="C1", channel_name="security-incidents",
                                severities="critical"),
        "C2": AlertChannelRoute(workspace_id=workspace.id, channel_id="C2", channel_name="it-alerts", severities="high"),
        "C3": AlertChannelRoute(workspace_id=workspace.id, channel_id="C3", channel_name="all-alerts",
                                severities="low,medium,high,critical"),
        "C4": AlertChannelRoute(workspace_id=beta.id, channel_id="C4", channel_name="beta-alerts",
                                severities="high,critical"),
    }
    db.session.add_all(routes.values())
    db.session.commit()
    return routes


def post_alert(api, severity="high", **fields):
    body = {"severity": severity, "policy": "Secrets in prompts", "title": "AWS key in a prompt", **fields}
    return api("post", "/alerts", json=body)


def copies(channel_id=None):
    """The outbox messages of alert cards (optionally in one channel)."""
    query = sa.select(OutboxMessage).where(OutboxMessage.kind == "alert_card")
    if channel_id:
        query = query.where(OutboxMessage.channel_id == channel_id)
    return db.session.scalars(query.order_by(OutboxMessage.id)).all()


@pytest.mark.parametrize("severity, expected", [
    ("low", {"C3"}), ("medium", {"C3"}), ("high", {"C2", "C3", "C4"}), ("critical", {"C1", "C3", "C4"}),
])
def test_alerts_reach_every_matching_channel_in_every_workspace(api, slack, channels, queue, run_worker, severity,
                                                                 expected, redis_conn):
    response = post_alert(api, severity)
    assert response.status_code == 201
    assert response.json["deliveries"] == len(expected)
    run_worker()
    posted = {c for c in ("C1", "C2", "C3", "C4") if slack.messages(c)}
    assert posted == expected
    message = slack.messages(sorted(expected)[0])[0]
    assert "AWS key in a prompt" in json.dumps(message["blocks"])


def test_an_inactive_workspace_gets_nothing(api, slack, channels, queue, run_worker, signed):
    signed.event({"type": "app_uninstalled"}, team_id="T0002")
    assert post_alert(api, "critical").json["deliveries"] == 2
    run_worker()
    assert slack.messages("C4") == []


def test_the_alert_and_its_channel_copies_are_committed_before_anything_is_queued(api, channels, queue):
    post_alert(api, "critical")
    assert {(m.channel_id, m.state) for m in copies()} == {("C1", "pending"), ("C3", "pending"), ("C4", "pending")}
    assert len(queue) == 0  # the worker's dispatcher queues them
    assert dispatch_due() == 3 and len(queue) == 3


def test_a_delivery_job_run_twice_posts_once(api, slack, channels, queue, run_worker):
    post_alert(api, "critical")
    [message] = copies("C1")
    run_worker()
    enqueue(deliver, message_id=message.id)
    run_worker()
    assert len(slack.messages("C1")) == 1
    assert fresh(message).state == "sent"


def test_two_jobs_racing_for_one_delivery_post_once(app, slack, channels, org):
    fire_alert(org, "high", "Policy", "Racing")
    [message] = copies("C2")
    message_id = message.id

    def run():
        with app.app_context():
            deliver(message_id)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(slack.messages("C2")) == 1


def test_a_429_holds_that_channel_without_holding_up_the_others(api, slack, channels, queue, run_worker):
    slack.fail("chat.postMessage", channel="C1", retry_after=30)
    post_alert(api, "critical")
    started = dt.datetime.now(dt.timezone.utc)
    run_worker()
    finished = dt.datetime.now(dt.timezone.utc)
    assert slack.messages("C1") == [] and len(slack.messages("C3")) == 1 and len(slack.messages("C4")) == 1
    [held] = copies("C1")
    hold = dt.timedelta(seconds=30)  # Retry-After, kept with the message, not slept
    assert started + hold <= fresh(held).not_before <= finished + hold
    assert [e.event for e in held.events] == ["rate_limited"]
    assert len(ScheduledJobRegistry(queue=queue)) == 0  # the time lives with the message, not in Redis


def test_an_alert_whose_job_was_lost_is_queued_again_after_the_lease(app, api, slack, channels, queue, run_worker):
    post_alert(api, "critical")
    assert dispatch_due() == 3
    queue.empty()  # the jobs are lost (Redis restarted, say)
    assert dispatch_due() == 0  # still within the lease: they may yet run
    db.session.execute(sa.update(OutboxMessage).values(
        dispatched_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1)))
    db.session.commit()
    run_worker()
    assert len(slack.messages("C1")) == 1 and len(slack.messages("C4")) == 1


def test_an_alert_fired_while_redis_is_down_is_delivered_later(app, api, slack, channels, queue, run_worker):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions.pop("toktra.redis.fast", None)
    assert post_alert(api, "critical").status_code == 201  # stored; the dispatcher was not even woken
    app.config["REDIS_URL"] = TEST_REDIS_URL
    app.extensions.pop("toktra.redis.fast", None)
    run_worker()
    assert len(slack.messages("C1")) == 1


def test_permanent_failures_are_recorded_in_words_and_not_retried(api, slack, channels, queue, run_worker, client,
                                                                  login, admin):
    slack.fail("chat.postMessage", error="not_in_channel", channel="C1", times=None)
    post_alert(api, "critical")
    run_worker()
    [message] = copies("C1")
    assert message.state == "failed"
    assert message.last_error == "Toktra is not in this channel: invite @Toktra to it."
    assert len(ScheduledJobRegistry(queue=queue)) == 0 and len(FailedJobRegistry(queue=queue)) == 0
    route = fresh(channels["C1"])
    assert route.last_delivery_ok is False and "invite @Toktra" in route.last_delivery_error
    assert fresh(channels["C3"]).last_delivery_ok is True


def test_dedup_key_holds_while_the_alert_is_open(api, channels, slack, queue, run_worker, member):
    first = post_alert(api, "high", dedup_key="dlp:alice:1", user_email=member.email)
    second = post_alert(api, "high", dedup_key="dlp:alice:1", user_email=member.email)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json["created"] is False and second.json["alert"]["id"] == first.json["alert"]["id"]
    acknowledge_alert(first.json["alert"]["id"], member)
    third = post_alert(api, "high", dedup_key="dlp:alice:1")
    assert third.status_code == 201 and third.json["alert"]["id"] != first.json["alert"]["id"]


def test_concurrent_posts_with_one_dedup_key_fire_once(app, org, channels):
    from app.models import Organization

    results, org_id = [], org.id

    def fire():
        with app.app_context():
            results.append(fire_alert(db.session.get(Organization, org_id), "high", "P", "T", dedup_key="same").created)

    threads = [threading.Thread(target=fire) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, False, True]
    assert db.session.scalar(sa.select(sa.func.count(Alert.id))) == 1


@pytest.mark.parametrize("body, message", [
    ({"severity": "urgent", "policy": "P", "title": "T"}, "severity must be one of low, medium, high, critical"),
    ({"severity": "high", "title": "T"}, "policy must be a non-empty string"),
    ({"severity": "high", "policy": "P", "title": ""}, "title must be a non-empty string"),
    ({"severity": "high", "policy": "P", "title": "T", "user_email": "ghost@globex.example"},
     "no user with email ghost@globex.example"),
    ({"severity": "high", "policy": "P", "title": "T", "colour": "red"}, "Unknown field(s): colour"),
    ({"severity": "high", "policy": "P", "title": "x" * 501}, "title is longer than 500 characters"),
])
def test_bad_alerts_are_refused_with_a_reason(api, body, message):
    response = api("post", "/alerts", json=body)
    assert response.status_code == 400
    assert message in response.json["error"]["message"]


def test_listing_alerts_filters_by_severity_and_status(api, org, member):
    for severity in ("low", "high", "high", "critical"):
        fire_alert(org, severity, "P", f"{severity} alert")
    high = api("get", "/alerts?severity=high").json["alerts"]
    assert [a["severity"] for a in high] == ["high", "high"]
    acknowledge_alert(high[0]["id"], member)
    acked = api("get", "/alerts?status=acknowledged").json["alerts"]
    assert [(a["id"], a["acknowledged_by"]) for a in acked] == [(high[0]["id"], member.email)]
    assert api("get", "/alerts?status=closed").status_code == 400
    assert api("get", "/alerts?limit=0").status_code == 400


def usage(email, cost, n):
    moment = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)).isoformat()
    return {"id": f"budget-{n}", "user_email": email, "provider": "openai", "model": "gpt-4o", "input_tokens": 10,
            "output_tokens": 10, "cost_usd": cost, "occurred_at": moment}


def test_budget_alerts_fire_once_per_period_at_the_threshold_and_at_100(api, channels, member, queue, run_worker,
                                                                        slack):
    api("post", "/usage", json={"events": [usage(member.email, "7000", 1)]})
    assert api("get", "/alerts").json["alerts"] == []
    api("post", "/usage", json={"events": [usage(member.email, "1500", 2)]})  # 85% > 80%
    [high] = api("get", "/alerts").json["alerts"]
    assert high["severity"] == "high" and high["policy"] == "Budget" and "80% of the monthly budget" in high["title"]
    acknowledge_alert(high["id"], member)
    api("post", "/usage", json={"events": [usage(member.email, "100", 3)]})  # still above 80%: no new alert
    api("post", "/usage", json={"events": [usage(member.email, "2000", 4)]})  # 106%
    alerts = api("get", "/alerts").json["alerts"]
    assert [a["severity"] for a in alerts] == ["critical", "high"]
    api("post", "/usage", json={"events": [usage(member.email, "5", 5)]})
    assert len(api("get", "/alerts").json["alerts"]) == 2
    run_worker()
    assert any("spent the monthly budget" in m["text"] for m in slack.messages("C1"))


def test_lowering_the_budget_can_fire_the_alert(api, member):
    api("post", "/usage", json={"events": [usage(member.email, "500", 1)]})
    api("put", "/budget", json={"monthly_limit_usd": "600"})
    [alert] = api("get", "/alerts").json["alerts"]
    assert alert["severity"] == "high"


# --- Acknowledge ---------------------------------------------------------------------------------

@pytest.fixture
def delivered(api, slack, channels, queue, run_worker, member, admin):
    """A critical alert delivered to C1, C3 and C4; Slack users U0001 (Alice) and U0002 (Ada, admin)."""
    slack.add_user("U0001", member.email, "alice")
    slack.add_user("U0002", admin.email, "ada")
    alert_id = post_alert(api, "critical", user_email=member.email).json["alert"]["id"]
    run_worker()
    return alert_id


def test_acknowledge_on_a_channel_card_updates_every_copy(signed, slack, delivered, queue, run_worker):
    message = slack.messages("C1")[0]
    [button] = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == ACKNOWLEDGE_ALERT]
    response = signed.action(ACKNOWLEDGE_ALERT, button["value"], user_id="U0001", channel_id="C1",
                             message_ts=message["ts"], response_url=slack.response_url("ack"))
    assert response.status_code == 200
    run_worker()
    alert = db.session.get(Alert, delivered)
    db.session.refresh(alert)
    assert alert.status == "acknowledged" and alert.acknowledged_by.name == "Alice Smith"
    for channel in ("C1", "C3", "C4"):
        [copy] = slack.channel_messages(channel)
        body = json.dumps(copy["blocks"], ensure_ascii=False)
        assert "Acknowledged by Alice Smith" in body and ACKNOWLEDGE_ALERT not in body
        assert [r["text"] for r in slack.thread(channel, copy["ts"])] == ["✅ Acknowledged by Alice Smith"]
    assert len(slack.calls_to("chat.update")) == 3


def test_a_later_click_is_told_who_acknowledged_and_changes_nothing(signed, slack, delivered, queue, run_worker):
    value = json.dumps({"alert": delivered})
    signed.action(ACKNOWLEDGE_ALERT, value, user_id="U0001", response_url=slack.response_url("first"))
    run_worker()
    signed.action(ACKNOWLEDGE_ALERT, value, user_id="U0002", response_url=slack.response_url("second"))
    run_worker()
    [answer] = slack.responses("second")
    assert answer["text"].startswith("This alert was already acknowledged by Alice Smith at ")
    assert answer.get("replace_original") in (None, False)
    assert fresh(db.session.get(Alert, delivered)).acknowledged_by.name == "Alice Smith"


def test_two_people_acknowledging_at_once_leave_one_acknowledgement(app, delivered, member, admin):
    from app.models import User

    winners, people = [], (member.id, admin.id)

    def click(user_id):
        with app.app_context():
            won, _ = acknowledge_alert(delivered, db.session.get(User, user_id))
            winners.append((user_id, won))

    threads = [threading.Thread(target=click, args=(u,)) for u in people * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(won for _, won in winners) == 1
    alert = fresh(db.session.get(Alert, delivered))
    assert alert.acknowledged_by_id == [u for u, won in winners if won][0]


def test_acknowledge_on_the_toktra_alerts_list_replaces_that_card(signed, slack, delivered, queue, run_worker):
    signed.command("/toktra-alerts", "severity:critical", user_id="U0002", response_url=slack.response_url("list"))
    run_worker()
    [listing] = slack.responses("list")
    [button] = [e for b in listing["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == ACKNOWLEDGE_ALERT]
    signed.action(ACKNOWLEDGE_ALERT, button["value"], user_id="U0002", is_ephemeral=True,
                  response_url=slack.response_url("list"))
    run_worker()
    replaced = slack.responses("list")[-1]
    assert replaced["replace_original"] is True
    assert "Acknowledged by Ada Admin" in json.dumps(replaced["blocks"])


def test_someone_from_another_organization_cannot_acknowledge(signed, slack, delivered, queue, run_worker):
    from app.services.accounts import create_organization, create_user

    other = create_organization("Umbrella")
    create_user(other, "wesker@umbrella.example", "Albert", "admin", "password123")
    # The same Slack workspace, but the email belongs to another organization: no Toktra account here.
    slack.add_user("U0666", "wesker@umbrella.example", "albert")
    signed.action(ACKNOWLEDGE_ALERT, json.dumps({"alert": delivered}), user_id="U0666",
                  response_url=slack.response_url("x"))
    run_worker()
    assert "could not find an account" in slack.responses("x")[0]["text"]
    assert fresh(db.session.get(Alert, delivered)).status == "open"


def test_an_acknowledge_clicked_while_redis_is_down_is_kept_and_applied_when_it_is_back(app, signed, slack, delivered,
                                                                                         run_worker):
    from app.models import DeferredJob

    calls_before = len(slack.calls)
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions.pop("toktra.redis.fast", None)
    response = signed.action(ACKNOWLEDGE_ALERT, json.dumps({"alert": delivered}), user_id="U0001",
                             response_url=slack.response_url("down"))
    assert response.status_code == 200
    assert len(slack.calls) == calls_before  # the web process said nothing to Slack
    assert db.session.scalar(sa.select(sa.func.count(DeferredJob.id))) == 1
    app.config["REDIS_URL"] = TEST_REDIS_URL
    app.extensions.pop("toktra.redis.fast", None)
    run_worker()
    assert fresh(db.session.get(Alert, delivered)).acknowledged_by.name == "Alice Smith"
    assert all("Acknowledged by Alice Smith" in json.dumps(slack.messages(c)[0]["blocks"]) for c in ("C1", "C3", "C4"))
    assert db.session.scalar(sa.select(sa.func.count(DeferredJob.id))) == 0


def test_acknowledging_from_a_list_whose_response_url_expired_still_updates_every_channel_copy(
        signed, slack, delivered, run_worker):
    signed.command("/toktra-alerts", "severity:critical", user_id="U0002", response_url=slack.response_url("old"))
    run_worker()
    [listing] = slack.responses("old")
    [button] = [e for b in listing["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == ACKNOWLEDGE_ALERT]
    slack.expire_response_url("old")  # more than 30 minutes later
    signed.action(ACKNOWLEDGE_ALERT, button["value"], user_id="U0002", is_ephemeral=True,
                  response_url=slack.response_url("old"))
    run_worker()
    assert fresh(db.session.get(Alert, delivered)).acknowledged_by.name == "Ada Admin"
    for channel in ("C1", "C3", "C4"):
        assert "Acknowledged by Ada Admin" in json.dumps(slack.messages(channel)[0]["blocks"])
