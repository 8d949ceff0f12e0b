"""Fixtures for the fault tests: one private Redis and PostgreSQL per run, a fresh Toktra per test."""
from __future__ import annotations

import uuid

import pytest

from harness import WORKER_TIMINGS, Toktra, copy_database, migrate_template
from processes import PrivatePostgres, PrivateRedis


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory):
    """A redis-server of our own (never the shared one on 6379)."""
    redis = PrivateRedis(tmp_path_factory.mktemp("redis"))
    redis.start()
    yield redis
    redis.close()


@pytest.fixture(scope="session")
def private_postgres():
    """A PostgreSQL cluster of our own (never the shared one on 5432) with a migrated template database."""
    postgres = PrivatePostgres()
    postgres.start()
    postgres.template = migrate_template(postgres)
    yield postgres
    postgres.close()


@pytest.fixture
def toktra(request, private_redis, private_postgres, tmp_path):
    """Toktra on a fresh database and an empty Redis, its worker not started yet; everything ended afterwards.

    A test marked `worker_timings(...)` runs its worker with those settings on top of the defaults.
    """
    private_redis.flush()
    database = copy_database(private_postgres, private_postgres.template, f"rel_{uuid.uuid4().hex[:10]}")
    marker = request.node.get_closest_marker("worker_timings")
    timings = {**WORKER_TIMINGS, **marker.kwargs} if marker else None
    service = Toktra(private_redis, private_postgres, database, tmp_path, timings=timings)
    yield service
    service.close()
    # A test that failed half-way leaves its fault behind: undo it for the next test.
    if private_redis.paused:
        private_redis.resume()
    if not private_redis.ping():
        private_redis.kill()
        private_redis.start()
    if not private_postgres.running():
        private_postgres.start()
    private_postgres.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
