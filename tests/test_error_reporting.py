"""Sentry, when SENTRY_DSN is set: a web request's unexpected error and a failing job reach a Sentry-speaking
HTTP server, with no secret in them; without SENTRY_DSN nothing is sent."""
from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sentry_sdk

from app.error_reporting import init_error_reporting


def explode():
    """A job that fails (the tests' own)."""
    raise RuntimeError("the job broke while holding xoxb-9-secret-token")


@pytest.fixture
def sentry_server():
    """A local HTTP server that accepts Sentry envelopes; yields (dsn, list of received events)."""
    events = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            for line in body.splitlines()[1:]:
                try:
                    item = json.loads(line)
                except ValueError:
                    continue
                if "exception" in item:
                    events.append(item)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://publickey@127.0.0.1:{server.server_port}/1", events
    # Off again for the rest of the run, integrations included: a client without a DSN still runs the default
    # ones, whose spans (a Redis command's, say) would reach later tests' jobs as trace headers.
    sentry_sdk.init(dsn=None, default_integrations=False, auto_enabling_integrations=False)
    server.shutdown()


def test_without_a_dsn_nothing_is_started(app):
    assert init_error_reporting({"SENTRY_DSN": ""}) is False
    assert not sentry_sdk.get_client().is_active()


def test_unexpected_errors_of_requests_and_jobs_reach_sentry(app, client, sentry_server, run_worker, redis_conn):
    from jobs import enqueue

    dsn, events = sentry_server
    assert init_error_reporting({"SENTRY_DSN": dsn, "TOKTRA_ENV": "test"}) is True

    @app.get("/_test/boom")
    def boom():
        raise ValueError("request failed near xoxb-1-another-secret")

    response = client.get("/_test/boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    enqueue(explode, retry=None)
    run_worker()
    sentry_sdk.flush(timeout=10)

    kinds = {event["exception"]["values"][-1]["type"] for event in events}
    assert kinds == {"ValueError", "RuntimeError"}
    text = json.dumps(events)
    assert "xoxb-" not in text and "[redacted]" in text
    assert all(event["environment"] == "test" for event in events)
