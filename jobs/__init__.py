"""RQ jobs and the one helper that queues them."""
from __future__ import annotations

from redis.exceptions import RedisError
from rq import Retry
from rq.job import Job

from app.extensions import get_queue, note_redis_down, redis_known_down

# Delays between attempts when a job raises; the worker's scheduler runs them.
DEFAULT_RETRY = Retry(max=3, interval=[10, 60, 300])


class QueueUnavailable(RuntimeError):
    """Redis could not be reached, so the job was not queued."""


def enqueue(func, *args, queue: str = "default", retry: Retry | None = DEFAULT_RETRY, **options) -> Job:
    """Queue func(*args) (primitives only) with retries; raise QueueUnavailable if Redis is down."""
    if redis_known_down():  # this request already waited on Redis once; Slack's 3 seconds are precious
        raise QueueUnavailable("the job queue is unreachable (no answer earlier in this request)")
    try:
        return get_queue(queue).enqueue(func, args=args, retry=retry, **options)
    except RedisError as exc:
        note_redis_down()
        raise QueueUnavailable(f"the job queue is unreachable ({type(exc).__name__})") from exc


def enqueue_in(seconds: float, func, *args, queue: str = "default", retry: Retry | None = DEFAULT_RETRY) -> Job:
    """Queue func(*args) to run after `seconds` (the worker's scheduler releases it)."""
    import datetime as dt

    try:
        return get_queue(queue).enqueue_in(dt.timedelta(seconds=max(seconds, 0)), func, args=args, retry=retry)
    except RedisError as exc:
        raise QueueUnavailable(f"the job queue is unreachable ({type(exc).__name__})") from exc
