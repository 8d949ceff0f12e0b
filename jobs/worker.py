"""The worker process: `python -m jobs.worker` (Procfile `worker`)."""
from __future__ import annotations

import logging
import os
import time

import redis
from prometheus_client import start_http_server
from rq import Queue, SimpleWorker, Worker
from rq.exceptions import StopRequested
from rq.worker import HerokuWorker

from app import create_app
from app.extensions import db, redis_connection
from app.heartbeat import HeartbeatThread
from jobs.context import AppContextJob, bind_app
from jobs.outbox import Dispatcher

log = logging.getLogger(__name__)


def build_worker(app, worker_class=Worker) -> Worker:
    """An RQ worker on the app's queues whose jobs run in the app's context."""
    bind_app(app)
    with app.app_context():
        connection = redis_connection(fast=False)
    queues = [Queue(name, connection=connection) for name in app.config["RQ_QUEUES"]]
    return worker_class(queues, connection=connection, job_class=AppContextJob)


def _fresh_pool_in_child(app) -> None:
    # A forked work-horse must not reuse the parent's database connections.
    with app.app_context():
        db.engine.dispose(close=False)


class StopAware:
    """Remembers that SIGTERM or SIGINT asked the worker to stop, for run_supervised (RQ keeps it to itself)."""

    stop_asked = False

    def request_stop(self, signum, frame):
        """RQ's warm shutdown, noted first."""
        self.stop_asked = True
        return super().request_stop(signum, frame)


class ToktraWorker(StopAware, Worker):
    """RQ's forking worker, tuned to come back quickly after a Redis outage."""

    # RQ waits up to 60 s between reconnection attempts by default; a short outage should cost seconds.
    max_connection_wait_time = 5.0


class ToktraSimpleWorker(StopAware, SimpleWorker):
    """RQ's worker that runs jobs in its own process (no fork per job), with the same quick reconnection."""

    max_connection_wait_time = ToktraWorker.max_connection_wait_time


class ToktraHerokuWorker(StopAware, HerokuWorker):
    """HerokuWorker (SIGTERM handling of Heroku-style platforms), with the same quick reconnection."""

    max_connection_wait_time = ToktraWorker.max_connection_wait_time


WORKER_CLASSES = {"fork": ToktraWorker, "simple": ToktraSimpleWorker}


def main() -> None:
    """Run the worker with the outbox dispatcher and RQ's scheduler (delayed retries of other jobs)."""
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    app = create_app()
    os.register_at_fork(after_in_child=lambda: _fresh_pool_in_child(app))
    worker_class = WORKER_CLASSES[app.config["RQ_WORKER_CLASS"]]
    if worker_class is ToktraWorker and os.environ.get("DYNO"):
        worker_class = ToktraHerokuWorker
    if os.environ.get("WORKER_METRICS_PORT"):  # an internal port: the worker's own counters, for a scraper
        start_http_server(int(os.environ["WORKER_METRICS_PORT"]))
    beating = HeartbeatThread(app.config["REDIS_URL"], app.config["WORKER_HEARTBEAT_SECONDS"]).start()
    dispatcher = Dispatcher(app, app.config["OUTBOX_TICK_SECONDS"]).start()
    try:
        run_supervised(app, worker_class, burst=os.environ.get("RQ_BURST") == "1")
    finally:
        dispatcher.release()
        beating.close()  # a clean stop: readiness turns red now, not WORKER_HEARTBEAT_MAX_AGE later


def run_supervised(app, worker_class, burst: bool = False, retry_seconds: float = 1.0) -> None:
    """Run RQ workers one after another until one stops normally (SIGTERM, burst done).

    RQ retries a lost connection while it waits for jobs, but one lost while a job ends (the heartbeat
    after a job) escapes its loop; rather than exit, a new worker starts as soon as Redis answers again.
    """
    while True:
        worker = build_worker(app, worker_class)
        # Maintenance restarts RQ's scheduler if a Redis restart killed it; every few seconds, not every 10 minutes.
        worker.maintenance_interval = app.config["RQ_MAINTENANCE_INTERVAL"]
        try:
            # RQ sets its own loggers to INFO when imported: pass on the level LOG_LEVEL gave the process, or
            # its three lines a job would be written whatever LOG_LEVEL says.
            worker.work(with_scheduler=True, burst=burst, logging_level=logging.getLogger().getEffectiveLevel())
            return
        except redis.exceptions.RedisError as exc:
            if getattr(worker, "stop_asked", False):  # told to stop, and Redis went as it stopped: done
                log.warning("worker stopped without Redis (%s)", exc)
                return
            log.warning("worker lost Redis (%s); a new worker starts once it answers", exc)
        try:
            while True:
                try:
                    worker.connection.ping()
                    break
                except redis.exceptions.RedisError:
                    time.sleep(retry_seconds)
        except StopRequested:  # SIGTERM while waiting for Redis (RQ's handler is still installed)
            log.info("worker stopped while waiting for Redis")
            return


if __name__ == "__main__":
    main()
