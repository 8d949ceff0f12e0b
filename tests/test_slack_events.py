"""POST /slack/events: signatures, url_verification, retries and replays, mentions, uninstall and revocation."""
from __future__ import annotations

import json
import logging
import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import SlackWorkspace



def mention(text="<@UT0001BOT> help", user="U0001", ts="1700000000.000100", channel="C0001"):
    return {"type": "app_mention", "user": user, "text": text, "ts": ts, "channel": channel, "event_ts": ts}


def test_url_verification_is_answered(signed):
    response = signed.send_json({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                                 "type": "url_verification"})
    assert response.status_code == 200
    assert response.json == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_unsigned_forged_tampered_and_stale_requests_get_401_and_change_nothing(client, signed, workspace, queue):
    body = json.dumps({"type": "event_callback", "team_id": "T0001", "event_id": "Ev1", "event": mention()})
    good = signed.headers(body)
    cases = {
        "missing": {"Content-Type": "application/json"},
        "forged": {**good, "X-Slack-Signature": "v0=" + "0" * 64},
        # Well outside Slack's 5-minute window, so a small step of the machine's clock can't bring them inside.
        "stale": signed.headers(body, timestamp=int(time.time()) - 330),
        "future": signed.headers(body, timestamp=int(time.time()) + 330),
    }
    for name, headers in cases.items():
        response = client.post("/slack/events", data=body, headers=headers)
        assert response.status_code == 401, name
    tampered = client.post("/slack/events", data=body.replace("help", "hlep"), headers=good)
    assert tampered.status_code == 401
    assert len(queue) == 0


def test_a_mention_is_acknowledged_and_answered_in_its_thread(signed, slack, workspace, member, queue, run_worker):
    slack.add_channel("C0001", "general")
    slack.add_user("U0001", member.email, "alice")
    response = signed.event(mention(ts="1700000000.000200"))
    assert response.status_code == 200
    assert len(queue) == 1
    run_worker()
    [reply] = slack.messages("C0001")
    assert reply["thread_ts"] == "1700000000.000200"
    assert "/toktra-usage" in json.dumps(reply["blocks"])
    assert slack.ephemeral_messages("C0001") == []


def test_a_slack_user_without_a_toktra_account_is_told_so_privately(signed, slack, workspace, queue, run_worker):
    slack.add_channel("C0001", "general")
    slack.add_user("U0009", "stranger@elsewhere.example", "stranger")
    signed.event(mention(user="U0009"))
    run_worker()
    [note] = slack.ephemeral_messages("C0001")
    assert note["to_user"] == "U0009"
    assert "could not find an account for your Slack email (stranger@elsewhere.example) in Globex" in note["text"]


