"""The Slack emulator (devtools/slack_emulator.py), exercised through slack_sdk's real WebClient."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
import urllib.error
import urllib.request

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from devtools.slack_emulator import SlackEmulator


@pytest.fixture
def emulator():
    """A running emulator with one workspace, two users and an #alerts channel."""
    with SlackEmulator() as slack:
        slack.add_team("T0001", "Acme", bot_token="xoxb-acme", bot_user_id="U0BOT")
        slack.add_user("U0001", "alice@acme.example", real_name="Alice Smith")
        slack.add_user("U0002", "bob@acme.example")
        slack.add_channel("C0001", "alerts")
        yield slack


@pytest.fixture
def web(emulator):
    """A WebClient pointed at the emulator with the bot token."""
    return WebClient(base_url=emulator.url, token="xoxb-acme")


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def api_error(call) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


def test_url_and_response_url_point_at_the_running_server(emulator):
    assert emulator.url == f"http://127.0.0.1:{emulator.port}/"
    assert emulator.port != 0
    assert emulator.response_url("cmd1") == f"{emulator.url}response_url/cmd1"


def test_auth_test_answers_for_the_bot_token(web, emulator):
    response = web.auth_test()
    assert response["ok"] is True
    assert response["team_id"] == "T0001"
    assert response["team"] == "Acme"
    assert response["user_id"] == "U0BOT"
    assert response["bot_id"]
    call = emulator.calls_to("auth.test")[0]
    assert call.token == "xoxb-acme"
    assert call.time <= time.time()


def test_token_checks(emulator):
    assert api_error(WebClient(base_url=emulator.url).auth_test).response["error"] == "not_authed"
    assert api_error(WebClient(base_url=emulator.url, token="xoxb-nope").auth_test).response["error"] == "invalid_auth"
    emulator.revoke_token("xoxb-acme")
    error = api_error(WebClient(base_url=emulator.url, token="xoxb-acme").auth_test)
    assert error.response.status_code == 200
    assert error.response.data == {"ok": False, "error": "token_revoked"}
    emulator.add_team("T0002", "Other", bot_token="xoxb-other")
    emulator.expire_token("xoxb-other")
    assert api_error(WebClient(base_url=emulator.url, token="xoxb-other").auth_test).response["error"] == "token_expired"


def test_token_as_form_field_is_accepted(emulator):
    response = requests.post(f"{emulator.url}auth.test", data={"token": "xoxb-acme"})
    assert response.json()["ok"] is True
    assert emulator.calls_to("auth.test")[0].token == "xoxb-acme"


def test_unknown_method(web):
    error = api_error(lambda: web.api_call("chat.nonsense"))
    assert error.response["error"] == "unknown_method"


def test_post_message_then_update_replaces_text_and_blocks(web, emulator):
    posted = web.chat_postMessage(channel="C0001", text="Deploy started", blocks=[section("*Deploy* started")])
    assert posted["channel"] == "C0001"
    ts = posted["ts"]
    web.chat_update(channel="C0001", ts=ts, text="Deploy finished", blocks=[section("*Deploy* finished")])

    [message] = emulator.messages("C0001")
    assert message["ts"] == ts
    assert message["text"] == "Deploy finished"
    assert message["blocks"] == [section("*Deploy* finished")]
    assert message["user"] == "U0BOT" and message["bot_id"]
    assert message["edited"]
    assert emulator.calls_to("chat.postMessage")[0].params["blocks"] == [section("*Deploy* started")]
    assert emulator.messages("#alerts") == emulator.messages("C0001")


def test_form_encoded_blocks_are_json_decoded(emulator):
    blocks = [section("hello")]
    requests.post(
        f"{emulator.url}chat.postMessage",
        data={"channel": "C0001", "blocks": json.dumps(blocks)},
        headers={"Authorization": "Bearer xoxb-acme"},
    )
    assert emulator.calls[-1].params["blocks"] == blocks
    assert emulator.messages("C0001")[0]["blocks"] == blocks


