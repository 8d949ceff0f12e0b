"""Redis restarted (losing everything in it) in the middle of a delivery."""
import time


def test_redis_restart_mid_delivery_loses_nothing_and_resumes_within_30s(toktra):
    toktra.begin(alerts=16)
    toktra.redis.restart(down_seconds=3)
    fault_end = time.monotonic()
    after = toktra.fire(4)  # intake right after the restart is accepted too
    refused = [f"alert {f.number} answered {f.status} after the restart" for f in after if not f.accepted]
    problems, recovered = toktra.verdict(fault_end, problems=refused)
    assert not problems, toktra.report(problems, recovered)
