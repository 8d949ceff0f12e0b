"""A worker stopped as Redis goes away stops, instead of waiting for Redis forever."""
import signal
import time

from processes import wait_until


def test_a_worker_stopped_together_with_redis_exits(toktra):
    """Stopping a deployment (or `bin/serve`) ends Redis and signals the worker at once, and a supervisor
    repeats its SIGTERM: RQ's stop then fails to reach Redis, which the worker must not take for an outage
    to wait out, while RQ ignores a second SIGTERM that comes within a second of the first."""
    toktra.worker.start()
    assert wait_until(lambda: "Listening on" in toktra.worker.log_tail(200), 30), toktra.worker.log_tail()
    toktra.redis.kill()
    toktra.worker.main.signal(signal.SIGTERM)
    time.sleep(0.3)  # the gap before the supervisor repeats itself (within RQ's second), not a wait
    toktra.worker.main.signal(signal.SIGTERM)
    assert wait_until(lambda: toktra.worker.proc.poll() is not None, 20), \
        "the worker was still running 20 s after SIGTERM:\n" + toktra.worker.log_tail()
