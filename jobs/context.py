"""Every job runs inside a Flask app context made once per worker process."""
from __future__ import annotations

import time

from flask import Flask
from rq.job import Job

_app: Flask | None = None


def bind_app(app: Flask) -> None:
    """Use app for the jobs this process runs (the worker entry and tests call this)."""
    global _app
    _app = app


def job_app() -> Flask:
    """The bound app, created from the environment on first use."""
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


class AppContextJob(Job):
    """An RQ job whose function runs in the app context and leaves no session behind."""

    def perform(self):
        """Run the job function inside the app context."""
        from app.extensions import db
        from app.logs import clear
        from app.metrics import observe_job

        clear()  # this job's log lines carry its own ids, not the previous job's
        started, failed = time.perf_counter(), True
        with job_app().app_context():
            try:
                result = super().perform()
                failed = False
                return result
            finally:
                observe_job(self.func_name, started, failed)
                clear()
                db.session.remove()
