"""Help: `/toktra-usage help`, `/toktra-budget help`, `/toktra-alerts help` and `@Toktra help`."""
from __future__ import annotations

import json

import pytest

from tests.test_slack_events import mention


@pytest.mark.parametrize("command, shows", [
    ("/toktra-usage", ["/toktra-usage* [someone@company.com]", "Toktra admins only",
                       "`/toktra-usage alice@company.com`"]),
    ("/toktra-budget", ["/toktra-budget*", "takes no arguments", "`/toktra-budget`"]),
    ("/toktra-alerts", ["`severity:<level>`", "`low`, `medium`, `high` or `critical`", "`limit:<n>`",
                        "1 to 50 (default 10)", "`/toktra-alerts severity:critical limit:5`"]),
])
@pytest.mark.parametrize("word", ["help", " HELP ", "--help"])
def test_each_command_answers_help_at_once_with_arguments_and_examples(signed, workspace, queue, command, shows,
                                                                        word):
    response = signed.command(command, word, user_id="U0001")
    assert response.status_code == 200
    assert response.mimetype == "application/json"  # Slack shows any other body as plain text
    answer = response.json
    assert answer.get("response_type", "ephemeral") == "ephemeral"  # only the caller sees it
    shown = answer["blocks"][0]["text"]["text"]
    assert "*Arguments*" in shown and "*Examples*" in shown
    for words in shows:
        assert words in shown
    assert answer["text"] == shown
    assert len(queue) == 0  # static text: no job, no Slack call


@pytest.mark.parametrize("command, text", [
    ("/toktra-alerts", "urgent"), ("/toktra-usage", "not-an-email"), ("/toktra-budget", "now"),
])
def test_an_unknown_argument_points_to_help(signed, workspace, queue, command, text):
    answer = signed.command(command, text, user_id="U0001").get_data(as_text=True)
    assert f"`{command} help`" in answer
    assert len(queue) == 0


def test_mention_help_lists_every_command_with_arguments_and_examples(signed, slack, workspace, member, run_worker):
    slack.add_channel("C0001", "general")
    slack.add_user("U0001", member.email, "alice")
    assert signed.event(mention(text="<@UT0001BOT> help", ts="1700000000.000300")).status_code == 200
    run_worker()
    [reply] = slack.messages("C0001")
    assert reply["thread_ts"] == "1700000000.000300"
    shown = "\n".join(b["text"]["text"] if "text" in b else json.dumps(b) for b in reply["blocks"])
    for words in ["`/toktra-usage [someone@company.com]`", "`/toktra-budget`",
                  "`/toktra-alerts [severity:low|medium|high|critical] [status:open|acknowledged|resolved|all] [limit:1-50]`",
                  "`/toktra-usage alice@company.com`", "`/toktra-alerts severity:critical limit:5`",
                  "`/toktra-alerts help`"]:
        assert words in shown
