"""The Web API layer jobs use: the one error rule, token rotation, user mapping, single-workspace mode."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from rq.registry import ScheduledJobRegistry

from app.extensions import db
from app.models import SlackUserLink, SlackWorkspace
from app.slack.client.store import WorkspaceInstallationStore
from app.slack.client.users import toktra_user_for
from app.slack.client.web import (
    SlackChannelUnavailable,
    SlackError,
    SlackRateLimited,
    SlackTokenRevoked,
    SlackTransient,
    WorkspaceClient,
    retry_after_seconds,
)
from jobs import enqueue
from jobs.slack import reply_to_mention
from tests.conftest import fresh


def test_channel_problems_are_reported_as_unavailable(slack, workspace):
    slack.add_channel("C0001", "general", is_archived=True)
    slack.add_channel("C0002", "secret", bot_member=False)
    client = WorkspaceClient(workspace)
    for channel, error in (("C0001", "is_archived"), ("C0002", "not_in_channel"), ("C9999", "channel_not_found")):
        with pytest.raises(SlackChannelUnavailable) as caught:
            client.chat_postMessage(channel=channel, text="hi")
        assert caught.value.error == error
    assert fresh(workspace).active


def test_a_429_becomes_rate_limited_with_retry_after(slack, workspace):
    slack.add_channel("C0001", "general")
    slack.fail("chat.postMessage", retry_after=7)
    with pytest.raises(SlackRateLimited) as caught:
        WorkspaceClient(workspace).chat_postMessage(channel="C0001", text="hi")
    assert caught.value.retry_after == 7


@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked", "account_inactive"])
def test_token_errors_deactivate_the_workspace_and_stop_further_calls(slack, workspace, error):
    slack.add_channel("C0001", "general")
    slack.fail("chat.postMessage", error=error)
    with pytest.raises(SlackTokenRevoked):
        WorkspaceClient(workspace).chat_postMessage(channel="C0001", text="hi")
    row = fresh(workspace)
    assert not row.active and row.deactivated_reason == f"Slack said {error}" and row.bot_token is None
    calls_before = len(slack.calls)
    with pytest.raises(SlackTokenRevoked):
        WorkspaceClient(row)
    assert len(slack.calls) == calls_before


def test_slack_trouble_is_transient_and_refusals_stay_generic(slack, workspace):
    slack.add_channel("C0001", "general")
    slack.fail("chat.postMessage", error="internal_error")
    with pytest.raises(SlackTransient) as caught:
        WorkspaceClient(workspace).chat_postMessage(channel="C0001", text="hi")
    assert caught.value.error == "internal_error"
    slack.fail("chat.postMessage", error="invalid_blocks")
    with pytest.raises(SlackError) as caught:
        WorkspaceClient(workspace).chat_postMessage(channel="C0001", text="hi")
    assert type(caught.value) is SlackError and caught.value.error == "invalid_blocks"


def test_an_unreachable_slack_is_transient_and_retried_once_before_sending(app, workspace):
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        app.config["SLACK_API_URL"] = f"http://127.0.0.1:{closed.getsockname()[1]}/api/"  # nothing listens
        with pytest.raises(SlackTransient) as caught:
            WorkspaceClient(workspace).chat_postMessage(channel="C0001", text="hi")
    assert "connection failed" in caught.value.error


@pytest.mark.parametrize("value, seconds", [("7", 7.0), ("2.5", 2.5), ("0.25", 0.25), ("soon", 1.0), ("", 1.0)])
def test_retry_after_keeps_fractions_so_a_hold_is_never_short(value, seconds):
    assert retry_after_seconds({"Retry-After": value}) == seconds


def test_a_rate_limited_mention_reply_waits_in_the_outbox_not_in_the_worker(slack, workspace, queue, run_worker):
    from app.models import OutboxMessage

    slack.add_channel("C0001", "general")
    slack.fail("chat.postMessage", retry_after=30)
    job = enqueue(reply_to_mention, workspace_id=workspace.id, channel="C0001", thread_ts="1700000000.000100",
                  slack_user_id="")
    started = dt.datetime.now(dt.timezone.utc)
    run_worker()
    finished = dt.datetime.now(dt.timezone.utc)
    assert job.get_status(refresh=True) == "finished"
    [reply] = db.session.scalars(sa.select(OutboxMessage)).all()
    assert reply.state == "pending"
    hold = dt.timedelta(seconds=30)  # Retry-After from the moment Slack answered, whenever that was
    assert started + hold <= reply.not_before <= finished + hold
    assert len(ScheduledJobRegistry(queue=queue)) == 0
    assert slack.messages("C0001") == []


def test_slack_users_map_to_toktra_users_by_email_and_are_cached(slack, workspace, member):
    slack.add_user("U0001", member.email.upper(), "alice")
    assert toktra_user_for(workspace, "U0001") == member
    assert toktra_user_for(workspace, "U0001") == member
    assert len(slack.calls_to("users.info")) == 1
    link = db.session.scalar(sa.select(SlackUserLink))
    assert (link.slack_user_id, link.user_id, link.email) == ("U0001", member.id, member.email)


def test_a_stale_link_is_checked_again(slack, workspace, member):
    slack.add_user("U0001", member.email, "alice")
    toktra_user_for(workspace, "U0001")
    db.session.execute(sa.update(SlackUserLink).values(refreshed_at=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)))
    db.session.commit()
    toktra_user_for(workspace, "U0001")
    assert len(slack.calls_to("users.info")) == 2


def test_a_slack_user_of_another_org_is_not_mapped(slack, workspace, org):
    from app.services.accounts import create_organization, create_user

    other = create_organization("Umbrella")
    create_user(other, "wesker@umbrella.example", "Albert", "member", "password123")
    slack.add_user("U0002", "wesker@umbrella.example", "albert")
    assert toktra_user_for(workspace, "U0002") is None


def test_tokens_near_expiry_are_rotated_before_use(app, slack, workspace):
    app.config.update(SLACK_CLIENT_ID=slack.client_id, SLACK_CLIENT_SECRET=slack.client_secret)
    team = slack.add_team("T0007", "Rotating", token_rotation=True)
    original_token = team.bot_token
    slack.add_channel("C0007", "general", team_id="T0007")
    row = SlackWorkspace(org_id=workspace.org_id, team_id="T0007", team_name="Rotating", bot_token=original_token,
                         bot_refresh_token=team.refresh_token, scopes="chat:write",
                         bot_token_expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=30))
    db.session.add(row)
    db.session.commit()
    WorkspaceClient(row).chat_postMessage(channel="C0007", text="hi")
    rotated = fresh(row)
    assert rotated.bot_token == slack.team("T0007").bot_token != original_token
    assert rotated.bot_token_expires_at > dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    assert slack.calls_to("chat.postMessage")[-1].token == rotated.bot_token


def test_the_store_serves_only_active_workspaces(slack, workspace):
    store = WorkspaceInstallationStore()
    assert store.find_bot(enterprise_id=None, team_id="T0001").bot_token == workspace.bot_token
    store.delete_bot(enterprise_id=None, team_id="T0001")
    assert store.find_bot(enterprise_id=None, team_id="T0001") is None


def test_the_dashboard_shows_a_deactivated_workspace(client, login, admin, signed, slack, workspace):
    signed.event({"type": "app_uninstalled"})
    login(admin)
    page = client.get("/integrations/slack").get_data(as_text=True)
    assert "Inactive" in page and "app uninstalled" in page


def test_single_workspace_mode_connects_and_uses_the_env_token(app, runner, slack, org, signed, queue, run_worker,
                                                               member):
    team = slack.add_team("T0001", "Acme")
    slack.add_channel("C0001", "general")
    app.config["SLACK_BOT_TOKEN"] = team.bot_token
    result = runner.invoke(args=["toktra", "connect-workspace", "--org", "Globex"])
    assert result.exit_code == 0, result.output
    assert "Connected Slack workspace Acme (T0001) to Globex." in result.output
    row = db.session.scalar(sa.select(SlackWorkspace))
    assert row.bot_token is None and row.bot_user_id == team.bot_user_id  # the secret stays in the environment
    signed.event({"type": "app_mention", "user": "U0001", "text": "hi", "ts": "1.2", "channel": "C0001"})
    run_worker()
    assert slack.calls_to("chat.postMessage")[0].token == team.bot_token


def test_connect_workspace_explains_a_missing_or_refused_token(app, runner, slack, org):
    result = runner.invoke(args=["toktra", "connect-workspace", "--org", "Globex"])
    assert result.exit_code != 0 and "SLACK_BOT_TOKEN is not set" in result.output
    app.config["SLACK_BOT_TOKEN"] = "xoxb-unknown"
    result = runner.invoke(args=["toktra", "connect-workspace", "--org", "Globex"])
    assert result.exit_code != 0 and "Slack refused the bot token: invalid_auth" in result.output
