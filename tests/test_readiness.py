"""/readyz with a real worker process: red when it stops or dies, green when it returns; the admin banner."""
from __future__ import annotations

import os
import signal
import time

import pytest

from tests.conftest import TEST_REDIS_URL
from tests.reliability.processes import WorkerProcess, wait_until


def _ready(client) -> dict:
    response = client.get("/readyz")
    body = response.get_json()
    assert (response.status_code == 200) == (body["status"] == "ready")
    return body


@pytest.fixture
def worker(app, redis_conn, migrated_database, encryption_key, tmp_path):
    """`python -m jobs.worker` as a subprocess on the tests' database and Redis, beating often."""
    env = {**os.environ, "TOKTRA_ENV": "test", "DATABASE_URL": migrated_database, "REDIS_URL": TEST_REDIS_URL,
           "SECRET_KEY": "readiness-test", "TOKTRA_ENCRYPTION_KEY": encryption_key,
           "WORKER_HEARTBEAT_SECONDS": "0.2", "OUTBOX_TICK_SECONDS": "0.2"}
    process = WorkerProcess(env, tmp_path / "worker.log")
    yield process
    process.close()


def test_readyz_without_a_worker_says_what_is_missing(client, redis_conn):
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["checks"]["database"] == {"ok": True, "detail": "ok"}
    assert body["checks"]["redis"] == {"ok": True, "detail": "ok"}
    assert set(body["failed"]) == {"worker", "dispatcher", "scheduler"}
    assert body["checks"]["worker"]["detail"] == "no worker is running (none has ever reported)"
    assert "delayed retries would never run" in body["checks"]["scheduler"]["detail"]


def test_readyz_goes_red_when_the_worker_stops_and_green_when_it_returns(app, client, worker):
    worker.start()
    body = wait_until(lambda: (b := _ready(client))["status"] == "ready" and b, 60)
    assert body, f"never ready: {_ready(client)}\n{worker.log_tail()}"
    assert body["checks"]["worker"]["detail"].startswith("ok (last heartbeat")

    worker.main.signal(signal.SIGTERM)  # a clean stop removes its heartbeat at once
    assert worker.proc.wait(timeout=30) == 0
    body = _ready(client)
    assert body["status"] == "not ready"
    assert {"worker", "dispatcher"} <= set(body["failed"])

    worker.start()
    assert wait_until(lambda: _ready(client)["status"] == "ready", 60), worker.log_tail()

    worker.kill()  # SIGKILL: its last heartbeat stays until it is too old
    max_age = app.config["WORKER_HEARTBEAT_MAX_AGE"]
    app.config["HEALTH_CLOCK"] = lambda: time.time() + max_age + 5
    body = _ready(client)
    assert {"worker", "dispatcher"} <= set(body["failed"])
    assert "no worker alive: the last heartbeat was" in body["checks"]["worker"]["detail"]
    assert f"(limit {max_age:.0f} s)" in body["checks"]["worker"]["detail"]


def test_readyz_reports_a_job_waiting_too_long(app, client, redis_conn):
    from app.heartbeat import beat
    from jobs import enqueue

    enqueue(print, retry=None)
    assert "queue" not in _ready(client)["failed"]
    limit = app.config["QUEUE_MAX_WAIT_SECONDS"]
    app.config["HEALTH_CLOCK"] = lambda: time.time() + limit + 10
    beat(redis_conn, "worker", "elsewhere:1", at=time.time() + limit + 10)
    body = _ready(client)
    assert "queue" in body["failed"]
    assert "worker" not in body["failed"]
    assert "the oldest in default for" in body["checks"]["queue"]["detail"]


def test_admins_see_a_banner_while_no_worker_is_alive(client, login, admin, member, redis_conn):
    from app.heartbeat import beat

    login(admin)
    page = client.get("/").get_data(as_text=True)
    assert "No Toktra worker is running" in page

    beat(redis_conn, "worker")
    assert "No Toktra worker is running" not in client.get("/").get_data(as_text=True)

    redis_conn.flushdb()
    client.post("/logout", data={})
    member_client = client.application.test_client()
    token_page = member_client.get("/login").get_data(as_text=True)
    from tests.conftest import TEST_PASSWORD, csrf_token_from

    member_client.post("/login", data={"email": member.email, "password": TEST_PASSWORD,
                                       "csrf_token": csrf_token_from(token_page)})
    page = member_client.get("/").get_data(as_text=True)
    assert member.name in page and "No Toktra worker is running" not in page
