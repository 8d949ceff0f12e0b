"""/toktra-usage, /toktra-budget and /toktra-alerts end to end: signed command, real worker, the Slack emulator."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from app.extensions import db
from app.models import Alert, ItsmConnector
from app.services.periods import current_period
from app.services.usage import ingest_usage
from app.slack.actions import CREATE_TICKET
from tests.conftest import TEST_REDIS_URL


@pytest.fixture
def people(slack, workspace, make_user, admin):
    """Slack users U0001 (Alice, member) and U0002 (Ada, admin) mapped to Toktra users."""
    alice = make_user("alice@globex.example", "Alice Smith", role="member")
    slack.add_user("U0001", alice.email, "alice")
    slack.add_user("U0002", admin.email, "ada")
    return {"alice": alice, "admin": admin}


def run(signed, slack, run_worker, command, text="", user="U0001", name="r1"):
    """Send a signed command, check the instant ack, run the worker; return what reached response_url."""
    response = signed.command(command, text, user_id=user, response_url=slack.response_url(name))
    assert response.status_code == 200
    assert response.get_data(as_text=True) == ""
    run_worker()
    return slack.responses(name)


def texts(responses) -> str:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in responses)


def usage_events(email, now):
    moment = (now - dt.timedelta(minutes=5)).isoformat()
    return [
        {"id": "e1", "user_email": email, "provider": "openai", "model": "gpt-4o", "input_tokens": 1_000_000,
         "output_tokens": 240_500, "cost_usd": "24.81", "occurred_at": moment},
        {"id": "e2", "user_email": email, "provider": "anthropic", "model": "claude", "input_tokens": 300_000,
         "output_tokens": 80_200, "cost_usd": "3.80", "occurred_at": moment},
    ]


def test_usage_shows_the_callers_usage_card(signed, slack, run_worker, people, org):
    ingest_usage(org, usage_events("alice@globex.example", dt.datetime.now(dt.timezone.utc)))
    [answer] = run(signed, slack, run_worker, "/toktra-usage")
    assert answer["response_type"] == "ephemeral"
    period = current_period("UTC").label
    assert answer["text"] == "\n".join([
        "Usage Summary — Alice Smith", f"Period: {period}", "─" * 29, "Provider       Tokens      Cost",
        "OpenAI         1,240,500   $24.81", "Anthropic        380,200    $3.80", "─" * 29,
        "Total          1,620,700   $28.61"])


def test_no_usage_yet_says_so(signed, slack, run_worker, people):
    [answer] = run(signed, slack, run_worker, "/toktra-usage")
    assert "No usage recorded for Alice Smith in" in answer["text"]


def test_an_admin_looks_up_someone_elses_usage(signed, slack, run_worker, people, org):
    ingest_usage(org, usage_events("alice@globex.example", dt.datetime.now(dt.timezone.utc)))
    [answer] = run(signed, slack, run_worker, "/toktra-usage", "<mailto:Alice@Globex.example|Alice@Globex.example>",
                   user="U0002")
    assert answer["text"].startswith("Usage Summary — Alice Smith")
    assert "Total          1,620,700   $28.61" in answer["text"]


def test_a_member_cannot_look_up_someone_else(signed, slack, run_worker, people):
    [answer] = run(signed, slack, run_worker, "/toktra-usage", "ada@globex.example")
    assert "Only Toktra admins can look up someone else's usage" in answer["text"]


def test_an_unknown_email_is_named(signed, slack, run_worker, people):
    [answer] = run(signed, slack, run_worker, "/toktra-usage", "nobody@globex.example", user="U0002")
    assert "There is no Toktra user with the email `nobody@globex.example` in Globex" in answer["text"]


@pytest.mark.parametrize("command, text, message", [
    ("/toktra-usage", "alice", "`alice` is not an email address"),
    ("/toktra-usage", "a@b.example c@d.example", "takes at most one email address"),
    ("/toktra-budget", "now", "`/toktra-budget` takes no arguments, but got `now`"),
    ("/toktra-alerts", "severity:urgent", "`severity:urgent`: severity must be one of low, medium, high or critical"),
    ("/toktra-alerts", "limit:0", "`limit:0`: limit must be a whole number from 1 to 50"),
    ("/toktra-alerts", "limit:51", "`limit:51`: limit must be a whole number from 1 to 50"),
    ("/toktra-alerts", "limit:ten", "`limit:ten`: limit must be a whole number from 1 to 50"),
    ("/toktra-alerts", "high", "`high` is not an argument of `/toktra-alerts`"),
    ("/toktra-alerts", "sort:newest", "`sort:newest` is not an argument of `/toktra-alerts`"),
    ("/toktra-alerts", "limit:5 limit:6", "`limit` is given twice"),
])
def test_bad_arguments_are_refused_at_once_with_the_accepted_forms(signed, people, queue, command, text, message):
    response = signed.command(command, text, user_id="U0001")
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert len(queue) == 0


def test_budget_card_shows_spend_against_the_limit(signed, slack, run_worker, people, org):
    ingest_usage(org, [{**e, "cost_usd": c} for e, c in zip(usage_events("alice@globex.example",
                                                                           dt.datetime.now(dt.timezone.utc)),
                                                              ["7000.00", "520.00"])])
    [answer] = run(signed, slack, run_worker, "/toktra-budget")
    assert answer["text"] == "\n".join([
        "Budget Status", "─" * 36, "Monthly limit:     $10,000", "Spent:             $7,520 (75.2%)",
        "Remaining:         $2,480", "Alert threshold:   80%", "", "🟠 ███████████████░░░░░ 75.2%"])


def test_no_budget_tells_how_to_set_one(signed, slack, run_worker, people, org):
    org.monthly_budget_usd = None
    db.session.commit()
    [answer] = run(signed, slack, run_worker, "/toktra-budget")
    assert "No monthly budget is set for Globex" in answer["text"]
    assert "http://toktra.test/settings" in answer["text"]


def add_alerts(org, n, severity_of=lambda i: ["low", "medium", "high", "critical"][i % 4]):
    base = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    for i in range(n):
        db.session.add(Alert(org_id=org.id, severity=severity_of(i), policy=f"Policy {i}", title=f"Alert number {i}",
                             fired_at=base + dt.timedelta(minutes=i)))
    db.session.commit()


def alert_titles(responses):
    return [b["text"]["text"].split("\n")[1] for r in responses for b in r["blocks"]
            if b.get("block_id", "").startswith("alert-") and b["type"] == "section"]


def test_alerts_lists_the_ten_most_recent_newest_first(signed, slack, run_worker, people, org):
    add_alerts(org, 12)
    responses = run(signed, slack, run_worker, "/toktra-alerts")
    assert alert_titles(responses) == [f"Alert number {i}" for i in range(11, 1, -1)]
    assert CREATE_TICKET not in texts(responses)


def test_alerts_filter_by_severity_in_any_case_and_order(signed, slack, run_worker, people, org):
    add_alerts(org, 20)
    responses = run(signed, slack, run_worker, "/toktra-alerts", "LIMIT:3 Severity:CRITICAL")
    assert alert_titles(responses) == ["Alert number 19", "Alert number 15", "Alert number 11"]


def test_limit_50_with_more_than_50_alerts_is_delivered_complete(signed, slack, run_worker, people, org):
    add_alerts(org, 60)
    responses = run(signed, slack, run_worker, "/toktra-alerts", "limit:50")
    assert len(responses) > 1
    assert all(len(r["blocks"]) <= 50 for r in responses)
    assert alert_titles(responses) == [f"Alert number {i}" for i in range(59, 9, -1)]


def test_create_ticket_shows_with_an_active_connector(signed, slack, run_worker, people, org):
    add_alerts(org, 1)
    db.session.add(ItsmConnector(org_id=org.id, kind="jira_cloud", base_url="https://globex.atlassian.net",
                                 credentials="{}", project="OPS", issue_type="Task"))
    db.session.commit()
    assert CREATE_TICKET in texts(run(signed, slack, run_worker, "/toktra-alerts"))


def test_no_alerts_says_so(signed, slack, run_worker, people):
    [answer] = run(signed, slack, run_worker, "/toktra-alerts", "severity:low")
    assert "No low alerts for Globex yet." in answer["text"]


def test_a_slack_user_without_an_account_is_told_so(signed, slack, run_worker, workspace):
    slack.add_user("U0404", "ghost@globex.example", "ghost")
    [answer] = run(signed, slack, run_worker, "/toktra-budget", user="U0404")
    assert "could not find an account for your Slack email (ghost@globex.example) in Globex" in answer["text"]


def test_a_command_sent_while_the_queue_is_down_is_kept_and_answered_when_it_is_back(signed, slack, people, app,
                                                                                   run_worker):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions.pop("toktra.redis.fast", None)
    response = signed.command("/toktra-usage", "", user_id="U0001", response_url=slack.response_url("later"))
    assert response.status_code == 200
    assert "the answer to `/toktra-usage` will follow here shortly" in response.get_data(as_text=True)
    assert slack.calls == []  # the web process never calls Slack, not even to say the queue is down
    app.config["REDIS_URL"] = TEST_REDIS_URL
    app.extensions.pop("toktra.redis.fast", None)
    run_worker()  # the dispatcher queues what was kept in PostgreSQL
    [answer] = slack.responses("later")
    assert "Usage Summary" in answer["text"] or "usage" in answer["text"].lower()


def test_a_repeated_command_delivery_is_answered_once(signed, slack, run_worker, people, queue):
    for _ in range(2):
        signed.command("/toktra-budget", user_id="U0001", trigger_id="1234.5678.abcd",
                       response_url=slack.response_url("dup"))
    assert len(queue) == 1


def test_a_job_run_twice_posts_its_answer_once(signed, slack, run_worker, people, queue):
    signed.command("/toktra-budget", user_id="U0001", response_url=slack.response_url("twice"))
    [job] = queue.jobs
    run_worker()
    job.requeue() if job.get_status(refresh=True) == "failed" else queue.enqueue_job(job)
    run_worker()
    assert len(slack.responses("twice")) == 1


def test_a_rate_limited_response_is_retried_later_not_lost(signed, slack, run_worker, people, queue):
    from rq.registry import ScheduledJobRegistry

    slack.fail("users.info", retry_after=5)
    signed.command("/toktra-budget", user_id="U0001", response_url=slack.response_url("later"))
    run_worker()
    assert slack.responses("later") == []
    assert len(ScheduledJobRegistry(queue=queue)) == 1


def test_a_command_from_a_workspace_without_toktra_is_answered_in_the_ack(signed, slack, queue):
    response = signed.command("/toktra-usage", "", user_id="U0001", team_id="T0404",
                              response_url=slack.response_url("stranger"))
    assert response.status_code == 200
    assert "Toktra is not connected to this workspace" in response.get_data(as_text=True)
    assert slack.calls == [] and slack.responses("stranger") == [] and len(queue) == 0


@pytest.fixture
def hung_redis(app):
    """Point the app at a 'Redis' that accepts connections and never answers."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted = []
    threading.Thread(target=lambda: [accepted.append(server.accept()[0]) for _ in range(16)], daemon=True).start()
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    app.extensions.pop("toktra.redis.fast", None)
    yield
    for conn in accepted:
        conn.close()
    server.close()


