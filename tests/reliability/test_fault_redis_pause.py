"""Redis frozen (SIGSTOP) for 20 s while alerts are being delivered and new ones come in."""
import time

PAUSE_SECONDS = 20


def test_redis_paused_20s_loses_nothing_and_resumes_within_30s(toktra):
    toktra.begin(alerts=12)
    toktra.redis.pause()
    paused_at = time.monotonic()
    during = toktra.fire(6)  # the API keeps accepting alerts while the queue does not answer
    refused = [f"alert {f.number} answered {f.status} while Redis was paused" for f in during if not f.accepted]
    time.sleep(max(0.0, PAUSE_SECONDS - (time.monotonic() - paused_at)))  # the outage's length
    toktra.redis.resume()
    fault_end = time.monotonic()
    problems, recovered = toktra.verdict(fault_end, problems=refused)
    assert not problems, toktra.report(problems, recovered)
