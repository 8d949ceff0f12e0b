"""gunicorn reads this file from the working directory: metrics of a gunicorn worker that exits are retired."""
import os


def child_exit(server, worker):
    """prometheus-client's multiprocess mode: forget the live gauges of a worker process that is gone."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
