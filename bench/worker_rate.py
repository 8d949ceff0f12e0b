"""Jobs per second per worker process: `/toktra-budget` card jobs against RQ's own rate for a no-op job.

    .venv/bin/python -m bench.worker_rate [--cards 300] [--noops 2000] [--rounds 3] [--classes simple fork]

For each worker class (RQ's SimpleWorker, which runs jobs in its own process, and RQ's forking Worker,
which forks a work-horse per job), in rounds:

- anchor: `rq worker --burst` (RQ's own command, RQ's own Job class) over `--noops` no-op jobs
  (bench.noop_job.noop, in a module that imports nothing, so a forked work-horse's import of it costs
  nothing);
- Toktra's worker (`python -m jobs.worker`, burst mode) over the same no-op jobs, to show what the app
  context costs;
- Toktra's worker over `--cards` real `/toktra-budget` jobs: the caller is resolved (users.info on the
  Slack emulator, once, then from the stored link), the budget read from PostgreSQL, the card rendered
  and posted to its own response_url on the emulator.

Each worker starts after its jobs are queued; the rate is the number of jobs divided by the time from
the first job's start to the last job's end as RQ recorded them (worker start-up is not counted).
Every job must have finished, and every card job must have reached the emulator.
"""
from __future__ import annotations

import argparse
import itertools
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import redis
from cryptography.fernet import Fernet
from rq import Queue
from rq.job import Job

from bench.ack_latency import Emulator, setup_data
from bench.ack_load import server_env
from bench.common import (
    finish, REDIS_URL, ROOT, create_bench_app, create_database, drop_database, environment, flush_redis, new_db_name,
    print_table, ratio,
)

CARD_POST = re.compile(r"\bresponse_url/card-[0-9]+ -> 200")
CARD_NUMBERS = itertools.count()  # each card job answers its own response_url, never one used before
RQ_CLASSES = {"simple": "rq.SimpleWorker", "fork": "rq.Worker"}


def queue_jobs(app, kind: str, count: int, emulator: Emulator) -> list[str]:
    """Queue count jobs of kind ("noop" or "card"); their ids."""
    from app.extensions import db
    from app.models import SlackWorkspace
    from bench.noop_job import noop
    from jobs import enqueue
    from jobs.commands import run_command

    with app.app_context():
        if kind == "noop":
            return [enqueue(noop).id for _ in range(count)]
        workspace_id = db.session.query(SlackWorkspace.id).scalar()
        return [enqueue(run_command, workspace_id=workspace_id, command="/toktra-budget", text="",
                        slack_user_id="U0001", response_url=f"{emulator.url}response_url/card-{next(CARD_NUMBERS)}").id
                for _ in range(count)]


def card_posts(emulator: Emulator) -> int:
    """Card answers the emulator accepted so far (one log line each)."""
    return len(CARD_POST.findall(emulator.log_path.read_text()))


def run_worker(command: list[str], env: dict, workdir: Path) -> None:
    with open(workdir / "worker.log", "a") as log:
        subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=900, check=True)