def test_threaded_reply_keeps_thread_ts(web, emulator):
    parent = web.chat_postMessage(channel="C0001", text="parent")["ts"]
    web.chat_postMessage(channel="C0001", text="reply", thread_ts=parent)
    assert [m["thread_ts"] for m in emulator.messages("C0001")] == [None, parent]


def test_update_of_an_unknown_ts(web):
    assert api_error(lambda: web.chat_update(channel="C0001", ts="1.000001", text="x")).response["error"] == (
        "message_not_found"
    )


def test_channel_errors(web, emulator):
    emulator.add_channel("C0002", "old", is_archived=True)
    emulator.add_channel("C0003", "random", bot_member=False)
    emulator.add_channel("G0004", "secret", is_private=True, bot_member=False)
    for channel, expected in (
        ("C0002", "is_archived"),
        ("C0003", "not_in_channel"),
        ("G0004", "channel_not_found"),
        ("C9999", "channel_not_found"),
    ):
        error = api_error(lambda: web.chat_postMessage(channel=channel, text="hi"))
        assert error.response["error"] == expected, channel
    assert emulator.messages("C0002") == []


def test_post_ephemeral_is_recorded_separately(web, emulator):
    response = web.chat_postEphemeral(channel="C0001", user="U0001", text="only you")
    assert response["message_ts"]
    assert emulator.messages("C0001") == []
    [message] = emulator.ephemeral_messages("C0001")
    assert message["text"] == "only you" and message["to_user"] == "U0001"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_message_limits(web):
    too_many = [section(f"block {i}") for i in range(51)]
    error = api_error(lambda: web.chat_postMessage(channel="C0001", text="x", blocks=too_many))
    assert error.response["error"] == "invalid_blocks"
    assert "must be less than 51 items" in error.response["errors"][0]

    cases = [
        ({"text": "x", "blocks": [section("x" * 3001)]}, "invalid_blocks"),
        ({"text": "x", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]},
         "invalid_blocks"),
        ({"text": "x" * 40_001}, "msg_too_long"),
        ({"text": ""}, "no_text"),
    ]
    for kwargs, expected in cases:
        error = api_error(lambda: web.chat_postMessage(channel="C0001", **kwargs))
        assert error.response["error"] == expected, kwargs
    web.chat_postMessage(channel="C0001", text="x" * 40_000, blocks=[section("x" * 3000)] * 50)


