"""The acknowledgement's installation cache: no PostgreSQL once warm, and uninstalls seen at once everywhere."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import sqlalchemy as sa

from app.extensions import db
from tests.conftest import SIGNING_SECRET, TEST_REDIS_URL, make_overrides

ROOT = Path(__file__).resolve().parent.parent
NOT_CONNECTED = "Toktra is not connected to this workspace"


def budget(signed):
    """A distinct /toktra-budget from U0001 of T0001; returns (status, body text)."""
    response = signed.command("/toktra-budget", "")
    return response.status_code, response.get_data(as_text=True)


def statements_during(call) -> list[str]:
    """The SQL statements PostgreSQL received while call() ran."""
    seen: list[str] = []

    def record(conn, cursor, statement, *_):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    return seen


def test_a_warm_acknowledgement_sends_nothing_to_postgresql(signed, workspace, queue):
    assert budget(signed) == (200, "")
    statements = statements_during(lambda: [budget(signed) for _ in range(3)])
    assert statements == []
    assert len(queue) == 4  # still one job per command


def test_a_click_and_a_mention_are_acknowledged_without_postgresql_too(signed, workspace, queue):
    signed.event({"type": "app_mention", "user": "U0001", "text": "<@UT0001BOT> hi", "channel": "C0001",
                  "ts": "1.0"})

    def click_and_mention():
        signed.action("toktra_alert_acknowledge", '{"alert": 1}', user_id="U0001",
                      response_url="http://toktra.test/response")
        signed.event({"type": "app_mention", "user": "U0001", "text": "<@UT0001BOT> hi", "channel": "C0001",
                      "ts": "2.0"})

    assert statements_during(click_and_mention) == []
    assert len(queue) == 3


def test_an_uninstall_through_another_app_instance_is_seen_by_the_next_request(
        app, signed, slack, workspace, queue, migrated_database, encryption_key, org):
    from app import create_app
    from devtools.slack_sender import SlackSender
    from slack_sdk.oauth.installation_store import Installation

    from app.slack.client.store import save_installation

    assert budget(signed) == (200, "")  # this app instance now has T0001 cached
    other = create_app(make_overrides(migrated_database, encryption_key, SLACK_API_URL=slack.url))
    other_sender = SlackSender(SIGNING_SECRET, other.test_client())
    assert other_sender.event({"type": "app_uninstalled"}).status_code == 200

    status, body = budget(signed)
    assert status == 200 and NOT_CONNECTED in body
    assert len(queue) == 1

    team = slack.team("T0001")
    with other.app_context():
        save_installation(Installation(app_id=team.app_id, team_id="T0001", team_name="Acme", bot_id=team.bot_id,
                                       bot_user_id=team.bot_user_id, bot_token=team.bot_token, user_id="U0001",
                                       bot_scopes=["chat:write", "commands"]), org.id, installed_by_id=None)
    assert budget(signed) == (200, "")
    assert len(queue) == 2


def redis_commands_during(redis_conn, call) -> list[str]:
    """The commands clients sent to the test Redis database while call() ran (not those a script ran)."""
    import threading

    db_number = redis_conn.connection_pool.connection_kwargs.get("db", 0)
    seen: list[str] = []
    watching = threading.Event()
    start, done = "toktra-test-monitor-start", "toktra-test-monitor-done"

    def watch():
        with redis_conn.monitor() as monitor:
            for command in monitor.listen():
                if command["command"].endswith(start):
                    watching.set()  # MONITOR sees this connection's commands from here on
                elif command["command"].endswith(done):
                    return
                # SELECT: a connection opening (the marker's own, once the app's is warm).
                elif watching.is_set() and command.get("db") == db_number and \
                        command.get("client_type") != "lua" and not command["command"].startswith("SELECT"):
                    seen.append(command["command"].split(" ", 1)[0].upper())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    for _ in range(500):  # until MONITOR has seen a start marker (it is registered once Redis answered it)
        redis_conn.get(start)
        if watching.wait(0.01):
            break
    assert watching.is_set(), "Redis MONITOR never started"
    try:
        call()
    finally:
        redis_conn.get(done)
        watcher.join(5)
    return seen


def test_a_warm_acknowledgement_is_one_redis_round_trip(signed, workspace, queue, redis_conn):
    assert budget(signed) == (200, "")  # fills this process's installation cache
    sent = redis_commands_during(redis_conn, lambda: signed.command("/toktra-budget", ""))
    assert sent == ["EVALSHA"]  # dedupe mark, installations version and RQ's writes, in one script
    assert len(queue) == 2

    signed.action("toktra_alert_acknowledge", '{"alert": 1}', user_id="U0001", response_url="http://toktra.test/r")
    assert redis_commands_during(redis_conn, lambda: signed.action(
        "toktra_alert_acknowledge", '{"alert": 1}', user_id="U0001", response_url="http://toktra.test/r")) == ["EVALSHA"]


def test_a_repeated_delivery_served_from_the_cache_queues_nothing(signed, workspace, queue):
    assert budget(signed) == (200, "")
    event = {"type": "app_mention", "user": "U0001", "text": "<@UT0001BOT> hi", "channel": "C0001", "ts": "3.0"}
    first = signed.event(event, event_id="EvREPEAT1")
    again = signed.event(event, event_id="EvREPEAT1", extra_headers={"X-Slack-Retry-Num": "1"})
    assert (first.status_code, again.status_code, again.get_data()) == (200, 200, b"")
    assert len(queue) == 2  # the command and one mention reply


def other_process(code: str, slack_url: str, database_url: str, encryption_key: str, **env) -> str:
    """Run code in a fresh Python process with its own Toktra app (`app`, in an app context); its stdout."""
    environment = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    environment.update({"TOKTRA_ENV": "test", "DATABASE_URL": database_url, "REDIS_URL": TEST_REDIS_URL,
                        "SECRET_KEY": "other-process", "TOKTRA_ENCRYPTION_KEY": encryption_key,
                        "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack_url, **env})
    script = "from app import create_app\napp = create_app()\nwith app.app_context():\n" + \
        textwrap.indent(textwrap.dedent(code), "    ")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_uninstall_and_a_reinstall_in_another_process_are_seen_by_the_next_request(
        app, signed, slack, workspace, queue, migrated_database, encryption_key):
    assert budget(signed) == (200, "")
    other_process("""
        from devtools.slack_sender import SlackSender
        response = SlackSender(app.config["SLACK_SIGNING_SECRET"], app.test_client()).event({"type": "app_uninstalled"})
        assert response.status_code == 200
    """, slack.url, migrated_database, encryption_key)

    status, body = budget(signed)
    assert status == 200 and NOT_CONNECTED in body
    assert len(queue) == 1

    # Reinstalled in single-workspace mode by the CLI's own command, in yet another process.
    token = slack.team("T0001").bot_token
    app.config["SLACK_BOT_TOKEN"] = token
    printed = other_process("""
        from click.testing import CliRunner
        from app.cli import toktra_cli
        result = app.test_cli_runner().invoke(toktra_cli, ["connect-workspace", "--org", "Globex"])
        print(result.output)
    """, slack.url, migrated_database, encryption_key, SLACK_BOT_TOKEN=token)
    assert "Connected Slack workspace Acme (T0001) to Globex" in printed
    assert budget(signed) == (200, "")
    assert len(queue) == 2
