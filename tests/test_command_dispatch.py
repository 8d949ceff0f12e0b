"""Slash commands skip Bolt's generic dispatch (bolt_app.run_command); they must be answered exactly as it answers.

Each case sends the same signed commands to two Bolt apps built by build_bolt_app: the app's own, which
runs command listeners directly, and one whose command listeners are left to Bolt's listener matching.
Both must give the same answers and queue the same jobs.
"""
from __future__ import annotations

import pytest
from flask import current_app
from slack_bolt.request import BoltRequest

from app.slack.ingress.bolt_app import build_bolt_app
from app.slack.ingress.installations import VERSION_KEY
from app.slack.ingress.authorize import NOT_INSTALLED_MESSAGE
from devtools.slack_sender import SlackSender
from tests.conftest import SIGNING_SECRET


class Recorder:
    """SlackSender's transport: keeps the signed body and headers instead of posting them."""

    def post(self, path, data, headers):
        self.sent = (data, headers)
        return self.sent


@pytest.fixture
def apps(app, redis_conn):
    """(direct, generic): the app's Bolt app, and one that dispatches commands through Bolt's matching."""
    direct = build_bolt_app(app)
    generic = build_bolt_app(app)
    generic.command_listeners = {}
    assert direct.command_listeners and set(direct.command_listeners) == {
        "/toktra-usage", "/toktra-budget", "/toktra-alerts"}
    return direct, generic


def signed(command: str, text: str = "", team_id: str = "T0001", trigger_id: str | None = None) -> BoltRequest:
    """A signed slash command as routes.events hands it to Bolt."""
    sender = SlackSender(SIGNING_SECRET, Recorder())
    body, headers = sender.command(command, text, team_id=team_id, trigger_id=trigger_id,
                                   response_url="http://127.0.0.1:9/response_url/r1")
    return BoltRequest(body=body, headers=headers)


def answer(bolt, queue, command: str, text: str = "", cold: bool = False, **options) -> tuple:
    """What bolt answers to a fresh command, and the jobs it queued (function, arguments); cold: with no
    installation cached in this process yet."""
    if cold:
        current_app.extensions.pop("toktra.slack_installations", None)
    queue.empty()
    response = bolt.dispatch(signed(command, text, **options))
    jobs = [(job.func_name, job.kwargs) for job in queue.get_jobs()]
    return response.status, response.body, response.headers.get("content-type"), jobs


CASES = {
    "a valid command queues its job": ("/toktra-budget", ""),
    "arguments are queued as typed": ("/toktra-alerts", "severity:high limit:3"),
    "help is answered in the acknowledgement": ("/toktra-usage", "help"),
    "a bad argument is answered in the acknowledgement": ("/toktra-alerts", "severity:bogus"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_command_is_answered_as_bolt_answers_it(apps, queue, workspace, case):
    direct, generic = apps
    command, text = CASES[case]
    for cold in (True, False):  # the installation read from PostgreSQL, then found in the process's cache
        ours, bolts = answer(direct, queue, command, text, cold), answer(generic, queue, command, text, cold)
        assert ours == bolts, (case, cold)
    status, body, _, jobs = ours
    assert status == 200
    if text in ("", "severity:high limit:3"):
        assert body == "" and [name for name, _ in jobs] == ["jobs.commands.run_command"]
        assert jobs[0][1]["text"] == text
    else:
        assert jobs == [] and body


def test_an_uninstalled_workspace_is_told_so_either_way(apps, queue, workspace):
    ours, bolts = (answer(bolt, queue, "/toktra-budget", team_id="T0404") for bolt in apps)
    assert ours == bolts
    assert ours[:2] == (200, NOT_INSTALLED_MESSAGE) and ours[3] == []


def test_a_repeated_delivery_queues_nothing_either_way(apps, queue, workspace):
    for bolt in apps:
        for cold in (True, False):
            trigger = f"repeat-{id(bolt)}-{cold}"
            first = answer(bolt, queue, "/toktra-budget", cold=cold, trigger_id=trigger)
            again = answer(bolt, queue, "/toktra-budget", trigger_id=trigger)
            assert first[:2] == (200, "") and len(first[3]) == 1
            assert again[:2] == (200, "") and again[3] == []


def test_an_installation_change_while_cached_is_handled_again_either_way(apps, queue, workspace, redis_conn):
    for bolt in apps:
        answer(bolt, queue, "/toktra-budget")  # caches the installation
        redis_conn.incr(VERSION_KEY)  # as another process does when a workspace changes
        status, body, _, jobs = answer(bolt, queue, "/toktra-budget")
        assert (status, body) == (200, "") and len(jobs) == 1


def test_a_listener_that_fails_answers_500_and_lets_slacks_retry_through(apps, queue, workspace):
    direct, _ = apps
    commands = direct.command_listeners

    def failing(ack, command, context):
        raise RuntimeError("a bug in a listener")

    direct.command_listeners = {**commands, "/toktra-budget": failing}
    status, body, _, jobs = answer(direct, queue, "/toktra-budget", cold=True, trigger_id="fails-once")
    assert (status, body, jobs) == (500, "", [])
    direct.command_listeners = commands
    status, body, _, jobs = answer(direct, queue, "/toktra-budget", cold=True, trigger_id="fails-once")  # Slack's retry
    assert (status, body) == (200, "") and len(jobs) == 1
