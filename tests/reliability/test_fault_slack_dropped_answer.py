"""Slack posts the message, then the connection closes without an answer: an ambiguous send."""
from harness import AMBIGUOUS_DELAY_SECONDS, TAG, wait_until


def test_dropped_answer_is_reposted_at_most_once_and_only_after_a_delay(toktra):
    slack = toktra.slack
    toktra.begin(alerts=16)
    slack.drop_answers("chat.postMessage", channel="C0REL1")
    dropped = wait_until(lambda: [c for c in slack.calls_to("chat.postMessage") if c.dropped], 60)
    assert dropped, toktra.report(["the worker did not post to #rel-one again within 60s"])
    number = int(TAG.search(dropped[0].params["text"]).group(1))
    # The first copy is in Slack; a second is allowed (nobody can know), once, after the ambiguous-send delay.
    problems, recovered = toktra.verdict(dropped[0].monotonic, ambiguous={number},
                                         settle=AMBIGUOUS_DELAY_SECONDS + 3)
    assert not problems, toktra.report(problems, recovered)
