"""A Slack request's job, written directly (jobs.rq_writes), is the job RQ's Queue.enqueue writes."""
from __future__ import annotations

import datetime as dt
import pickle
import zlib

import pytest
from rq import Retry
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from app.slack.ingress.dedupe import CheckIn, Repeated
from jobs import DEFAULT_RETRY, describe, enqueue_checked_in
from tests.conftest import fresh
from tests.jobs_for_tests import always_fails, rename_org

# What a worker reads of a job, beyond its id and timestamps.
READ_BACK = ("func_name", "args", "kwargs", "instance", "origin", "description", "timeout", "result_ttl",
             "failure_ttl", "ttl", "meta", "retries_left", "retry_intervals", "number_of_retries",
             "enqueue_at_front", "enqueue_at_front_on_retry", "dependency_ids", "allow_dependency_failures",
             "success_callback", "failure_callback", "stopped_callback", "worker_name", "group_id",
             "started_at", "ended_at", "last_heartbeat", "repeats_left", "repeat_intervals")


def _open_check_in(key: str) -> CheckIn:
    """A request's check-in still waiting for its job (the acknowledgement's warm path)."""
    return CheckIn(key, version=b"0", first=None)


def _read_back(job: Job) -> dict:
    return {name: getattr(job, name) for name in READ_BACK} | {"status": job.get_status(refresh=False)}


@pytest.mark.parametrize("retry", [DEFAULT_RETRY, Retry(max=1, interval=5), None])
def test_a_job_written_directly_reads_back_as_the_one_queue_enqueue_writes(app, queue, redis_conn, retry):
    kwargs = {"org_id": 7, "name": "Globex ✓", "response_url": "https://hooks.slack.com/commands/T1/2/x"}
    before = dt.datetime.now(dt.timezone.utc)
    direct = Job.fetch(enqueue_checked_in(rename_org, _open_check_in("command:1"), retry=retry, **kwargs),
                       connection=redis_conn)
    by_rq = queue.enqueue(rename_org, kwargs=kwargs, retry=retry, description=describe(rename_org, kwargs))

    assert _read_back(direct) == _read_back(Job.fetch(by_rq.id, connection=redis_conn))
    assert direct.get_status() == JobStatus.QUEUED
    assert before <= direct.created_at == direct.enqueued_at <= dt.datetime.now(dt.timezone.utc)
    assert queue.job_ids == [direct.id, by_rq.id]
    assert queue.name in [q.name for q in queue.all(connection=redis_conn)]


def test_a_jobs_arguments_are_stored_as_zlib_data_whatever_their_size(app, queue, redis_conn):
    """RQ reads a job's data with zlib.decompress (and takes undecodable data as it is): the data written
    directly must be real zlib data, for a few bytes of arguments as for a long text typed in a modal."""
    for text in ("", "why: " + "a budget for the evaluation runs, " * 2000):
        job_id = enqueue_checked_in(rename_org, _open_check_in(f"command:{len(text)}"), org_id=7, name=text)
        stored = redis_conn.hget(f"rq:job:{job_id}", "data")
        assert pickle.loads(zlib.decompress(stored)) == ("tests.jobs_for_tests.rename_org", None, (),
                                                         {"org_id": 7, "name": text})
        assert Job.fetch(job_id, connection=redis_conn).kwargs == {"org_id": 7, "name": text}
        if text:
            assert len(stored) < len(text) / 20


def test_a_job_queued_at_the_front_runs_before_the_backlog(app, org, queue, redis_conn):
    backlog = queue.enqueue(rename_org, kwargs={"org_id": org.id, "name": "Backlog"})
    urgent = enqueue_checked_in(rename_org, _open_check_in("action:1"), at_front=True, retry=None,
                                org_id=org.id, name="Urgent")
    assert queue.job_ids == [urgent, backlog.id]


def test_a_worker_runs_a_directly_written_job_and_retries_it_as_rq_would(app, org, queue, redis_conn, run_worker):
    renamed = enqueue_checked_in(rename_org, _open_check_in("command:2"), org_id=org.id, name="Renamed in Slack")
    failing = enqueue_checked_in(always_fails, _open_check_in("command:3"), org_id=org.id)
    run_worker()

    assert fresh(org).name == "Renamed in Slack"
    assert Job.fetch(renamed, connection=redis_conn).get_status() == JobStatus.FINISHED
    failed = Job.fetch(failing, connection=redis_conn)
    assert failed.get_status() == JobStatus.SCHEDULED
    assert failed.retries_left == DEFAULT_RETRY.max - 1
    assert failed.id in ScheduledJobRegistry(queue=queue)


def test_a_repeated_delivery_writes_no_second_job(app, org, queue, redis_conn):
    enqueue_checked_in(rename_org, _open_check_in("command:4"), org_id=org.id, name="Once")
    with pytest.raises(Repeated):
        enqueue_checked_in(rename_org, _open_check_in("command:4"), org_id=org.id, name="Twice")
    assert queue.count == 1
    assert redis_conn.keys("rq:job:*") == [f"rq:job:{queue.job_ids[0]}".encode()]