def test_slack_retries_and_replays_are_handled_once(client, signed, slack, workspace, queue):
    payload = {"type": "event_callback", "team_id": "T0001", "api_app_id": "A0001", "event_id": "EvRETRY1",
               "event": mention()}
    first = signed.send_json(payload)
    retry = signed.send_json(payload, extra_headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    body = json.dumps(payload)
    headers = signed.headers(body)
    replay_1 = client.post("/slack/events", data=body, headers=headers)
    replay_2 = client.post("/slack/events", data=body, headers=headers)
    assert [r.status_code for r in (first, retry, replay_1, replay_2)] == [200, 200, 200, 200]
    assert len(queue) == 1


def _workspace_state(team_id="T0001"):
    db.session.expire_all()
    return db.session.scalar(sa.select(SlackWorkspace).where(SlackWorkspace.team_id == team_id))


def test_uninstall_then_revocation_deactivates_only_that_workspace(signed, slack, workspace, org):
    other = SlackWorkspace(org_id=org.id, team_id="T0002", team_name="Beta", bot_token="xoxb-other", scopes="")
    db.session.add(other)
    db.session.commit()
    assert signed.event({"type": "app_uninstalled"}).status_code == 200
    assert signed.event({"type": "tokens_revoked", "tokens": {"bot": ["UT0001BOT"]}}).status_code == 200
    row = _workspace_state()
    assert not row.active and row.deactivated_reason == "app uninstalled" and row.bot_token is None
    assert _workspace_state("T0002").active


def test_revocation_then_uninstall_ends_the_same_way(signed, slack, workspace):
    signed.event({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UT0001BOT"]}})
    signed.event({"type": "app_uninstalled"})
    row = _workspace_state()
    assert not row.active and row.deactivated_reason == "tokens revoked" and row.bot_token is None


def test_a_deactivated_workspace_gets_no_calls(signed, slack, workspace, queue, run_worker):
    slack.add_channel("C0001", "general")
    signed.event({"type": "app_uninstalled"})
    signed.event(mention())
    run_worker()
    assert slack.calls == []


def test_a_revoked_token_found_by_a_job_deactivates_the_workspace(signed, slack, workspace, queue, run_worker):
    slack.add_channel("C0001", "general")
    signed.event(mention())
    slack.revoke_token(slack.team("T0001").bot_token)
    run_worker()
    row = _workspace_state()
    assert not row.active
    assert row.deactivated_reason == "Slack said token_revoked"


def test_slack_is_refused_clearly_when_not_configured(client, app):
    app.config["SLACK_SIGNING_SECRET"] = ""
    response = client.post("/slack/events", data="{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 503
    assert "set SLACK_SIGNING_SECRET" in response.json["error"]["message"]


def test_a_repeated_button_click_delivery_is_handled_once(signed, slack, workspace, queue):
    for _ in range(2):
        response = signed.action("toktra_alert_acknowledge", '{"alert": 1}', user_id="U0001",
                                 action_ts="1700000001.000200")
        assert response.status_code == 200
    assert len(queue) == 1


# --- hostile and odd requests (issue 11) -----------------------------------------------------------

def _no_errors_logged(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("timestamp, signature", [
    ("", "v0=" + "0" * 64),
    ("{now}", ""),
    ("abc", "v0=" + "0" * 64),
    ("1764650000.123", "v0=" + "0" * 64),
    ("-5", "v0=" + "0" * 64),
    ("{now}", "v0=é" + "0" * 63),
    ("9" * 400, "v0=" + "0" * 64),
])
def test_empty_or_odd_signature_headers_get_401_and_log_no_error(client, queue, caplog, timestamp, signature):
    body = json.dumps({"type": "event_callback", "team_id": "T0001", "event_id": "Ev1", "event": mention()})
    headers = {"Content-Type": "application/json", "X-Slack-Signature": signature,
               "X-Slack-Request-Timestamp": timestamp.format(now=int(time.time()))}
    response = client.post("/slack/events", data=body, headers=headers)
    assert response.status_code == 401
    assert "not signed by Slack" in response.json["error"]["message"]
    assert _no_errors_logged(caplog) and len(queue) == 0


@pytest.mark.parametrize("body, content_type", [
    ('{"type": "event_callback", ', "application/json"),
    ("[" * 100_000, "application/json"),
    ("payload=%7Bnot+json", "application/x-www-form-urlencoded"),
    ("payload=" + "%5B" * 100_000, "application/x-www-form-urlencoded"),
    ("\udcff", "application/json"),
])
def test_an_unparseable_unsigned_body_gets_401_before_it_is_read(client, signed, queue, caplog, body, content_type):
    headers = {**signed.headers("something else"), "Content-Type": content_type}
    response = client.post("/slack/events", data=body.encode("utf-8", "surrogateescape"), headers=headers)
    assert response.status_code == 401
    assert _no_errors_logged(caplog) and len(queue) == 0


@pytest.mark.parametrize("body, content_type", [
    ('{"type": "event_callback", ', "application/json"),
    ("[" * 100_000, "application/json"),
    ("[1, 2]", "application/json"),
    ("payload=%7Bnot+json", "application/x-www-form-urlencoded"),
    ("payload=%5B1%5D", "application/x-www-form-urlencoded"),
])
def test_a_signed_body_that_is_not_a_slack_payload_gets_400(client, signed, queue, caplog, body, content_type):
    response = client.post("/slack/events", data=body, headers={**signed.headers(body), "Content-Type": content_type})
    assert response.status_code == 400
    assert "not a Slack payload" in response.json["error"]["message"]
    assert _no_errors_logged(caplog) and len(queue) == 0