def test_a_hung_queue_still_gets_a_prompt_answer(signed, people, hung_redis):
    response = signed.command("/toktra-budget", "", user_id="U0001")
    assert response.status_code == 200
    assert "the answer to `/toktra-budget` will follow here shortly" in response.get_data(as_text=True)


def test_a_revoked_token_is_explained_through_the_response_url(signed, slack, people, run_worker):
    slack.revoke_token(slack.team("T0001").bot_token)
    [answer] = run(signed, slack, run_worker, "/toktra-usage", name="revoked")
    assert "Toktra's access to this Slack workspace was revoked" in answer["text"]


def test_a_budget_card_reads_postgresql_in_three_statements(app, signed, slack, run_worker, people):
    """Every statement is a round trip the person waits on: the workspace comes with the caller's stored link,
    the period's spend with its extra budget, and then the forecast's day totals."""
    from rq import SimpleWorker

    from jobs.worker import build_worker
    from tests.test_slack_installation_cache import statements_during

    [first] = run(signed, slack, run_worker, "/toktra-budget", name="first")  # links U0001 (users.info)
    again = signed.command("/toktra-budget", user_id="U0001", response_url=slack.response_url("again"))
    assert again.status_code == 200
    statements = statements_during(lambda: build_worker(app, SimpleWorker).work(burst=True))  # the job alone
    assert [answer["text"] for answer in slack.responses("again")] == [first["text"]]
    assert len(statements) == 3, [" ".join(s.split())[:150] for s in statements]
    assert "slack_user_links" in statements[0] and "slack_workspaces" in statements[0]
