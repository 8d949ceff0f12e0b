"""A full scenario (a slash command, an alert rate limited then posted, a ticket, an acknowledgement) seen from
outside: /metrics counts it, and every log line is JSON with its ids and without any secret the run used."""
from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest
import responses
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from app.extensions import db
from app.logs import json_handler
from app.models import AlertChannelRoute, ItsmConnector
from app.models.outbox import ChannelPace, OutboxMessage
from app.slack.actions import ACKNOWLEDGE_ALERT, CREATE_TICKET
from tests.conftest import SIGNING_SECRET, TEST_PASSWORD

JIRA = "https://acme.atlassian.net"
JIRA_TOKEN = "atlassian-api-token-8f3k2l"
METRICS_TOKEN = "metrics-scraper-token-5c1d"


def scrape(client) -> dict[tuple, float]:
    """/metrics as {(sample name, sorted labels): value}."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def scenario(app, client, api, api_key, signed, slack, workspace, admin, member, run_worker, login):
    """Run the scenario with every log line captured as the service writes it (DEBUG, JSON); returns them."""
    app.config["METRICS_TOKEN"] = METRICS_TOKEN
    slack.add_channel("C1", "security")
    slack.add_user("U0001", member.email, "alice")
    slack.add_user("U0002", admin.email, "ada")
    db.session.add(AlertChannelRoute(workspace_id=workspace.id, channel_id="C1", channel_name="security",
                                     severities="critical"))
    db.session.add(ItsmConnector(org_id=workspace.org_id, kind="jira_cloud", name="Jira", base_url=JIRA,
                                 project="OPS", issue_type="Task",
                                 credentials=json.dumps({"email": "ada@acme.example", "api_token": JIRA_TOKEN})))
    db.session.commit()

    stream = io.StringIO()
    handler = json_handler(stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # library debug lines too (slack_sdk logs its request headers at DEBUG)
    before = scrape(client)
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as http:
            http.post(f"{JIRA}/rest/api/3/issue", json={"id": "10001", "key": "OPS-123",
                                                        "self": f"{JIRA}/rest/api/3/issue/10001"}, status=201)
            login(admin)
            assert signed.command("/toktra-budget", "", user_id="U0002",
                                  response_url=slack.response_url("budget")).status_code == 200
            forged = client.post("/slack/events", data="command=%2Ftoktra-budget&team_id=T0001",
                                 content_type="application/x-www-form-urlencoded")
            assert forged.status_code == 401
            run_worker()
            slack.fail("chat.postMessage", retry_after=0.5, channel="C1")
            response = api("post", "/alerts", json={"severity": "critical", "policy": "Secrets in prompts",
                                                     "title": "API key in a prompt", "user_email": member.email})
            assert response.status_code == 201, response.get_json()
            alert_id = response.get_json()["alert"]["id"]
            run_worker()  # the post is answered 429: the channel is held
            past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
            db.session.execute(sa.update(ChannelPace).values(held_until=past, next_send_at=past))
            db.session.execute(sa.update(OutboxMessage).values(not_before=past))
            db.session.commit()
            run_worker()  # the hold is over: posted
            assert len(slack.messages("C1")) == 1
            value_json = json.dumps({"alert": alert_id})
            signed.action(CREATE_TICKET, value_json, user_id="U0001", response_url=slack.response_url("ticket"))
            run_worker()
            assert slack.responses("ticket")[0]["text"] == f"Created OPS-123: {JIRA}/browse/OPS-123"
            signed.action(ACKNOWLEDGE_ALERT, value_json, user_id="U0001", response_url=slack.response_url("ack"))
            run_worker()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    secrets = {"bot token": workspace.bot_token, "signing secret": SIGNING_SECRET, "API key": api_key,
               "Jira API token": JIRA_TOKEN, "password": TEST_PASSWORD, "metrics token": METRICS_TOKEN,
               "SECRET_KEY": app.config["SECRET_KEY"], "encryption key": app.config["TOKTRA_ENCRYPTION_KEY"]}
    return {"before": before, "after": scrape(client), "lines": stream.getvalue().splitlines(), "secrets": secrets}


def test_metrics_count_acknowledgements_jobs_slack_and_itsm_calls_and_read_the_outbox(scenario):
    before, after = scenario["before"], scenario["after"]

    def grew(name, by=1, **labels):
        assert value(after, name, **labels) - value(before, name, **labels) >= by, (name, labels)

    grew("toktra_slack_requests_total", 1, kind="command", status="200")
    grew("toktra_slack_requests_total", 1, kind="command", status="401")
    grew("toktra_slack_requests_total", 2, kind="interaction", status="200")
    grew("toktra_slack_ack_seconds_count", 2, kind="command")
    grew("toktra_jobs_total", 3, job="jobs.outbox.deliver", outcome="ok")
    grew("toktra_job_seconds_count", 3, job="jobs.outbox.deliver")
    grew("toktra_slack_api_calls_total", 1, method="chat.postMessage", outcome="ratelimited")
    grew("toktra_slack_api_calls_total", 1, method="chat.postMessage", outcome="ok")
    grew("toktra_slack_api_calls_total", 1, method="chat.update", outcome="ok")
    grew("toktra_slack_api_seconds_count", 2, method="chat.postMessage")
    grew("toktra_itsm_calls_total", 1, system="Jira", method="POST", outcome="201")
    grew("toktra_itsm_seconds_count", 1, system="Jira")
    assert value(after, "toktra_outbox_messages", state="sent") == 3  # the card, and its ticket and ack replies
    assert value(after, "toktra_outbox_messages", state="pending") == 0
    assert value(after, "toktra_queue_jobs", queue="default") == 0
    assert ("toktra_queue_oldest_job_seconds", (("queue", "default"),)) in after


def test_metrics_need_the_token(client, app):
    app.config["METRICS_TOKEN"] = ""
    off = client.get("/metrics")
    assert off.status_code == 404 and "set METRICS_TOKEN" in off.get_json()["error"]["message"]
    app.config["METRICS_TOKEN"] = METRICS_TOKEN
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": METRICS_TOKEN}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert "Authorization: Bearer <METRICS_TOKEN>" in refused.get_json()["error"]["message"]


def test_every_log_line_is_json_with_its_ids_and_no_secret(scenario):
    lines = scenario["lines"]
    assert len(lines) > 20
    records = [json.loads(line) for line in lines]  # every line parses
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    web = [r for r in records if "request_id" in r]
    jobs = [r for r in records if "job_id" in r]
    assert web and jobs
    assert any(r.get("slack_team") == "T0001" for r in web)
    assert any(r.get("org_id") for r in web), [r for r in web if r["logger"] == "toktra.request"]
    assert any(r.get("job") == "jobs.outbox.deliver" and r.get("org_id") and r.get("workspace_id") for r in jobs)
    assert any(r["logger"].startswith("slack_sdk") for r in records)  # the chattiest library was heard
    text = "\n".join(lines)
    leaked = [name for name, secret in scenario["secrets"].items()
              if secret and any(part and part in text for part in secret.split(","))]
    assert leaked == [], f"secrets in the logs: {leaked}"


def test_secret_shapes_are_scrubbed_whoever_logs_them(app):
    from app.logs import scrub

    lines = {
        "headers: {'Authorization': 'Bearer xoxb-1-2-abc'}": "headers: {'Authorization': '[redacted] [redacted]'}",
        "token=xoxp-123-456 and xapp-1-A0-99": "token=[redacted] and [redacted]",
        "connect to postgresql://toktra:hunter2@db:5432/toktra": "connect to postgresql://[redacted]@db:5432/toktra",
        '{"email": "ada@acme.example", "api_token": "atl-77"}': '{"email": "ada@acme.example", "api_token": "[redacted]"}',
        "Basic YWRhOmF0bC03Nw== sent": "Basic [redacted] sent",
        "key tok_0a1b2c3d_Zm9vYmFyYmF6 refused": "key [redacted] refused",
        f"signed with {app.config['SECRET_KEY']}": "signed with [redacted]",
    }
    for line, scrubbed in lines.items():
        assert scrub(line) == scrubbed


def test_a_log_line_carries_its_extra_fields_and_traceback_as_json():
    from app.logs import json_handler

    stream = io.StringIO()
    logger = logging.getLogger("toktra.test_line")
    logger.addHandler(json_handler(stream))
    logger.propagate, old_propagate = False, logger.propagate
    try:
        logger.warning("period %s closed", "2026-11", extra={"period_end": dt.date(2026, 11, 30), "rows": 3,
                                                                 "_private": "not shown", "why": ValueError("odd")})
        try:
            {}["missing"]
        except KeyError:
            logger.exception("lookup failed for token=xoxb-1-2-secret")
    finally:
        logger.handlers.clear()
        logger.propagate = old_propagate
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["message"] == "period 2026-11 closed" and first["level"] == "WARNING"
    assert first["logger"] == "toktra.test_line"
    assert dt.datetime.fromisoformat(first["time"]).utcoffset() == dt.timedelta(0)
    assert (first["period_end"], first["rows"], first["why"]) == ("2026-11-30", 3, "odd")
    assert "_private" not in first and "exc_info" not in first
    assert second["message"] == "lookup failed for token=[redacted]" and second["level"] == "ERROR"
    assert second["exc_info"].startswith("Traceback (most recent call last):")
    assert second["exc_info"].endswith("KeyError: 'missing'")
