"""PostgreSQL down: the API answers 503 with Retry-After and a JSON error, the dashboard a friendly 503 page.

The test runs its own PostgreSQL cluster on another loopback port and stops it; the shared one is never touched.
"""
from __future__ import annotations

import contextlib
import glob
import html
import os
import shutil
import socket
import subprocess
import tempfile

import psycopg
import pytest

from tests.conftest import TEST_PASSWORD, FreshContextClient, csrf_token_from, make_overrides

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateCluster:
    """A throwaway PostgreSQL cluster in a temporary directory, run as the postgres user when we are root."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="toktra-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, tool: str, *args: str) -> None:
        command = [os.path.join(PG_BIN[-1], tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        """Create the cluster (trust auth, no fsync: it lives for one test)."""
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        """Start it on its own port, listening on 127.0.0.1 only, and wait until it answers."""
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l", os.path.join(self.dir, "log"), "-w", "start")

    def stop(self) -> None:
        """Stop it at once, as a crash or a restart would."""
        self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        """Stop it if it runs, and delete its files."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster():
    """A private PostgreSQL cluster, started; removed afterwards."""
    if not PG_BIN:
        pytest.skip("PostgreSQL's server binaries are not installed")
    private = PrivateCluster()
    try:
        private.init()
        private.start()
        yield private
    finally:
        private.remove()


@pytest.fixture
def outage_app(cluster, encryption_key):
    """An app on the private cluster, migrated, with an admin and an API key: (app, cluster, key, admin email)."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.services.accounts import create_api_key, create_organization, create_user

    with psycopg.connect(cluster.url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE toktra")
    app = create_app(make_overrides(cluster.url.rsplit("/", 1)[0] + "/toktra", encryption_key))
    app.test_client_class = FreshContextClient
    with app.app_context():
        upgrade()
        org = create_organization("Globex", None, 80, "UTC")
        create_user(org, "ada@globex.example", "Ada Admin", "admin", TEST_PASSWORD)
        key = create_api_key(org, "tests")[1]
        db.session.remove()
    yield app, cluster, key
    with app.app_context():
        db.engine.dispose()


def test_with_the_database_down_the_api_answers_503_with_retry_after_then_recovers(outage_app):
    app, cluster, key = outage_app
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/budget", headers=headers).status_code == 200

    cluster.stop()
    calls = [("get", "/api/v1/budget", None), ("get", "/api/v1/usage/summary", None),
             ("post", "/api/v1/usage", {"events": []}), ("get", "/api/v1/alerts", None),
             ("post", "/api/v1/alerts", {"severity": "high", "policy": "P", "title": "T"})]
    for method, path, body in calls:
        response = client.open(path, method=method.upper(), headers=headers, json=body)
        assert response.status_code == 503, (path, response.get_data(as_text=True))
        assert response.headers["Retry-After"].isdigit()
        error = response.get_json()["error"]
        assert error["status"] == 503
        assert error["message"] == ("Toktra's database is not answering right now; nothing was changed. "
                                    "Please retry shortly.")
    assert client.get("/healthz").status_code == 503

    cluster.start()
    assert client.get("/api/v1/budget", headers=headers).status_code == 200


def test_with_the_database_down_dashboard_pages_show_a_friendly_503_page(outage_app):
    app, cluster, _ = outage_app
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    signed_in = client.post("/login", data={"email": "ada@globex.example", "password": TEST_PASSWORD,
                                            "csrf_token": token})
    assert signed_in.status_code == 302

    cluster.stop()
    for path in ("/", "/alerts", "/reimbursements/approvals"):
        page = client.get(path)
        assert page.status_code == 503, path
        assert page.headers["Retry-After"].isdigit()
        text = html.unescape(page.get_data(as_text=True))
        assert "Temporarily unavailable" in text
        assert "Toktra's database is not answering right now" in text
        assert "Something went wrong" not in text

    signed_out = app.test_client()
    token = csrf_token_from(signed_out.get("/login").get_data(as_text=True))  # the form needs no database
    attempt = signed_out.post("/login", data={"email": "ada@globex.example", "password": TEST_PASSWORD,
                                              "csrf_token": token})
    assert attempt.status_code == 503
    assert "Temporarily unavailable" in attempt.get_data(as_text=True)

    cluster.start()
    assert client.get("/").status_code == 200
