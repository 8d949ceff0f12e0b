"""Only the worker's process making a Slack post (RQ's work horse) SIGKILLed while Slack holds the post.

Here the post never reaches the channel (Slack drops the request with its client), so the alert must
still arrive, exactly once, and soon: a claim left by a dead process must not hold it for minutes.
"""
import time

import pytest


@pytest.mark.worker_timings(RQ_WORKER_CLASS="fork")  # only the forking worker has a work horse to kill
def test_work_horse_killed_mid_post_still_delivers_the_post_in_flight_once(toktra):
    toktra.begin(alerts=16)
    toktra.kill_mid_post(whole_worker=False, lands=False)
    fault_end = time.monotonic()
    problems, recovered = toktra.verdict(fault_end)
    assert not problems, toktra.report(problems, recovered)
