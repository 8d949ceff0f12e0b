"""Create ticket from Slack: a Jira issue or ServiceNow incident per alert and connector, never a duplicate."""
from __future__ import annotations

import json

import pytest
import requests
import responses
import sqlalchemy as sa
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from app.extensions import db
from app.models import AlertChannelRoute, ItsmConnector, Ticket
from app.services.alerts import fire_alert
from app.slack.actions import CREATE_TICKET

JIRA = "https://acme.atlassian.net"
SN = "https://acme.service-now.com"
CREATED = {"id": "10001", "key": "OPS-123", "self": f"{JIRA}/rest/api/3/issue/10001"}


@pytest.fixture
def jira(org):
    connector = ItsmConnector(org_id=org.id, kind="jira_cloud", name="Jira", base_url=JIRA, project="OPS",
                              issue_type="Task", credentials=json.dumps({"email": "ada@acme.example",
                                                                         "api_token": "atlassian-api-token"}))
    db.session.add(connector)
    db.session.commit()
    return connector


@pytest.fixture
def alert(org, slack, workspace, member, run_worker, queue):
    """A critical alert posted to #security (C1); Slack user U0001 is Alice."""
    slack.add_channel("C1", "security")
    slack.add_user("U0001", member.email, "alice")
    db.session.add(AlertChannelRoute(workspace_id=workspace.id, channel_id="C1", channel_name="security",
                                     severities="critical"))
    db.session.commit()
    fired = fire_alert(org, "critical", "Data exfiltration", "Customer PII sent to an external model",
                       "A prompt carried 40 customer records.", member)
    return fired.alert


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def click(signed, slack, alert, name="t"):
    response = signed.action(CREATE_TICKET, json.dumps({"alert": alert.id}), user_id="U0001",
                             response_url=slack.response_url(name))
    assert response.status_code == 200


def posts(http, url):
    return [c for c in http.calls if c.request.method == "POST" and c.request.url.startswith(url)]


def release_scheduled(queue):
    registry = ScheduledJobRegistry(queue=queue)
    for job_id in registry.get_job_ids():
        registry.remove(job_id)
        queue.enqueue_job(Job.fetch(job_id, connection=queue.connection))


def test_create_ticket_opens_a_jira_issue_and_links_it_on_the_card(signed, slack, alert, jira, http, run_worker):
    http.post(f"{JIRA}/rest/api/3/issue", json=CREATED, status=201)
    run_worker()  # deliver the alert card
    click(signed, slack, alert)
    run_worker()
    [reply] = slack.responses("t")
    assert reply["text"] == f"Created OPS-123: {JIRA}/browse/OPS-123"
    [call] = posts(http, JIRA)
    fields = json.loads(call.request.body)["fields"]
    assert fields["summary"] == "[Toktra] Customer PII sent to an external model"
    assert fields["labels"] == ["toktra", f"toktra-alert-{alert.id}"]
    assert fields["description"]["type"] == "doc"
    assert "http://toktra.test/alerts?alert=" in json.dumps(fields["description"])
    [card] = slack.channel_messages("C1")
    assert f"<{JIRA}/browse/OPS-123|OPS-123>" in json.dumps(card["blocks"])
    [told] = slack.thread("C1", card["ts"])
    assert told["text"].startswith("🎫 Ticket created by ") and told["text"].endswith(f": <{JIRA}/browse/OPS-123|OPS-123>")
    ticket = db.session.scalar(sa.select(Ticket))
    assert (ticket.state, ticket.external_key, ticket.external_id) == ("created", "OPS-123", "10001")


def test_a_second_click_returns_the_existing_ticket(signed, slack, alert, jira, http, run_worker):
    http.post(f"{JIRA}/rest/api/3/issue", json=CREATED, status=201)
    click(signed, slack, alert, "first")
    run_worker()
    click(signed, slack, alert, "second")
    run_worker()
    assert slack.responses("second")[0]["text"] == f"OPS-123 already exists for this alert: {JIRA}/browse/OPS-123"
    assert len(posts(http, JIRA)) == 1


def test_a_timed_out_create_is_retried_by_looking_it_up_first(signed, slack, alert, jira, http, run_worker, queue):
    http.post(f"{JIRA}/rest/api/3/issue", body=requests.exceptions.ReadTimeout("read timed out"))
    click(signed, slack, alert)
    run_worker()
    [first] = slack.responses("t")
    assert "Toktra will try again in" in first["text"]
    # Jira had created the issue before the timeout: the retry finds it instead of creating another.
    http.get(f"{JIRA}/rest/api/3/search/jql", json={"issues": [{"id": "10001", "key": "OPS-123"}]})
    release_scheduled(queue)
    run_worker()
    assert slack.responses("t")[-1]["text"] == f"Created OPS-123: {JIRA}/browse/OPS-123"
    assert len(posts(http, JIRA)) == 1
    assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 1


def test_jira_rate_limiting_is_retried_after_retry_after(signed, slack, alert, jira, http, run_worker, queue):
    import datetime as dt

    http.post(f"{JIRA}/rest/api/3/issue", status=429, headers={"Retry-After": "45"},
              json={"errorMessages": ["Rate limit exceeded"], "errors": {}})
    click(signed, slack, alert)
    run_worker()
    registry = ScheduledJobRegistry(queue=queue)
    [job_id] = registry.get_job_ids()
    delay = registry.get_scheduled_time(job_id) - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(seconds=43) <= delay <= dt.timedelta(seconds=46)
    assert "try again in 45 s" in slack.responses("t")[0]["text"]


def test_bad_credentials_are_named_and_not_retried(signed, slack, alert, jira, http, run_worker, queue):
    http.post(f"{JIRA}/rest/api/3/issue", status=401, body="")
    click(signed, slack, alert)
    run_worker()
    [reply] = slack.responses("t")
    assert reply["text"].startswith("Could not create the Jira ticket: Jira rejected the credentials (401)")
    assert len(ScheduledJobRegistry(queue=queue)) == 0
    assert db.session.scalar(sa.select(Ticket.state)) == "failed"


def test_a_servicenow_incident_is_opened_with_the_alert_details(signed, slack, alert, org, http, run_worker):
    db.session.add(ItsmConnector(org_id=org.id, kind="servicenow", name="ServiceNow", base_url=SN,
                                 credentials=json.dumps({"username": "toktra.bot", "password": "s3cret"})))
    db.session.commit()
    http.post(f"{SN}/api/now/table/incident", status=201,
              json={"result": {"sys_id": "c537bae64f411200adf9f8e18110c76e", "number": "INC0010002"}})
    click(signed, slack, alert)
    run_worker()
    [reply] = slack.responses("t")
    assert reply["text"].startswith("Created INC0010002: https://acme.service-now.com/")
    sent = json.loads(posts(http, SN)[0].request.body)
    assert sent["correlation_id"] == f"toktra-alert-{alert.id}"
    assert sent["urgency"] == "1" and "Customer PII" in sent["short_description"]


def test_without_an_active_connector_the_user_is_told_where_to_add_one(signed, slack, alert, run_worker):
    click(signed, slack, alert)
    run_worker()
    assert "No active ServiceNow or Jira connector" in slack.responses("t")[0]["text"]
