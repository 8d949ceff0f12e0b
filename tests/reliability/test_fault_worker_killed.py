"""The whole worker SIGKILLed while Slack is handling one of its posts, then started again.

The post lands but no worker hears of it: an ambiguous send, which may be repeated once; nothing
else may be repeated, and nothing may be lost.
"""
import time


def test_worker_killed_mid_post_repeats_at_most_the_post_in_flight(toktra):
    toktra.begin(alerts=16)
    in_flight = toktra.kill_mid_post(whole_worker=True, lands=True)
    toktra.worker.start()
    fault_end = time.monotonic()
    problems, recovered = toktra.verdict(fault_end, ambiguous={in_flight})
    assert not problems, toktra.report(problems, recovered)
