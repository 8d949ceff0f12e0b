"""The worker process: `python -m jobs.worker` (Procfile `worker`)."""
from __future__ import annotations

import logging
import os
import threading

from rq import Queue, Worker
from rq.worker import HerokuWorker

from app import create_app
from app.extensions import db, redis_connection
from jobs.context import AppContextJob, bind_app

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


def start_sweeper(app, interval_seconds: float) -> threading.Event:
    """Every interval, re-queue alert deliveries whose job was lost (Redis outage, killed worker).

    Returns an Event that stops the sweeper when set.
    """
    from jobs.alerts import sweep_deliveries

    stop = threading.Event()

    def loop():
        while not stop.wait(interval_seconds):
            try:
                with app.app_context():
                    swept = sweep_deliveries()
                if swept:
                    log.info("sweeper re-queued %s alert deliveries", swept)
            except Exception:  # a database or Redis outage: try again next round
                log.exception("sweeper round failed")

    threading.Thread(target=loop, name="toktra-sweeper", daemon=True).start()
    return stop


def main() -> None:
    """Run the worker with RQ's scheduler (delayed retries) and the delivery sweeper."""
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    app = create_app()
    os.register_at_fork(after_in_child=lambda: _fresh_pool_in_child(app))
    worker_class = HerokuWorker if os.environ.get("DYNO") else Worker
    start_sweeper(app, float(os.environ.get("SWEEP_INTERVAL_SECONDS", "60")))
    build_worker(app, worker_class).work(with_scheduler=True, burst=os.environ.get("RQ_BURST") == "1")


if __name__ == "__main__":
    main()