def rate(connection, job_ids: list[str], problems: list[str], what: str) -> float:
    """Jobs per second from the first start to the last end; every job must have finished."""
    jobs = [j for j in Job.fetch_many(job_ids, connection=connection) if j is not None]
    unfinished = [j for j in jobs if not j.is_finished]
    if len(jobs) != len(job_ids) or unfinished:
        problems.append(f"{what}: {len(job_ids) - len(jobs) + len(unfinished)} of {len(job_ids)} jobs did not finish")
        return float("nan")
    span = max(j.ended_at for j in jobs) - min(j.started_at for j in jobs)
    return len(jobs) / span.total_seconds()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=300)
    parser.add_argument("--noops", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--classes", nargs="+", choices=sorted(RQ_CLASSES), default=["simple", "fork"])
    parser.add_argument("--fork-share", type=float, default=0.05, help="job counts for the forking worker, as a share")
    args = parser.parse_args(argv)
    args.cards, args.noops = max(10, min(args.cards, 20_000)), max(10, min(args.noops, 100_000))
    args.rounds = max(1, min(args.rounds, 10))

    dbname = new_db_name("worker")
    encryption_key = Fernet.generate_key().decode()
    workdir = Path(tempfile.mkdtemp(prefix="toktra_bench_worker_"))
    problems: list[str] = []
    results: dict = {"benchmark": "worker_rate", "environment": environment(), "params": vars(args)}
    print(f"load average {results['environment']['load_average_1_5_15']} on {os.cpu_count()} CPUs")
    connection = redis.Redis.from_url(REDIS_URL)
    samples: dict[tuple[str, str], list[float]] = {}
    emulator = None
    flush_redis()
    try:
        database_url = create_database(dbname)
        emulator = Emulator(workdir, users=("U0001:ada@globex.example:Ada Admin",))
        app = create_bench_app(database_url, encryption_key, migrate=True, SLACK_API_URL=emulator.url)
        setup_data(app)
        env = server_env(database_url, encryption_key, emulator.url) | {"RQ_BURST": "1", "LOG_LEVEL": "WARNING"}
        rq = str(ROOT / ".venv" / "bin" / "rq")
        for round_no in range(args.rounds):
            for worker_class in args.classes:
                share = args.fork_share if worker_class == "fork" else 1.0
                noops, cards = max(10, int(args.noops * share)), max(10, int(args.cards * share))
                scenarios = {
                    "rq_noop": ("noop", noops, [rq, "worker", "--burst", "--url", REDIS_URL, "--worker-class",
                                                RQ_CLASSES[worker_class], "--quiet", "default"]),
                    "toktra_noop": ("noop", noops, [sys.executable, "-m", "jobs.worker"]),
                    "toktra_card": ("card", cards, [sys.executable, "-m", "jobs.worker"]),
                }
                for name, (kind, count, command) in scenarios.items():
                    Queue("default", connection=connection).empty()
                    before = card_posts(emulator)
                    ids = queue_jobs(app, kind, count, emulator)
                    run_worker(command, env | {"RQ_WORKER_CLASS": worker_class}, workdir)
                    value = rate(connection, ids, problems, f"{name} ({worker_class})")
                    posts = card_posts(emulator) - before
                    if kind == "card" and posts != count:
                        problems.append(f"{count} card jobs ({worker_class}) made {posts} response_url posts")
                    samples.setdefault((worker_class, name), []).append(value)
                    print(f"round {round_no + 1} {worker_class:6} {name:12} {count:6} jobs  {value:8.1f} jobs/s")
    finally:
        if emulator is not None:
            emulator.stop()
        drop_database(dbname)
        flush_redis()

    labels = {"rq_noop": "RQ's own worker, no-op job (anchor)", "toktra_noop": "Toktra's worker, no-op job",
              "toktra_card": "Toktra's worker, /toktra-budget card job"}
    table, rows = {}, []
    for worker_class in args.classes:
        anchor = statistics.median(samples[(worker_class, "rq_noop")])
        for name, label in labels.items():
            median = statistics.median(samples[(worker_class, name)])
            table[f"{worker_class}:{name}"] = {"median_jobs_per_s": round(median, 1),
                                               "samples": samples[(worker_class, name)],
                                               "ratio_vs_rq_noop": ratio(median, anchor)}
            rows.append([f"{worker_class}: {label}", round(median, 1), ratio(median, anchor)])
    print_table(f"jobs per second, one worker process, medians of {args.rounds} rounds (x RQ: vs RQ's no-op rate "
                "on the same worker class)", ["worker and job", "jobs/s", "x RQ"], rows)
    results["table"] = table
    return finish("worker_rate", results, problems, workdir,
                  "every job finished; every card job posted its card to the emulator")


if __name__ == "__main__":
    sys.exit(main())
