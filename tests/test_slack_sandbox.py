"""The Slack sandbox's parts without a browser: mrkdwn and Block Kit rendering, the signed requests it
forwards and the response_url effects it applies, the emulator's read-back endpoints, bin/serve's port check.

The forwarding tests put a small stand-in for the app on the other side of real HTTP: it checks the
Slack signature with slack_sdk and answers through the response_url as the app's jobs do.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests
from slack_sdk.signature import SignatureVerifier
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from devtools.sandbox.blocks import render_blocks
from devtools.sandbox.emulator import SandboxEmulator
from devtools.sandbox.mrkdwn import to_html
from devtools.slack_emulator import SlackEmulator
from devtools.slack_sender import SlackSender

ROOT = Path(__file__).resolve().parent.parent
SECRET = "sandbox-test-secret"


class Names:
    def user_name(self, user_id):
        return {"U1": "Alice Smith"}.get(user_id)

    def channel_name(self, channel_id):
        return {"C1": "security-alerts"}.get(channel_id)


@pytest.mark.parametrize("text, html", [
    ("*bold* _italic_ ~gone~", "<b>bold</b> <i>italic</i> <s>gone</s>"),
    ("a `*not bold*` b", "a <code>*not bold*</code> b"),
    ("```\n*x* <@U1>\n```", '<pre class="code-block">*x* &lt;@U1&gt;</pre>'),
    ("<https://example.com/a?b=1&amp;c=2|the docs>",
     '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener">the docs</a>'),
    ("hi <@U1> in <#C1>", 'hi <span class="mention" data-user="U1">@Alice Smith</span> in '
                          '<span class="mention channel" data-channel="C1">#security-alerts</span>'),
    (":white_check_mark: done :large_orange_circle: :no_such_emoji:", "✅ done 🟠 :no_such_emoji:"),
    ("<!date^1700000000^{date_short} at {time}|Nov 14>", '<time class="date">Nov 14, 2023 at 10:13 PM UTC</time>'),
    ("title\n>quoted\n>more\nafter", "title<blockquote>quoted<br>more</blockquote>after"),
    ("<script>alert(1)</script> &lt;b&gt; 5 &amp; 6", "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt; 5 &amp; 6"),
    ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),
])
def test_mrkdwn_renders_as_slack_shows_it(text, html):
    assert to_html(text, Names()) == html


def test_block_kit_renders_every_block_the_app_sends():
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Budget :tada:"}},
        {"type": "section", "block_id": "s1", "text": {"type": "mrkdwn", "text": "*Spent*"},
         "fields": [{"type": "mrkdwn", "text": "*Limit*\n$1,000"}, {"type": "plain_text", "text": "<b>"}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Acme · _November_"}]},
        {"type": "divider"},
        {"type": "input", "block_id": "reason", "optional": True, "label": {"type": "plain_text", "text": "Reason"},
         "element": {"type": "plain_text_input", "action_id": "why", "multiline": True}},
        {"type": "actions", "block_id": "acts", "elements": [
            {"type": "button", "action_id": "ok", "value": '{"id": 1}', "style": "primary",
             "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": "no", "value": "1", "style": "danger",
             "text": {"type": "plain_text", "text": "Reject"},
             "confirm": {"title": {"type": "plain_text", "text": "Sure?"}}}]},
        {"type": "video"},
    ]
    html = render_blocks(blocks, Names())
    assert '<div class="bk-header">Budget 🎉</div>' in html
    assert '<div class="bk-field"><b>Limit</b><br>$1,000</div><div class="bk-field">&lt;b&gt;</div>' in html
    assert '<span class="bk-context-text">Acme · <i>November</i></span>' in html
    assert '<hr class="bk-divider">' in html
    assert 'Reason <span class="bk-optional">(optional)</span>' in html
    assert '<textarea class="bk-input" data-action-id="why" data-block-id="reason"' in html
    assert ('<button type="button" class="bk-button bk-primary" data-action-id="ok" data-block-id="acts" '
            'data-type="button" data-value="{&quot;id&quot;: 1}">Approve</button>') in html
    assert 'class="bk-button bk-danger"' in html and 'data-confirm="{&quot;title&quot;' in html
    assert '<div class="bk-unsupported">[video block]</div>' in html


class StandInApp:
    """Answers /slack/events like the app: verifies the signature, acks, then posts to the response_url."""

    def __init__(self, answer, ack: dict | None = None):
        self.answer, self.ack, self.received = answer, ack, []
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wsgi(self, environ, start_response):
        request = Request(environ)
        body = request.get_data(as_text=True)
        if not SignatureVerifier(SECRET).is_valid_request(body, dict(request.headers)):
            return Response("invalid signature", 401)(environ, start_response)
        form = parse_qs(body)
        payload = json.loads(form["payload"][0]) if "payload" in form else {k: v[0] for k, v in form.items()}
        if body.startswith("{"):  # Events API: a JSON body
            payload = json.loads(body)
        self.received.append(payload)
        threading.Thread(target=self.answer, args=(payload,)).start()  # as a job would, after the ack
        if self.ack:
            return Response(json.dumps(self.ack), 200, mimetype="application/json")(environ, start_response)
        return Response("", 200)(environ, start_response)


@pytest.fixture
def sandbox():
    emulators = []

    def start(app_url):
        emulator = SandboxEmulator(app_url, SECRET).start()
        emulators.append(emulator)
        return emulator

    yield start
    for emulator in emulators:
        emulator.stop()


def _wait_for(condition):
    for _ in range(200):
        result = condition()
        if result:
            return result
        threading.Event().wait(0.05)
    raise AssertionError("the sandbox never showed the app's answer")


def test_a_command_is_signed_and_its_ephemeral_answer_shown_to_that_person_only(sandbox):
    app = StandInApp(lambda p: requests.post(p["response_url"], json={"text": "*Your usage*"}, timeout=5))
    emulator = sandbox(app.url)
    emulator.send_text("U0ALICE", "C0GENERAL", "/toktra-usage  bob@acme.example")
    command = app.received[0]
    assert (command["command"], command["text"], command["user_id"], command["team_id"]) == (
        "/toktra-usage", "bob@acme.example", "U0ALICE", "T0DEMO")
    assert command["response_url"].startswith(emulator.url + "response_url/")
    alice = _wait_for(lambda: "<b>Your usage</b>" in emulator.view("U0ALICE", "C0GENERAL")["html"])
    assert alice
    html = emulator.view("U0ALICE", "C0GENERAL")["html"]
    assert "Only visible to you" in html and "/toktra-usage  bob@acme.example" in html
    assert "Your usage" not in emulator.view("U0BOB", "C0GENERAL")["html"]


def test_a_click_sends_the_message_and_inputs_and_replace_original_edits_it(sandbox):
    def approve(payload):
        requests.post(payload["response_url"], timeout=5,
                      json={"replace_original": True, "text": f"Decided: {payload['state']['values']['r']['why']['value']}"})

    app = StandInApp(approve)
    emulator = sandbox(app.url)
    client_params = {"channel": "U0MANAGER", "text": "Request", "blocks": [
        {"type": "input", "block_id": "r", "label": {"type": "plain_text", "text": "Why"},
         "element": {"type": "plain_text_input", "action_id": "why"}},
        {"type": "actions", "block_id": "req-1", "elements": [
            {"type": "button", "action_id": "approve", "value": "1", "text": {"type": "plain_text", "text": "Approve"}}]}]}
    posted = requests.post(emulator.url + "api/chat.postMessage", json=client_params, timeout=5,
                           headers={"Authorization": f"Bearer {emulator.team.bot_token}"}).json()
    assert posted["ok"] and posted["channel"] == "D0MANAGER"
    emulator.click("U0MANAGER", "D0MANAGER", posted["ts"], {"action_id": "approve", "block_id": "req-1", "value": "1"},
                   {"r": {"why": {"type": "plain_text_input", "value": "fine"}}})
    click = app.received[0]
    assert click["type"] == "block_actions" and click["user"]["id"] == "U0MANAGER"
    assert click["actions"][0]["action_id"] == "approve" and click["actions"][0]["block_id"] == "req-1"
    assert click["container"] == {"type": "message", "message_ts": posted["ts"], "channel_id": "D0MANAGER",
                                  "is_ephemeral": False}
    assert click["message"]["blocks"][1]["block_id"] == "req-1"
    message = _wait_for(lambda: [m for m in emulator.messages("D0MANAGER") if m["text"] == "Decided: fine"])
    assert message[0]["ts"] == posted["ts"] and message[0]["edited"] and message[0]["blocks"] is None


def test_an_answer_in_the_ack_is_shown_at_once_and_dms_are_not_read(sandbox):
    app = StandInApp(lambda payload: None, ack={"text": "`limit:99`: limit must be a whole number from 1 to 50"})
    emulator = sandbox(app.url)
    emulator.send_text("U0BOB", "C0GENERAL", "/toktra-alerts limit:99")
    assert "<code>limit:99</code>: limit must be a whole number" in emulator.view("U0BOB", "C0GENERAL")["html"]
    emulator.send_text("U0BOB", "D0BOB", "hello?")
    html = emulator.view("U0BOB", "D0BOB")["html"]
    assert "hello?" in html and "Toktra doesn't read direct messages" in html
    assert len(app.received) == 1  # the DM was not sent to the app


def test_when_the_app_is_down_the_person_is_told_where_it_should_be(sandbox):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    emulator = sandbox(closed)
    emulator.send_text("U0ADMIN", "C0GENERAL", "/toktra-budget")
    emulator.send_text("U0ADMIN", "C0GENERAL", "/toktra-nope")
    html = emulator.view("U0ADMIN", "C0GENERAL")["html"]
    assert f"Toktra's app at {closed} did not answer" in html
    assert "<code>/toktra-nope</code> is not a valid command" in html


def test_the_emulator_can_be_read_back_over_http():
    with SlackEmulator() as slack:
        team = slack.add_team("T0001", "Acme")
        slack.add_channel("C0001", "alerts")
        requests.post(slack.url + "api/chat.postMessage", data={"channel": "C0001", "text": "hi"}, timeout=5,
                      headers={"Authorization": f"Bearer {team.bot_token}"})
        requests.post(slack.response_url("cmd-1"), json={"text": "answer"}, timeout=5)
        messages = requests.get(slack.url + "_emulator/messages/alerts", timeout=5)
        assert messages.status_code == 200 and messages.json()["messages"][0]["text"] == "hi"
        calls = requests.get(slack.url + "_emulator/calls?method=chat.postMessage", timeout=5).json()["calls"]
        assert [c["params"]["text"] for c in calls] == ["hi"] and calls[0]["response"]["ok"]
        assert requests.get(slack.url + "_emulator/responses", timeout=5).json() == {
            "responses": {"cmd-1": [{"text": "answer"}]}}
        missing = requests.get(slack.url + "_emulator/messages/nowhere", timeout=5)
        assert missing.status_code == 404 and missing.json()["error"] == "channel_not_found"
        unknown = requests.get(slack.url + "_emulator/everything", timeout=5)
        assert unknown.status_code == 404 and "/_emulator/messages/<channel id or name>" in unknown.json()["try"]


def test_the_senders_answers_go_to_the_emulators_response_url():
    sender = SlackSender(SECRET, "http://127.0.0.1:1")
    assert sender.new_response_url("/toktra-budget") == "http://127.0.0.1:3999/response_url/toktra-budget-1"
    assert SlackSender(SECRET, "x", response_url_base="http://e/response_url/").new_response_url("a") == (
        "http://e/response_url/a-1")


@pytest.mark.parametrize("setting", ["PORT", "SLACK_SANDBOX_PORT"])
def test_bin_serve_refuses_a_taken_port_before_starting_anything(setting, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), setting: str(port),
               "DATABASE_URL": f"sqlite:///{tmp_path}/never.db", "REDIS_URL": "redis://127.0.0.1:1/0"}
        if setting != "PORT":
            with socket.socket() as free:
                free.bind(("127.0.0.1", 0))
                env["PORT"] = str(free.getsockname()[1])
        done = subprocess.run(["bash", "bin/serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use, so nothing was started." in done.stderr
    assert f"{setting}=<free port> bash bin/serve" in done.stderr
    assert done.stdout == "" and not (tmp_path / "never.db").exists()


def test_the_sandbox_does_not_start_in_production():
    done = subprocess.run([sys.executable, "-m", "devtools.sandbox", "--port", "0", "--signing-secret", "x"], cwd=ROOT,
                          env={**os.environ, "TOKTRA_ENV": "production"}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "The Slack sandbox is for local runs only; it does not start with TOKTRA_ENV=production." in done.stderr


def test_a_modal_the_app_opens_is_shown_to_the_clicker_and_submitted_with_its_inputs(sandbox):
    modal = {"type": "modal", "callback_id": "why", "title": {"type": "plain_text", "text": "Reject request"},
             "submit": {"type": "plain_text", "text": "Reject"}, "close": {"type": "plain_text", "text": "Cancel"},
             "blocks": [{"type": "input", "block_id": "reject-reason", "label": {"type": "plain_text", "text": "Reason"},
                         "element": {"type": "plain_text_input", "action_id": "reason"}}]}

    def open_modal(payload):
        if payload["type"] == "block_actions":
            requests.post(emulator.url + "api/views.open", timeout=5, json={"trigger_id": payload["trigger_id"],
                                                                            "view": modal},
                          headers={"Authorization": f"Bearer {emulator.team.bot_token}"})

    app = StandInApp(open_modal, ack={"response_action": "errors", "errors": {"reject-reason": "Give a reason."}})
    emulator = sandbox(app.url)
    posted = requests.post(emulator.url + "api/chat.postMessage", timeout=5, headers={
        "Authorization": f"Bearer {emulator.team.bot_token}"}, json={"channel": "U0MANAGER", "text": "Request", "blocks": [
            {"type": "actions", "block_id": "req-1", "elements": [{"type": "button", "action_id": "reject", "value": "1",
                                                                   "text": {"type": "plain_text", "text": "Reject"}}]}]}
                           ).json()
    emulator.click("U0MANAGER", "D0MANAGER", posted["ts"], {"action_id": "reject", "block_id": "req-1", "value": "1"})
    shown = _wait_for(lambda: emulator.view("U0MANAGER", "D0MANAGER")["modal"])
    assert shown["title"] == "Reject request" and shown["submit"] == "Reject"
    assert 'data-action-id="reason"' in shown["html"]
    assert emulator.view("U0BOB", "D0BOB")["modal"] is None  # only the clicker sees it
    typed = {"reject-reason": {"reason": {"type": "plain_text_input", "value": "Too much"}}}
    assert emulator.submit_modal("U0MANAGER", shown["id"], typed) == {"errors": {"reject-reason": "Give a reason."}}
    assert emulator.view("U0MANAGER", "D0MANAGER")["modal"]["id"] == shown["id"]  # still open, as in Slack
    app.ack = None
    assert emulator.submit_modal("U0MANAGER", shown["id"], typed) == {"ok": True}
    submitted = app.received[-1]
    assert submitted["type"] == "view_submission" and submitted["user"]["id"] == "U0MANAGER"
    assert submitted["view"]["state"]["values"] == typed
    assert emulator.view("U0MANAGER", "D0MANAGER")["modal"] is None


def test_the_home_tab_is_opened_shown_and_clicked_as_in_slack(sandbox):
    home = {"type": "home", "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Your usage this period*"}},
        {"type": "actions", "block_id": "alert-actions-7", "elements": [
            {"type": "button", "action_id": "toktra_alert_acknowledge", "value": '{"alert": 7}',
             "text": {"type": "plain_text", "text": "Acknowledge"}}]}]}

    def publish(payload):
        if payload.get("event", {}).get("type") == "app_home_opened":
            requests.post(emulator.url + "api/views.publish", timeout=5, json={"user_id": payload["event"]["user"],
                                                                               "view": home},
                          headers={"Authorization": f"Bearer {emulator.team.bot_token}"})

    app = StandInApp(publish)
    emulator = sandbox(app.url)
    assert "home" in [c["id"] for c in emulator.view("U0ADMIN", None)["conversations"]]
    emulator.open_home("U0ADMIN")
    event = app.received[0]["event"]
    assert (event["type"], event["user"], event["tab"]) == ("app_home_opened", "U0ADMIN", "home")
    page = _wait_for(lambda: "Your usage this period" in emulator.view("U0ADMIN", "home")["html"]
                     and emulator.view("U0ADMIN", "home"))
    assert page["conversation"]["kind"] == "home" and 'data-action-id="toktra_alert_acknowledge"' in page["html"]
    emulator.click("U0ADMIN", "home", "home", {"action_id": "toktra_alert_acknowledge", "block_id": "alert-actions-7",
                                               "value": '{"alert": 7}'})
    click = app.received[-1]
    assert click["type"] == "block_actions" and click["container"]["type"] == "view"
    assert "response_url" not in click and click["actions"][0]["value"] == '{"alert": 7}'


def test_an_overflow_menu_is_shown_and_choosing_an_option_sends_it(sandbox):
    app = StandInApp(lambda payload: None)
    emulator = sandbox(app.url)
    menu = {"type": "overflow", "action_id": "snooze", "options": [
        {"text": {"type": "plain_text", "text": "Snooze 1 hour"}, "value": '{"alert": 1, "snooze": "1h"}'}]}
    html = render_blocks([{"type": "actions", "block_id": "a", "elements": [menu]}], Names())
    assert 'data-overflow="1"' in html and "Snooze 1 hour</option>" in html
    posted = requests.post(emulator.url + "api/chat.postMessage", timeout=5,
                           json={"channel": "U0MANAGER", "text": "Alert", "blocks": [
                               {"type": "actions", "block_id": "a", "elements": [menu]}]},
                           headers={"Authorization": f"Bearer {emulator.team.bot_token}"}).json()
    emulator.click("U0MANAGER", "D0MANAGER", posted["ts"],
                   {"action_id": "snooze", "block_id": "a", "selected_option": menu["options"][0]})
    [action] = app.received[0]["actions"]
    assert action["type"] == "overflow" and action["selected_option"]["value"] == '{"alert": 1, "snooze": "1h"}'
