"""CPU time per acknowledgement in one process, beside the no-op Bolt app: with one thread, and with four.

    .venv/bin/python -m bench.ack_cpu [--requests 3000] [--rounds 3] [--threads 1 4]

Steadier than throughput on a shared machine: CPU time (this process's user and system time) is what a
request costs wherever it waits. Distinct signed `/toktra-budget` requests from installed workspace T0001
are signed beforehand and handed to each app's WSGI callable directly (no HTTP server), first to
Toktra's (`create_app()`, the listener queues one job per request; no worker runs) and then to the
process_before_response no-op Bolt app of bench/anchors.py, batch after batch, by 1 thread and by 4
(gunicorn's threads per worker in bench.ack_load), with the JSON access log line of each request written
to a file as the service writes it. Alongside: the voluntary thread switches per request
(each system call that releases the interpreter lock while another thread waits for it is one). Checked:
every answer 200, Toktra's empty, and exactly one job queued per Toktra acknowledgement.
"""
from __future__ import annotations

import argparse
import io
import logging
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis
from cryptography.fernet import Fernet
from rq import Queue
from werkzeug.test import EnvironBuilder

from app.logs import json_handler
from bench.ack_latency import setup_data
from bench.common import (
    REDIS_URL, SIGNING_SECRET, create_bench_app, create_database, drop_database, environment, finish, flush_redis,
    new_db_name, print_table, ratio,
)
from devtools.slack_sender import SlackSender


class Recorder:
    """SlackSender's transport: keeps each signed request as a WSGI environ instead of sending it."""

    def __init__(self):
        self.environs: list[dict] = []

    def post(self, path: str, data: str, headers: dict) -> tuple[int, bytes]:
        environ = EnvironBuilder(path=path, method="POST", data=data, headers=headers).get_environ()
        environ["bench.body"] = environ["wsgi.input"].read()
        self.environs.append(environ)
        return 200, b""


def signed_environs(count: int) -> list[dict]:
    """count distinct signed /toktra-budget requests."""
    recorder = Recorder()
    sender = SlackSender(SIGNING_SECRET, recorder)
    for _ in range(count):
        sender.command("/toktra-budget", "", user_id="U0001", team_id="T0001",
                       response_url="http://127.0.0.1:9/response_url/bench")
    return recorder.environs


def serve(wsgi_app, environs: list[dict], threads: int, want_empty: bool, bad: list[str]) -> dict:
    """Hand environs to wsgi_app from `threads` threads; CPU µs and voluntary thread switches per request."""

    def part(chunk: list[dict]) -> None:
        for template in chunk:
            environ = dict(template, **{"wsgi.input": io.BytesIO(template["bench.body"])})
            status: list[str] = []
            body = b"".join(wsgi_app(environ, lambda s, headers, exc_info=None: status.append(s)))
            if not status[0].startswith("200") or (want_empty and body):
                bad.append(f"{status[0]} {body[:200]!r}")

    workers = [threading.Thread(target=part, args=(environs[i::threads],)) for i in range(threads)]
    before, cpu_before = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    after, cpu_after = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
    return {"cpu_us": (cpu_after - cpu_before) / len(environs) * 1e6,
            "switches": (after.ru_nvcsw - before.ru_nvcsw) / len(environs)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="per app, round and thread count")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args(argv)
    args.requests, args.rounds = max(100, min(args.requests, 50_000)), max(1, min(args.rounds, 20))
    args.threads = sorted({max(1, min(t, 16)) for t in args.threads})

    dbname = new_db_name("ackcpu")
    workdir = Path(tempfile.mkdtemp(prefix="toktra_bench_ackcpu_"))
    problems: list[str] = []
    results: dict = {"benchmark": "ack_cpu", "environment": environment(), "params": vars(args)}
    print(f"load average {results['environment']['load_average_1_5_15']} on {os.cpu_count()} CPUs")
    samples: dict[tuple[str, int], list[dict]] = {}
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    flush_redis()
    try:
        app = create_bench_app(create_database(dbname), Fernet.generate_key().decode(), migrate=True)
        setup_data(app)
        # Each acknowledgement's access log line, as a served process writes it (app.logs.configure_logging),
        # to a file; the plain handler the migration's logging config left on the root goes.
        root.handlers = [json_handler(open(workdir / "toktra.log", "w"))]
        root.setLevel(logging.INFO)
        os.environ.setdefault("SLACK_SIGNING_SECRET", SIGNING_SECRET)  # the anchor reads it when imported
        from bench.anchors import bolt_before_response

        queue = Queue("default", connection=redis.Redis.from_url(REDIS_URL))
        apps = {"toktra": app, "bolt": bolt_before_response}
        for round_no in range(args.rounds + 1):  # round 0 warms both up and is not counted
            for threads in args.threads:
                for name, wsgi_app in apps.items():
                    environs = signed_environs(args.requests if round_no else 200)
                    queue.empty()
                    bad: list[str] = []
                    run = serve(wsgi_app, environs, threads, want_empty=name == "toktra", bad=bad)
                    if bad:
                        problems.append(f"{name}, {threads} threads: {len(bad)} answers not 200"
                                        f"{' and empty' if name == 'toktra' else ''} (first: {bad[0]})")
                    if name == "toktra" and queue.count != len(environs):
                        problems.append(f"{len(environs)} acknowledgements queued {queue.count} jobs")
                    if round_no:
                        samples.setdefault((name, threads), []).append(run)
        queue.empty()
    finally:
        root.handlers, root.level = saved_handlers, saved_level
        drop_database(dbname)
        flush_redis()

    table, rows = {}, []
    for threads in args.threads:
        cell = {name: {what: round(statistics.median(r[what] for r in samples[(name, threads)]), 1)
                       for what in ("cpu_us", "switches")} for name in ("toktra", "bolt")}
        table[threads] = cell
        rows.append([threads, cell["bolt"]["cpu_us"], cell["bolt"]["switches"], cell["toktra"]["cpu_us"],
                     cell["toktra"]["switches"], ratio(cell["bolt"]["cpu_us"], cell["toktra"]["cpu_us"])])
    print_table(f"CPU per acknowledgement in one process, medians of {args.rounds} rounds of {args.requests} "
                "(x Bolt: the no-op Bolt app's CPU per request / Toktra's)",
                ["threads", "Bolt µs", "Bolt switches", "Toktra µs", "Toktra switches", "x Bolt"], rows)
    results["table"] = table
    return finish("ack_cpu", results, problems, workdir,
                  "every answer was 200, every Toktra ack empty with exactly one job queued")


if __name__ == "__main__":
    sys.exit(main())
