"""Alert fan-out under Slack's per-channel rate limit, without and with a Redis restart in the middle.

    .venv/bin/python -m bench.fanout [--alerts 200] [--channels 10] [--down 3] [--max-factor 2.5]

Every alert is routed to every channel. The Slack emulator (devtools/slack_emulator.py) enforces
Slack's pace, one chat.postMessage per channel per second, and answers 429 with Retry-After beyond
it. Toktra runs as in tests/reliability: a private redis-server and PostgreSQL cluster on free
loopback ports, the REST API in this process (Flask test client), and `python -m jobs.worker` as a
subprocess with its default timings. The alerts are fired through POST /api/v1/alerts one after the
other.

The clock starts with the first alert sent and stops at the arrival of the last post; the minimum the
rate allows is (alerts - 1) seconds (each channel needs one post per alert, one a second). Reported
per scenario: total time, its ratio to the minimum, duplicates (copies beyond the first), lost (alerts
missing from a channel when the run ends), posts accepted inside a hold a 429 announced, and 429s
answered. Targets (issue 9): ratio <= 1.15 and nothing duplicated, lost or inside a hold; with Redis
restarted half-way through the minimum (down `--down` seconds, losing everything in it), total time
<= 1.15 x minimum + 30 s. A scenario that has not finished after `--max-factor` x minimum + 60 s is
stopped and reported as such.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import ROOT, print_table, write_results

sys.path.insert(0, str(ROOT / "tests" / "reliability"))  # the fault harness the reliability tests use

from harness import Toktra, copy_database, migrate_template, wait_until  # noqa: E402
from processes import PrivatePostgres, PrivateRedis  # noqa: E402

PACE = 1.0
TARGET_RATIO = 1.15
RESTART_ALLOWANCE = 30.0
SEVERITIES = ("low", "medium", "high", "critical")


def run_scenario(redis: PrivateRedis, postgres: PrivatePostgres, template: str, args, restart: bool) -> dict:
    """Fire the alerts, wait for the fan-out to finish (or the cap), and measure it."""
    name = "redis restart" if restart else "steady"
    redis.flush()
    database = copy_database(postgres, template, f"fanout_{'restart' if restart else 'steady'}_{os.getpid()}")
    workdir = Path(tempfile.mkdtemp(prefix="toktra_bench_fanout_"))
    channels = {f"C0FAN{i:02d}": (f"fanout-{i:02d}", SEVERITIES) for i in range(args.channels)}
    toktra = Toktra(redis, postgres, database, workdir, channels=channels, timings={})
    toktra.slack.enforce_channel_rate(PACE)
    minimum = (args.alerts - 1) * PACE
    cap = args.max_factor * minimum + 60
    restarted_at = None
    try:
        toktra.worker.start()
        # Started means registered with RQ: its boot is not the fan-out's time.
        wait_until(lambda: redis.client().scard("rq:workers") > 0, 60)
        restart_timer = None
        started = time.monotonic()
        if restart:
            def restart_redis():
                nonlocal restarted_at
                restarted_at = time.monotonic() - started
                redis.restart(down_seconds=args.down)

            restart_timer = threading.Timer(minimum / 2, restart_redis)
            restart_timer.start()
        fired = [toktra.fire_one(n, SEVERITIES[n % 4]) for n in range(args.alerts)]
        intake = time.monotonic() - started
        finished = wait_until(toktra.complete, started + cap - time.monotonic(), interval=0.25)
        if restart_timer is not None:
            restart_timer.join()
        toktra.settle(3)
        posts = toktra.posts_after(started)
        total = (max(p.at for p in posts) - started) if posts else None
        delivered, expected = toktra.delivered(), toktra.expected()
        duplicates = sum(len(got) - len(set(got)) for got in delivered.values())
        lost = sum(len(expected[c] - set(delivered[c])) for c in channels)
        rate_limited = [c for c in toktra.slack.calls_to("chat.postMessage") if c.status == 429]
        target = TARGET_RATIO * minimum + (RESTART_ALLOWANCE if restart else 0)
        return {
            "scenario": name,
            "alerts": args.alerts,
            "channels": args.channels,
            "refused_by_api": sum(1 for f in fired if not f.accepted),
            "posts": len(posts),
            "minimum_s": round(minimum, 1),
            "intake_s": round(intake, 1),
            "redis_restarted_at_s": round(restarted_at, 1) if restarted_at is not None else None,
            "finished": bool(finished),
            "stopped_after_s": None if finished else round(cap, 1),
            "last_post_s": round(total, 1) if total is not None else None,
            "total_s": round(total, 1) if finished and total is not None else None,
            "ratio": round(total / minimum, 3) if finished and total and minimum else None,
            "target_s": round(target, 1),
            "meets_target": bool(finished and total is not None and total <= target and duplicates == 0
                                 and lost == 0 and not toktra.slack.posts_inside_holds()),
            "duplicates": duplicates,
            "lost": lost,
            "posts_inside_hold": len(toktra.slack.posts_inside_holds()),
            "answered_429": len(rate_limited),
            "worker_exited_by_itself": toktra.worker.exited_by_itself(),
            "worker_log": str(workdir / "worker.log"),
        }
    finally:
        toktra.close()
        postgres.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def environment(postgres: PrivatePostgres) -> dict:
    """Where the figures come from."""
    import psycopg

    with psycopg.connect(postgres.url(), autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
    return {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "postgresql": version,
        "load_average_1_5_15": [round(v, 2) for v in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    """Run both scenarios, print the table, write bench/results/fanout.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=200, help="alerts fired (each goes to every channel)")
    parser.add_argument("--channels", type=int, default=10, help="alert channels")
    parser.add_argument("--down", type=float, default=3.0, help="seconds Redis stays down in the restart scenario")
    parser.add_argument("--max-factor", type=float, default=2.5,
                        help="stop a scenario after this many times the minimum, plus 60 s")
    parser.add_argument("--only", choices=("steady", "restart"), help="run one scenario")
    args = parser.parse_args(argv)
    args.alerts, args.channels = max(2, min(args.alerts, 2000)), max(1, min(args.channels, 50))  # bounded

    os.environ["TOKTRA_ENV"] = "test"
    redis = PrivateRedis(Path(tempfile.mkdtemp(prefix="toktra_bench_redis_")))
    postgres = PrivatePostgres()
    results: dict = {"benchmark": "fanout", "params": vars(args), "scenarios": []}
    try:
        redis.start()
        postgres.start()
        template = migrate_template(postgres)
        results["environment"] = environment(postgres)
        print(f"load average {results['environment']['load_average_1_5_15']} on {os.cpu_count()} CPUs; "
              f"{args.alerts} alerts x {args.channels} channels, minimum {(args.alerts - 1) * PACE:.0f}s each")
        for restart in (False, True):
            if args.only and args.only != ("restart" if restart else "steady"):
                continue
            result = run_scenario(redis, postgres, template, args, restart)
            results["scenarios"].append(result)
            print(f"  {result['scenario']}: {result}", flush=True)
    finally:
        redis.close()
        postgres.close()
        shutil.rmtree(redis.workdir, ignore_errors=True)

    rows = [[r["scenario"], r["posts"], r["minimum_s"], r["total_s"], r["ratio"], r["target_s"],
             "yes" if r["finished"] else f"no, stopped at {r['stopped_after_s']:.0f}s", r["duplicates"], r["lost"], r["posts_inside_hold"],
             r["answered_429"], "yes" if r["meets_target"] else "no"] for r in results["scenarios"]]
    print_table("Alert fan-out at Slack's 1 message/s/channel",
                ["scenario", "posts", "minimum s", "total s", "ratio", "target s", "finished", "duplicates",
                 "lost", "inside hold", "429s", "meets target"], rows)
    results["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    for r in results["scenarios"]:
        if r["worker_exited_by_itself"] is not None:
            print(f"{r['scenario']}: the worker process exited by itself (status {r['worker_exited_by_itself']}); "
                  f"log: {r['worker_log']}")
    print(f"load average at the end: {results['load_average_at_end']}")
    print(f"results: {write_results('fanout', results)}")
    return 0 if all(r["meets_target"] for r in results["scenarios"]) else 1


if __name__ == "__main__":
    sys.exit(main())
