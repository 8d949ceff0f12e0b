"""Fixtures: a throwaway PostgreSQL database per run, Redis db 14, the app, clients, a real RQ worker."""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import uuid

import psycopg
import pytest
import redis as redis_lib
from cryptography.fernet import Fernet
from flask.globals import _cv_app
from flask.testing import FlaskClient

# Tests build the app in "test" mode; production checks are exercised explicitly in test_config.py.
os.environ["TOKTRA_ENV"] = "test"

PG_ADMIN_URL = os.environ.get("TOKTRA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_REDIS_URL = os.environ.get("TOKTRA_TEST_REDIS", "redis://127.0.0.1:6379/14")
TEST_PASSWORD = "correct horse battery"


def _pg_url(dbname: str) -> str:
    return re.sub(r"/[^/]*$", f"/{dbname}", PG_ADMIN_URL)


@contextlib.contextmanager
def throwaway_database(prefix: str):
    """An empty PostgreSQL database that is dropped afterwards; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_database():
    """An empty PostgreSQL database for this test run."""
    with throwaway_database("toktra_test") as url:
        yield url


@pytest.fixture(scope="session")
def encryption_key() -> str:
    """The Fernet key the test app encrypts secrets with."""
    return Fernet.generate_key().decode()


def make_overrides(database_url: str, encryption_key: str, **extra) -> dict:
    """Config overrides for a test app on database_url."""
    from app.config import normalize_database_url

    return {
        "TESTING": True,
        "SECRET_KEY": secrets.token_urlsafe(16),
        "TOKTRA_ENCRYPTION_KEY": encryption_key,
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
        "REDIS_URL": TEST_REDIS_URL,
        "PUBLIC_BASE_URL": "http://toktra.test",
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "RATELIMIT_KEY_PREFIX": f"limits-{uuid.uuid4().hex[:8]}",  # each test app counts failures afresh
        # Tests about pacing pass their own clock to the outbox; the rest need not wait a second per post.
        "SLACK_CHANNEL_PACE_MS": 0,
        **extra,
    }


@pytest.fixture(scope="session")
def migrated_database(pg_database, encryption_key):
    """The run's database, upgraded to the latest migration once."""
    from flask_migrate import upgrade

    from app import create_app

    app = create_app(make_overrides(pg_database, encryption_key))
    with app.app_context():
        upgrade()
    return pg_database


@pytest.fixture
def app(migrated_database, encryption_key):
    """A test app on the migrated PostgreSQL database; every table is emptied after the test."""
    from app import create_app
    from app.extensions import db
    from jobs.context import bind_app

    app = create_app(make_overrides(migrated_database, encryption_key))
    bind_app(app)
    ctx = app.app_context()
    ctx.push()
    yield app
    db.session.remove()
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    db.engine.dispose()
    ctx.pop()
    bind_app(None)


class FreshContextClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    The test itself holds an app context; without this, requests would share its `g` (Flask-Login's
    cached user, Flask-WTF's token) and its database session.
    """

    def open(self, *args, **kwargs):
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


@pytest.fixture
def client(app):
    """A test client (cookies kept between requests)."""
    app.test_client_class = FreshContextClient
    return app.test_client()


def fresh(obj):
    """obj reloaded from the database (after a request changed it)."""
    from app.extensions import db

    db.session.refresh(obj)
    return obj


@pytest.fixture
def runner(app):
    """A CLI runner for `flask toktra ...` commands."""
    return app.test_cli_runner()


@pytest.fixture
def redis_conn():
    """The tests' Redis database, emptied before and after each test."""
    conn = redis_lib.Redis.from_url(TEST_REDIS_URL)
    conn.flushdb()
    yield conn
    conn.flushdb()


@pytest.fixture
def queue(app, redis_conn):
    """The app's default RQ queue on the tests' Redis database."""
    from app.extensions import get_queue

    return get_queue()


@pytest.fixture
def run_worker(app, redis_conn):
    """Run a real RQ worker in burst mode over the app's queues, with the outbox dispatcher's rounds in
    between (as the worker process runs them), until nothing is queued or due; returns the worker."""
    from rq import SimpleWorker

    from jobs.outbox import dispatch_due
    from jobs.worker import build_worker

    def run(worker_class=SimpleWorker, with_scheduler=False):
        worker = build_worker(app, worker_class)
        for _ in range(50):
            worker.work(burst=True, with_scheduler=with_scheduler)
            if not dispatch_due():
                break
        return worker

    return run


# --- people -----------------------------------------------------------------------------------

@pytest.fixture
def org(app):
    """An organization with a $10,000 budget and an 80% alert threshold."""
    from decimal import Decimal

    from app.services.accounts import create_organization

    return create_organization("Globex", Decimal("10000"), 80, "UTC")


@pytest.fixture
def make_user(org):
    """Create a user in org: make_user("alice@globex.example", role="member")."""
    from app.services.accounts import create_user

    def make(email, name=None, role="member", password=TEST_PASSWORD, manager=None, organization=None):
        return create_user(organization or org, email, name or email.split("@")[0].title(), role, password, manager)

    return make


@pytest.fixture
def admin(make_user):
    """An admin of org."""
    return make_user("ada@globex.example", "Ada Admin", role="admin")


@pytest.fixture
def member(make_user):
    """A member of org."""
    return make_user("alice@globex.example", "Alice Smith", role="member")


@pytest.fixture
def api_key(org):
    """A live API key for org (the full key string)."""
    from app.services.accounts import create_api_key

    return create_api_key(org, "tests")[1]


@pytest.fixture
def api(client, api_key):
    """Call the REST API with org's key: api("get", "/usage/summary")."""

    def call(method, path, **kwargs):
        headers = {"Authorization": f"Bearer {api_key}", **kwargs.pop("headers", {})}
        return client.open(f"/api/v1{path}", method=method.upper(), headers=headers, **kwargs)

    return call


def csrf_token_from(html: str) -> str:
    """The CSRF token in a rendered form."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


@pytest.fixture
def login(client):
    """Sign client in through the real form: login(user) or login(email, password)."""

    def do_login(user_or_email, password=TEST_PASSWORD):
        email = getattr(user_or_email, "email", user_or_email)
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        return client.post("/login", data={"email": email, "password": password, "csrf_token": token})

    return do_login


# --- Slack ------------------------------------------------------------------------------------

SIGNING_SECRET = "test-signing-secret"


@pytest.fixture
def slack(app):
    """The Slack emulator, started, with the app's SLACK_API_URL pointing at it."""
    from devtools.slack_emulator import SlackEmulator

    emulator = SlackEmulator().start()
    app.config["SLACK_API_URL"] = emulator.url
    yield emulator
    emulator.stop()


@pytest.fixture
def signed(client):
    """Send really signed Slack requests to the app: signed.command(...), signed.event(...), signed.action(...)."""
    from devtools.slack_sender import SlackSender

    return SlackSender(SIGNING_SECRET, client)


@pytest.fixture
def workspace(org, slack, admin):
    """Slack workspace T0001 ("Acme") installed for org, known to the emulator with its bot token."""
    from app.models import SlackWorkspace
    from app.extensions import db

    team = slack.add_team("T0001", "Acme")
    row = SlackWorkspace(org_id=org.id, team_id=team.id, team_name=team.name, app_id=team.app_id,
                         bot_id=team.bot_id, bot_user_id=team.bot_user_id, bot_token=team.bot_token,
                         scopes=team.scope, installed_by_id=admin.id)
    db.session.add(row)
    db.session.commit()
    return row
