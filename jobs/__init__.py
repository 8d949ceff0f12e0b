"""RQ jobs and the one helper that queues them."""
from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from typing import Callable

import sqlalchemy as sa
from redis.exceptions import RedisError
from rq import Retry
from rq.job import Job

from app.extensions import get_queue, note_redis_down, redis_known_down
from jobs.rq_writes import job_writes

# Delays between attempts when a job raises; the worker's scheduler runs them.
DEFAULT_RETRY = Retry(max=3, interval=[10, 60, 300])


class QueueUnavailable(RuntimeError):
    """Redis could not be reached, so the job was not queued."""


def enqueue(func: Callable, /, *, queue: str = "default", retry: Retry | None = DEFAULT_RETRY,
            at: dt.datetime | None = None, **kwargs) -> Job:
    """Queue func(**kwargs) (primitives only), now or at `at`; raise QueueUnavailable if Redis is down.

    RQ's own options (job_timeout, result_ttl, job_id...) pass through as keyword arguments too.
    """
    options = {name: kwargs.pop(name) for name in list(kwargs) if name in _RQ_OPTIONS}
    options.setdefault("description", describe(func, kwargs))
    with _queue_errors():
        if at is not None:
            return get_queue(queue).enqueue_at(at, func, kwargs=kwargs, retry=retry, **options)
        return get_queue(queue).enqueue(func, kwargs=kwargs, retry=retry, **options)


def enqueue_checked_in(func: Callable, check_in, /, *, queue: str = "default", retry: Retry | None = DEFAULT_RETRY,
                       at_front: bool = False, **kwargs) -> str:
    """Queue func(**kwargs) for a Slack request, in the round trip of its check-in; returns the job's id.

    check_in (app.slack.ingress.dedupe.CheckIn) writes the job only if the delivery is a first one and
    the installation it was authorized with is still current. The job is RQ's own, written directly
    (jobs.rq_writes), since building it through Queue.enqueue cost the acknowledgement most of its time.
    """
    job_id, commands = job_writes(f"{func.__module__}.{func.__qualname__}", kwargs, queue=queue, retry=retry,
                                  description=describe(func, kwargs), at_front=at_front)
    with _queue_errors():
        check_in.queue_with(commands)
    return job_id


@contextmanager
def _queue_errors():
    """Turn Redis being down (now, or already earlier in this request) into QueueUnavailable."""
    if redis_known_down():  # this request already waited on Redis once; Slack's 3 seconds are precious
        raise QueueUnavailable("the job queue is unreachable (no answer earlier in this request)")
    try:
        yield
    except RedisError as exc:
        note_redis_down()
        raise QueueUnavailable(f"the job queue is unreachable ({type(exc).__name__})") from exc


def describe(func: Callable, kwargs: dict) -> str:
    """What the worker logs for a job: its function and its numeric ids only.

    RQ's default shows every argument, and a response_url is a credential for 30 minutes while typed text
    (a reason, a command's arguments) may be private; it also costs an ack more to format.
    """
    ids = ", ".join(f"{name}={value}" for name, value in sorted(kwargs.items())
                    if isinstance(value, int) and not isinstance(value, bool))
    return f"{func.__module__}.{func.__qualname__}({ids})"


def enqueue_durably(func: Callable, /, *, check_in=None, **kwargs) -> bool:
    """Queue func(**kwargs); when Redis is down, keep the job in PostgreSQL for the dispatcher to queue later.

    Returns False when it had to be deferred. Raises only if PostgreSQL is unreachable too.
    """
    try:
        if check_in is None:
            enqueue(func, **kwargs)
        else:
            enqueue_checked_in(func, check_in, **kwargs)
        return True
    except QueueUnavailable:
        from app.extensions import db
        from app.models import DeferredJob

        db.session.add(DeferredJob(func=f"{func.__module__}.{func.__qualname__}", kwargs=json.dumps(kwargs)))
        db.session.commit()
        return False


def queue_deferred_jobs(limit: int = 500) -> int:
    """Queue the jobs kept in PostgreSQL while Redis was down (oldest first); returns how many."""
    from app.extensions import db
    from app.models import DeferredJob

    rows = db.session.scalars(sa.select(DeferredJob).order_by(DeferredJob.id).limit(limit)
                              .with_for_update(skip_locked=True)).all()
    for row in rows:
        get_queue("default").enqueue(row.func, kwargs=json.loads(row.kwargs), retry=DEFAULT_RETRY)
        db.session.delete(row)
    db.session.commit()
    return len(rows)


def enqueue_in(seconds: float, func: Callable, /, **kwargs) -> Job:
    """Queue func(**kwargs) to run after `seconds` (the worker's RQ scheduler releases it)."""
    at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=max(seconds, 0))
    return enqueue(func, at=at, **kwargs)


_RQ_OPTIONS = {"job_timeout", "result_ttl", "ttl", "failure_ttl", "job_id", "description", "depends_on", "meta",
               "at_front", "on_success", "on_failure"}
