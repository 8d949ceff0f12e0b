"""Prometheus metrics: what each process counts, what /metrics reads live, and the hooks that count.

Counters and histograms are recorded where things happen (the /slack/events boundary, every job, every
Slack Web API and ITSM call). With PROMETHEUS_MULTIPROC_DIR set (gunicorn's several workers, or web and
worker on one machine) prometheus-client keeps them in files there and /metrics adds them up. Queue
depth and age and the outbox's deliveries by state are read from Redis and PostgreSQL at each scrape.
"""
from __future__ import annotations

import hmac
import os
import time
from functools import cache

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram,
                               generate_latest, multiprocess)
from prometheus_client.core import GaugeMetricFamily
from redis.exceptions import RedisError
from rq import Queue

bp = Blueprint("metrics", __name__)

# Slack wants an answer within 3 seconds: the buckets are finest below that.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
CALL_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

SLACK_REQUESTS = Counter("toktra_slack_requests", "Requests to /slack/events by kind and HTTP status",
                         ["kind", "status"])
SLACK_ACK_SECONDS = Histogram("toktra_slack_ack_seconds", "Time to acknowledge a request to /slack/events",
                              ["kind"], buckets=ACK_BUCKETS)
JOBS = Counter("toktra_jobs", "Jobs run by name and outcome (ok, failed)", ["job", "outcome"])
JOB_SECONDS = Histogram("toktra_job_seconds", "Job run time by name", ["job"], buckets=JOB_BUCKETS)
SLACK_API_CALLS = Counter("toktra_slack_api_calls", "Slack Web API calls by method and outcome (ok, or Slack's "
                          "error code: ratelimited for a 429)", ["method", "outcome"])
SLACK_API_SECONDS = Histogram("toktra_slack_api_seconds", "Slack Web API call time by method", ["method"],
                              buckets=CALL_BUCKETS)
ITSM_CALLS = Counter("toktra_itsm_calls", "ServiceNow/Jira HTTP calls by system, method and outcome (the HTTP "
                     "status, timeout or connection_error)", ["system", "method", "outcome"])
ITSM_SECONDS = Histogram("toktra_itsm_seconds", "ServiceNow/Jira call time by system", ["system"],
                         buckets=CALL_BUCKETS)


def slack_request_kind(body: bytes, content_type: str) -> str:
    """event, command or interaction: what a /slack/events body is, read without parsing it."""
    if "json" in content_type:
        return "event"
    form = b"&" + body[:4096]
    if b"&payload=" in form:
        return "interaction"
    if b"&command=" in form:
        return "command"
    return "other"


def start_timer() -> None:
    """Before a request: note when a /slack/events request started."""
    if request.path == "/slack/events":
        g.toktra_ack_started = time.perf_counter()


def count_slack_request(response: Response) -> Response:
    """After a request: count a /slack/events request and how long its acknowledgement took."""
    started = g.pop("toktra_ack_started", None)
    if started is not None:
        kind = slack_request_kind(request.get_data(cache=True), request.content_type or "")
        count, seconds = _slack_request_series(kind, response.status_code)
        count.inc()
        seconds.observe(time.perf_counter() - started)
    return response


@cache
def _slack_request_series(kind: str, status: int) -> tuple:
    # labels() takes a lock and builds its key on every call; the kinds and statuses are a handful.
    return SLACK_REQUESTS.labels(kind, str(status)), SLACK_ACK_SECONDS.labels(kind)


def init_app(app: Flask) -> None:
    """Count /slack/events requests at the Flask boundary and serve GET /metrics."""
    app.before_request(start_timer)
    app.after_request(count_slack_request)
    app.register_blueprint(bp)


def observe_job(name: str, started: float, failed: bool) -> None:
    """Count one job run (the worker's AppContextJob calls this)."""
    JOBS.labels(name, "failed" if failed else "ok").inc()
    JOB_SECONDS.labels(name).observe(time.perf_counter() - started)


def observe_slack_call(method: str, started: float, outcome: str) -> None:
    """Count one Slack Web API call."""
    SLACK_API_CALLS.labels(method, outcome).inc()
    SLACK_API_SECONDS.labels(method).observe(time.perf_counter() - started)


def observe_itsm_call(system: str, method: str, started: float, outcome: str) -> None:
    """Count one ServiceNow or Jira call."""
    ITSM_CALLS.labels(system, method, outcome).inc()
    ITSM_SECONDS.labels(system).observe(time.perf_counter() - started)


def _recorded() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


class LiveCollector:
    """Queue depth and age, and the outbox by state, read at each scrape (metric families, not Gauge objects:
    in multiprocess mode a Gauge would be written to the shared files and counted again)."""

    def collect(self):
        """Yield the live gauges; those whose source does not answer are left out."""
        from app.extensions import db, redis_connection
        from app.heartbeat import now, oldest_job_age
        from app.models.outbox import STATES
        from app.services.delivery_health import live_state_counts

        depth = GaugeMetricFamily("toktra_queue_jobs", "Jobs waiting in each RQ queue", labels=["queue"])
        age = GaugeMetricFamily("toktra_queue_oldest_job_seconds",
                                "How long the oldest waiting job has waited (0 when empty)", labels=["queue"])
        try:
            conn = redis_connection(fast=True)
            for name in current_app.config["RQ_QUEUES"]:
                depth.add_metric([name], Queue(name, connection=conn).count)
                age.add_metric([name], oldest_job_age(conn, name, now()) or 0)
            yield depth
            yield age
        except RedisError:
            pass
        try:
            counts, oldest = live_state_counts()
        except sa.exc.SQLAlchemyError:
            db.session.rollback()
            return
        states = GaugeMetricFamily("toktra_outbox_messages", "Outbox messages (deliveries to Slack) by state",
                                   labels=["state"])
        for state in STATES:
            states.add_metric([state], counts.get(state, 0))
        yield states
        yield GaugeMetricFamily("toktra_outbox_oldest_pending_seconds", "Age of the oldest message not yet sent "
                                "(pending, sending or posting; 0 when none)", value=oldest)


def _live() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LiveCollector())
    return registry


@bp.get("/metrics")
def metrics():
    """Prometheus metrics, for a scraper holding METRICS_TOKEN (as a bearer token)."""
    from app.errors import error_response

    token = current_app.config["METRICS_TOKEN"]
    if not token:
        return error_response(404, "Metrics are off: set METRICS_TOKEN and scrape /metrics with "
                                   "`Authorization: Bearer <METRICS_TOKEN>`.")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return error_response(401, "Send the metrics token as `Authorization: Bearer <METRICS_TOKEN>`.")
    body = generate_latest(_recorded()) + generate_latest(_live())
    return Response(body, content_type=CONTENT_TYPE_LATEST)
