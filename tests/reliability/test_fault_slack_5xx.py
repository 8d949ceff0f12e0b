"""Slack answering HTTP 5xx to chat.postMessage for a while (nothing was posted: the outcome is known)."""
from harness import slack_errors_scenario


def test_slack_5xx_is_retried_once_posted_and_paced(toktra):
    problems, recovered = slack_errors_scenario(toktra, [
        {"channel": "C0REL1", "error": "service_unavailable", "status": 503},
        {"channel": "C0REL3", "error": "internal_error", "status": 500},
    ])
    assert not problems, toktra.report(problems, recovered)
