"""The worker process: `python -m jobs.worker` (Procfile `worker`)."""
from __future__ import annotations

import logging
import os

from rq import Queue, Worker
from rq.worker import HerokuWorker

from app import create_app
from app.extensions import db, redis_connection
from jobs.context import AppContextJob, bind_app


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


def main() -> None:
    """Run the worker with RQ's scheduler, so delayed retries run."""
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    app = create_app()
    os.register_at_fork(after_in_child=lambda: _fresh_pool_in_child(app))
    worker_class = HerokuWorker if os.environ.get("DYNO") else Worker
    build_worker(app, worker_class).work(with_scheduler=True, burst=os.environ.get("RQ_BURST") == "1")


if __name__ == "__main__":
    main()
