"""A 429 from Slack re-schedules the job after Retry-After instead of sleeping in the worker."""
from __future__ import annotations

import datetime as dt
import functools
import logging

from rq import get_current_job

from app.extensions import get_queue
from app.slack.client.web import SlackRateLimited
from jobs import DEFAULT_RETRY

log = logging.getLogger(__name__)


def reschedule_on_rate_limit(job_function):
    """Decorate a job: on SlackRateLimited, enqueue the same call again after Retry-After seconds."""

    @functools.wraps(job_function)
    def wrapper(*args, **kwargs):
        try:
            return job_function(*args, **kwargs)
        except SlackRateLimited as exc:
            job = get_current_job()
            if job is None:
                raise
            get_queue(job.origin).enqueue_in(dt.timedelta(seconds=exc.retry_after), job.func_name,
                                              args=job.args, kwargs=job.kwargs, retry=DEFAULT_RETRY)
            log.info("%s rate limited by Slack (%s); rescheduled in %ss", job.func_name, exc.method, exc.retry_after)
            return f"rescheduled in {exc.retry_after}s"

    return wrapper
