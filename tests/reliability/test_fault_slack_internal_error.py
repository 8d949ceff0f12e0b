"""Slack answering {"ok": false, "error": "internal_error"} (HTTP 200) to chat.postMessage for a while."""
from harness import slack_errors_scenario


def test_slack_internal_error_is_retried_once_posted_and_paced(toktra):
    problems, recovered = slack_errors_scenario(toktra, [
        {"channel": "C0REL2", "error": "internal_error"},
        {"channel": "C0REL4", "error": "internal_error"},
    ])
    assert not problems, toktra.report(problems, recovered)