def button(text="Go", value="1", **extra) -> dict:
    return {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": text}, "value": value, **extra}


@pytest.mark.parametrize("block, pointer", [
    ({"type": "actions", "elements": [button(value="1" * 2001)]}, "/blocks/0/elements/0/value"),
    ({"type": "actions", "elements": [button(text="x" * 76)]}, "/blocks/0/elements/0/text/text"),
    ({"type": "actions", "elements": [button(action_id="a" * 256)]}, "/blocks/0/elements/0/action_id"),
    ({"type": "actions", "elements": [button(confirm={"title": {"type": "plain_text", "text": "t" * 101},
                                                      "text": {"type": "plain_text", "text": "ok"}})]},
     "/blocks/0/elements/0/confirm/title/text"),
    ({"type": "actions", "elements": [button()] * 26}, "/blocks/0/elements"),
    ({"type": "context", "elements": [{"type": "mrkdwn", "text": "x" * 3001}]}, "/blocks/0/elements/0/text"),
    ({"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}, "/blocks/0/elements"),
    ({"type": "input", "label": {"type": "plain_text", "text": "Reason"},
      "element": {"type": "plain_text_input", "action_id": "r",
                  "placeholder": {"type": "plain_text", "text": "p" * 151}}}, "/blocks/0/element/placeholder/text"),
])
def test_element_limits(web, block, pointer):
    error = api_error(lambda: web.chat_postMessage(channel="C0001", text="x", blocks=[block]))
    assert error.response["error"] == "invalid_blocks"
    assert error.response["errors"] == [error.response["errors"][0]] and pointer in error.response["errors"][0]


def test_conversations_list_pages_and_hides_private_channels_without_the_bot(web, emulator):
    for i in range(250):
        private = i % 10 == 0  # 25 private channels, the bot is in 5 of them
        emulator.add_channel(f"C1{i:04d}", f"chan-{i}", is_private=private, bot_member=not private or i % 50 == 0)
    # a SlackResponse is updated in place while iterating, so read each page as it arrives
    pages = [
        ([c["id"] for c in page["channels"]], page["response_metadata"]["next_cursor"])
        for page in web.conversations_list(types="public_channel,private_channel", limit=100)
    ]

    assert [len(ids) for ids, _ in pages] == [100, 100, 31]
    ids = [i for page_ids, _ in pages for i in page_ids]
    assert len(ids) == len(set(ids)) == 1 + 225 + 5
    assert "C10000" in ids and "C10010" not in ids
    assert pages[0][1] and pages[1][1] and pages[2][1] == ""
    calls = emulator.calls_to("conversations.list")
    assert [c.params.get("cursor") for c in calls] == [None, pages[0][1], pages[1][1]]

    public_only = [c for page in web.conversations_list(limit=1000) for c in page["channels"]]
    assert len(public_only) == 226 and not any(c["is_private"] for c in public_only)


def test_conversations_list_rejects_a_bad_cursor(web):
    assert api_error(lambda: web.conversations_list(cursor="garbage!")).response["error"] == "invalid_cursor"


def test_conversations_open_gives_an_im_channel_that_accepts_messages(web, emulator):
    channel = web.conversations_open(users="U0001")["channel"]["id"]
    assert channel.startswith("D")
    assert web.conversations_open(users="U0001")["channel"]["id"] == channel
    web.chat_postMessage(channel=channel, text="hello Alice")
    assert emulator.messages(channel)[0]["text"] == "hello Alice"
    assert api_error(lambda: web.conversations_open(users="U9999")).response["error"] == "user_not_found"


def test_users_lookup_by_email_and_info(web):
    user = web.users_lookupByEmail(email="Alice@acme.example")["user"]
    assert user["id"] == "U0001"
    assert user["profile"]["email"] == "alice@acme.example"
    info = web.users_info(user="U0001")["user"]
    assert info["real_name"] == "Alice Smith" and info["profile"]["email"] == "alice@acme.example"
    assert api_error(lambda: web.users_lookupByEmail(email="nobody@acme.example")).response["error"] == (
        "users_not_found"
    )
    assert api_error(lambda: web.users_info(user="U9999")).response["error"] == "user_not_found"


def test_oauth_code_exchange(emulator):
    emulator.add_oauth_code("code-1", "T0001", user_id="U0001")
    client = WebClient(base_url=emulator.url)
    response = client.oauth_v2_access(client_id=emulator.client_id, client_secret=emulator.client_secret, code="code-1")
    assert response.data == {
        "ok": True,
        "app_id": "A0001",
        "authed_user": {"id": "U0001"},
        "scope": emulator.team("T0001").scope,
        "token_type": "bot",
        "access_token": "xoxb-acme",
        "bot_user_id": "U0BOT",
        "team": {"id": "T0001", "name": "Acme"},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    # codes are single-use, and the client must authenticate
    again = api_error(lambda: client.oauth_v2_access(client_id="1111.2222", client_secret=emulator.client_secret,
                                                     code="code-1"))
    assert again.response["error"] == "invalid_code"
    emulator.add_oauth_code("code-2", "T0001")
    wrong = api_error(lambda: client.oauth_v2_access(client_id=emulator.client_id, client_secret="x", code="code-2"))
    assert wrong.response["error"] == "bad_client_secret"


def test_oauth_client_credentials_as_form_fields(emulator):
    emulator.add_oauth_code("code-1", "T0001")
    response = requests.post(
        f"{emulator.url}oauth.v2.access",
        data={"client_id": emulator.client_id, "client_secret": emulator.client_secret, "code": "code-1"},
    )
    assert response.json()["access_token"] == "xoxb-acme"


def test_oauth_token_rotation(emulator):
    team = emulator.add_team("T0002", "Rotating Ltd", token_rotation=True)
    emulator.add_oauth_code("code-r", "T0002")
    client = WebClient(base_url=emulator.url)
    creds = {"client_id": emulator.client_id, "client_secret": emulator.client_secret}
    install = client.oauth_v2_access(code="code-r", **creds)
    assert install["refresh_token"].startswith("xoxe-1-") and install["expires_in"] == 43200

    refreshed = client.oauth_v2_access(grant_type="refresh_token", refresh_token=install["refresh_token"], **creds)
    assert refreshed["access_token"] != install["access_token"]
    assert refreshed["access_token"].startswith("xoxe.xoxb-")
    assert refreshed["refresh_token"] != install["refresh_token"]
    assert refreshed["expires_in"] == 43200 and refreshed["team"]["id"] == "T0002"
    assert WebClient(base_url=emulator.url, token=refreshed["access_token"]).auth_test()["team_id"] == "T0002"
    assert team.bot_token == refreshed["access_token"]

    reused = api_error(
        lambda: client.oauth_v2_access(grant_type="refresh_token", refresh_token=install["refresh_token"], **creds)
    )
    assert reused.response["error"] == "invalid_refresh_token"


def test_injected_rate_limit_is_a_429_with_retry_after(web, emulator):
    emulator.fail("chat.postMessage", retry_after=7)
    error = api_error(lambda: web.chat_postMessage(channel="C0001", text="hi"))
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "7"
    assert error.response["error"] == "ratelimited"
    assert web.chat_postMessage(channel="C0001", text="hi")["ok"] is True  # times=1: next call succeeds
    assert len(emulator.messages("C0001")) == 1


def test_injected_errors_per_channel_and_until_cleared(web, emulator):
    emulator.add_channel("C0002", "ops")
    emulator.fail("chat.postMessage", error="channel_not_found", channel="C0002", times=None)
    assert web.chat_postMessage(channel="C0001", text="fine")["ok"] is True
    for _ in range(3):
        error = api_error(lambda: web.chat_postMessage(channel="C0002", text="no"))
        assert error.response.status_code == 200
        assert error.response["error"] == "channel_not_found"
    emulator.clear_failures()
    assert web.chat_postMessage(channel="C0002", text="yes")["ok"] is True


def test_retry_handler_recovers_from_an_injected_rate_limit(emulator):
    from slack_sdk.http_retry import RateLimitErrorRetryHandler

    emulator.fail("auth.test", retry_after=0)
    client = WebClient(base_url=emulator.url, token="xoxb-acme", retry_handlers=[RateLimitErrorRetryHandler()])
    assert client.auth_test()["ok"] is True
    assert [c.status for c in emulator.calls_to("auth.test")] == [429, 200]


def test_apps_connections_open_needs_an_app_token(emulator):
    emulator.socket_mode_url = "ws://127.0.0.1:3011/link"
    app_token = emulator.add_app_token()
    client = WebClient(base_url=emulator.url)
    assert client.apps_connections_open(app_token=app_token)["url"] == "ws://127.0.0.1:3011/link"
    assert api_error(lambda: client.apps_connections_open(app_token="xoxb-acme")).response["error"] == (
        "not_allowed_token_type"
    )
    assert api_error(lambda: client.apps_connections_open(app_token="xapp-unknown")).response["error"] == "invalid_auth"


def test_response_url_posts_are_recorded(emulator):
    url = emulator.response_url("cmd-1")
    assert requests.post(url, json={"text": "working on it", "response_type": "ephemeral"}).status_code == 200
    WebhookClient(url).send(text="done", replace_original=True)
    request = urllib.request.Request(url, data=json.dumps({"delete_original": True}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    assert emulator.responses("cmd-1") == [
        {"text": "working on it", "response_type": "ephemeral"},
        {"text": "done", "replace_original": True},
        {"delete_original": True},
    ]
    assert emulator.responses("other") == []


def test_response_url_enforces_limits(emulator):
    url = emulator.response_url("cmd-2")
    too_many = requests.post(url, json={"blocks": [section("x")] * 51})
    assert too_many.status_code == 400 and too_many.text == "invalid_blocks"
    assert requests.post(url, json={"text": "x" * 40_001}).text == "msg_too_long"
    assert requests.post(url, json={}).text == "no_text"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(urllib.request.Request(url, data=b"not json"))
    assert info.value.code == 400
    assert emulator.responses("cmd-2") == []


def test_calls_from_several_threads_are_all_recorded(web, emulator):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: web.chat_postMessage(channel="C0001", text=f"m{i}"), range(40)))
    messages = emulator.messages("C0001")
    assert len(messages) == 40 == len(emulator.calls_to("chat.postMessage"))
    assert len({m["ts"] for m in messages}) == 40


def test_command_line_serves_until_interrupted(tmp_path):
    import signal
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.slack_emulator", "--port", str(port), "--team", "T0001:Acme",
         "--user", "U0001:alice@acme.example", "--channel", "C0001:alerts"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1],
    )
    try:
        banner = [process.stdout.readline() for _ in range(2)]
        assert f"http://127.0.0.1:{port}/" in banner[0]
        token = banner[1].split("SLACK_BOT_TOKEN=")[1].rstrip(")\n")
        client = WebClient(base_url=f"http://127.0.0.1:{port}/", token=token)
        client.chat_postMessage(channel="C0001", text="by hand")
        assert client.users_lookupByEmail(email="alice@acme.example")["user"]["id"] == "U0001"
        log = ""
        while "chat.postMessage" not in log:
            log = process.stdout.readline()
        assert "-> 200 ok" in log
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


# --- fault modes for the reliability tests -------------------------------------------------------


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clocked():
    """An emulator on a clock the test controls, with #alerts (C0001) and #ops (C0002)."""
    clock = FakeClock()
    with SlackEmulator(clock=clock) as slack:
        slack.add_team("T0001", "Acme", bot_token="xoxb-acme")
        slack.add_channel("C0001", "alerts")
        slack.add_channel("C0002", "ops")
        yield slack, clock, WebClient(base_url=slack.url, token="xoxb-acme", retry_handlers=[])


def test_channel_rate_is_enforced_per_channel_with_429_and_retry_after(clocked):
    slack, clock, web = clocked
    slack.enforce_channel_rate(1.0)
    assert web.chat_postMessage(channel="C0001", text="one")["ok"] is True
    clock.now += 0.4
    error = api_error(lambda: web.chat_postMessage(channel="C0001", text="too soon"))
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "1"  # 0.6 s left, rounded up as Slack does
    assert web.chat_postMessage(channel="C0002", text="other channel")["ok"] is True
    clock.now += 0.6
    assert web.chat_postMessage(channel="C0001", text="two")["ok"] is True

    assert [m["text"] for m in slack.messages("C0001")] == ["one", "two"]
    assert [(p.channel, p.text, p.at) for p in slack.posts()] == [
        ("C0001", "one", 1000.0), ("C0002", "other channel", 1000.4), ("C0001", "two", 1001.0)]
    assert all(p.wall <= time.time() for p in slack.posts())
    [hold] = slack.holds("alerts")
    assert (hold.channel, hold.start, hold.end, hold.retry_after) == ("C0001", 1000.4, 1001.4, "1")
    # "two" respected the pace but landed inside the announced hold, and is flagged for it.
    assert [(p.text, p.inside_hold) for p in slack.posts_inside_holds()] == [("two", hold)]
    assert [(a.text, b.text) for a, b in slack.posts_closer_than(1.0)] == []
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [200, 429, 200, 200]


def test_channel_rate_with_a_fractional_retry_after_and_off_again(clocked):
    slack, clock, web = clocked
    slack.enforce_channel_rate(2.0, retry_after=2.5)
    web.chat_postMessage(channel="C0001", text="one")
    clock.now += 0.5
    assert api_error(lambda: web.chat_postMessage(channel="C0001", text="x")).response.headers["Retry-After"] == "2.5"
    clock.now += 2.5
    assert web.chat_postMessage(channel="C0001", text="after the hold")["ok"] is True
    assert slack.posts_inside_holds() == []  # the hold ended exactly then
    slack.enforce_channel_rate(None)
    assert web.chat_postMessage(channel="C0001", text="burst")["ok"] is True
    assert [(a.text, b.text) for a, b in slack.posts_closer_than(1.0)] == [("after the hold", "burst")]


def test_injected_429_with_fractional_retry_after_announces_a_hold(clocked):
    slack, clock, web = clocked
    slack.fail("chat.postMessage", retry_after=1.5, channel="C0001")
    error = api_error(lambda: web.chat_postMessage(channel="#alerts", text="held"))
    assert (error.response.status_code, error.response.headers["Retry-After"]) == (429, "1.5")
    assert [(h.channel, h.start, h.end) for h in slack.holds()] == [("C0001", 1000.0, 1001.5)]
    clock.now += 1.4
    web.chat_postMessage(channel="C0002", text="other channels are not held")
    web.chat_postMessage(channel="C0001", text="early")
    clock.now += 0.1
    web.chat_postMessage(channel="C0001", text="on time")
    assert [p.text for p in slack.posts_inside_holds()] == ["early"]


@pytest.mark.parametrize("status", [500, 503])
def test_injected_server_error(web, emulator, status):
    emulator.fail("chat.postMessage", error="internal_error", status=status)
    error = api_error(lambda: web.chat_postMessage(channel="C0001", text="hi"))
    assert error.response.status_code == status
    assert error.response["error"] == "internal_error"
    assert emulator.messages("C0001") == [] and emulator.holds() == []


def test_injected_internal_error_is_a_200_with_ok_false(web, emulator):
    emulator.fail("chat.postMessage", error="internal_error")
    error = api_error(lambda: web.chat_postMessage(channel="C0001", text="hi"))
    assert (error.response.status_code, error.response.data) == (200, {"ok": False, "error": "internal_error"})
    assert emulator.messages("C0001") == []


def test_dropped_answer_posts_then_closes_the_connection(emulator):
    import http.client

    emulator.drop_answers("chat.postMessage", channel="C0001")
    bare = WebClient(base_url=emulator.url, token="xoxb-acme", retry_handlers=[])
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        bare.chat_postMessage(channel="C0001", text="posted, answer lost")
    assert [m["text"] for m in emulator.messages("C0001")] == ["posted, answer lost"]
    [call] = emulator.calls_to("chat.postMessage")
    assert call.dropped and call.response["ok"] is True
    assert bare.chat_postMessage(channel="C0001", text="next")["ok"] is True  # times=1


def test_slack_sdk_connection_retry_reposts_a_dropped_answer(emulator):
    """Why an ambiguous send needs care: slack_sdk's default retry re-sends a post Slack already has."""
    emulator.drop_answers("chat.postMessage")
    assert WebClient(base_url=emulator.url, token="xoxb-acme").chat_postMessage(channel="C0001", text="x")["ok"]
    assert [m["text"] for m in emulator.messages("C0001")] == ["x", "x"]


def test_stall_holds_the_call_then_handles_it(emulator, web):
    import threading

    emulator.stall("chat.postMessage", 0.3, channel="C0001")
    answers = []
    caller = threading.Thread(target=lambda: answers.append(web.chat_postMessage(channel="C0001", text="slow")))
    started = time.monotonic()
    caller.start()
    deadline = time.monotonic() + 10
    while not emulator.held_calls() and time.monotonic() < deadline:
        time.sleep(0.01)
    [held] = emulator.held_calls()
    assert held.params["text"] == "slow" and emulator.messages("C0001") == []
    assert web.chat_postMessage(channel="#alerts", text="not stalled")["ok"] is True  # times=1; others go on
    caller.join(timeout=10)
    assert emulator.held_calls() == []
    assert time.monotonic() - started >= 0.3
    assert answers and answers[0]["ok"] is True
    assert [m["text"] for m in emulator.messages("C0001")] == ["not stalled", "slow"]


def test_stall_without_handling_closes_the_connection_and_posts_nothing(emulator):
    import http.client

    emulator.stall("chat.postMessage", 0.1, handle=False)
    bare = WebClient(base_url=emulator.url, token="xoxb-acme", retry_handlers=[])
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        bare.chat_postMessage(channel="C0001", text="never arrives")
    assert emulator.messages("C0001") == [] and emulator.posts() == []
    [call] = emulator.calls_to("chat.postMessage")
    assert (call.status, call.dropped, call.response) == (0, True, None)
