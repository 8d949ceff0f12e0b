"""The enqueue -> worker -> job path with real RQ workers on the real Redis."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from rq import Retry, Worker
from rq.job import JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from app import create_app
from jobs import QueueUnavailable, enqueue
from tests.jobs_for_tests import always_fails, rename_org
from tests.conftest import TEST_REDIS_URL, fresh, make_overrides


def test_a_queued_job_runs_in_an_app_context_and_writes_to_the_database(app, org, queue, run_worker):
    job = enqueue(rename_org, org_id=org.id, name="Globex Renamed")
    assert job.get_status() == JobStatus.QUEUED
    run_worker()
    assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert job.return_value() == "Globex Renamed"
    assert fresh(org).name == "Globex Renamed"


def test_a_forking_worker_runs_jobs_too(app, org, queue, run_worker):
    job = enqueue(rename_org, org_id=org.id, name="Forked")
    run_worker(Worker)
    assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert fresh(org).name == "Forked"


def test_a_failing_job_is_scheduled_for_a_retry(app, org, queue, run_worker):
    job = enqueue(always_fails, org_id=org.id)
    run_worker()
    job.refresh()
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.retries_left == 2
    assert job.id in ScheduledJobRegistry(queue=queue)


def test_a_job_that_keeps_failing_ends_in_the_failed_registry_with_its_error(app, org, queue, run_worker):
    job = enqueue(always_fails, org_id=org.id, retry=Retry(max=1))
    run_worker()
    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert job.id in FailedJobRegistry(queue=queue)
    assert f"deliberate failure for org {org.id}" in job.latest_result().exc_string


def test_enqueue_says_so_when_redis_is_unreachable(migrated_database, encryption_key):
    app = create_app(make_overrides(migrated_database, encryption_key, REDIS_URL="redis://127.0.0.1:1/0"))
    with app.app_context(), pytest.raises(QueueUnavailable, match="the job queue is unreachable"):
        enqueue(rename_org, org_id=1, name="x")


@pytest.mark.parametrize("level", ["INFO", "WARNING"])
def test_the_worker_process_runs_queued_jobs_and_logs_at_log_level(app, org, queue, migrated_database, encryption_key,
                                                                   level):
    enqueue(rename_org, org_id=org.id, name="From the worker process")
    overrides = make_overrides(migrated_database, encryption_key)
    env = {
        **os.environ,
        "TOKTRA_ENV": "test",
        "DATABASE_URL": migrated_database,
        "REDIS_URL": TEST_REDIS_URL,
        "SECRET_KEY": overrides["SECRET_KEY"],
        "TOKTRA_ENCRYPTION_KEY": encryption_key,
        "RQ_BURST": "1",
        "LOG_LEVEL": level,
    }
    result = subprocess.run([sys.executable, "-m", "jobs.worker"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert fresh(org).name == "From the worker process"
    # RQ's per-job lines are INFO: written at LOG_LEVEL=INFO, left out at WARNING (RQ sets its loggers to INFO).
    assert ("Job OK" in result.stderr) is (level == "INFO")
    assert ("Successfully completed" in result.stderr) is (level == "INFO")


def test_healthz_reports_database_and_redis(client, redis_conn):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_healthz_is_503_when_redis_is_down(migrated_database, encryption_key):
    app = create_app(make_overrides(migrated_database, encryption_key, REDIS_URL="redis://127.0.0.1:1/0"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["redis"].startswith("error")


def test_healthz_is_503_when_the_database_is_down(encryption_key, redis_conn):
    app = create_app(make_overrides("postgresql://postgres@127.0.0.1:1/nothing", encryption_key))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["checks"]["database"].startswith("error")
    assert response.json["checks"]["redis"] == "ok"
