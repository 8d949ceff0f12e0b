"""Usage ingest: `POST /api/v1/usage` in batches of 5,000 from 2 client threads, against PostgreSQL's own copy rate.

    .venv/bin/python -m bench.usage_ingest [--batches 24] [--batch-size 5000] [--threads 2] [--rounds 3]

Toktra runs in gunicorn (2 workers x 4 threads, gthread). Each round posts `--batches` batches of new
events (distinct ids, 500 people, 4 providers, this month) from `--threads` client threads, one
requests.Session each; throughput is events accepted per second of wall time. The anchor, measured in
the same round on the same database: PostgreSQL copying the rows just ingested into an empty table of
the same shape (INSERT ... SELECT, indexes included), in rows per second.

Correctness is checked after the timed part: every event of every batch accepted; one batch sent again
is all duplicates and changes no total; a batch with bad events rejects exactly those, by index, and
stores the rest; the organization's period total equals the sum of the stored rows.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

import requests
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bench.ack_latency import stop_process
from bench.ack_load import server_env, start_server
from bench.common import (
    finish, create_bench_app, create_database, drop_database, environment, flush_redis, new_db_name, print_table, ratio,
)

PEOPLE = 500
PROVIDERS = ("openai", "anthropic", "google", "mistral")


def make_batch(round_no: int, batch_no: int, size: int) -> list[dict]:
    """size new events with ids unique to this round and batch."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return [{"id": f"r{round_no}-b{batch_no}-e{n}", "user_email": f"person{n % PEOPLE}@globex.example",
             "provider": PROVIDERS[n % 4], "model": "model-x", "input_tokens": 1000 + n % 97,
             "output_tokens": 200 + n % 31, "cost_usd": f"0.{n % 9000 + 1000:04d}",
             "occurred_at": (now - dt.timedelta(seconds=n % 3600)).isoformat().replace("+00:00", "Z")}
            for n in range(size)]


def setup(app) -> str:
    """An org with PEOPLE people and an API key; the key."""
    from app.extensions import db
    from app.models import User
    from app.services.accounts import create_api_key, create_organization

    with app.app_context():
        org = create_organization("Globex", Decimal("1000000000"), 80, "UTC")
        db.session.add_all(User(org_id=org.id, email=f"person{n}@globex.example", name=f"Person {n}", role="member")
                           for n in range(PEOPLE))
        db.session.commit()
        return create_api_key(org, "bench")[1]


def post(session: requests.Session, base: str, key: str, events: list[dict]) -> dict:
    response = session.post(f"{base}/api/v1/usage", data=json.dumps({"events": events}),
                            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                            timeout=120)
    if response.status_code != 200:
        raise RuntimeError(f"POST /api/v1/usage -> {response.status_code} {response.text[:300]}")
    return response.json()


def ingest_round(base: str, key: str, batches: list[list[dict]], threads: int, problems: list[str]) -> float:
    """Post the batches from `threads` threads; events accepted per second."""
    pending = list(reversed(batches))
    lock = threading.Lock()
    accepted = [0]

    def run():
        session = requests.Session()
        while True:
            with lock:
                if not pending:
                    return
                events = pending.pop()
            result = post(session, base, key, events)
            with lock:
                accepted[0] += result["accepted"]
                if result["accepted"] != len(events) or result.get("rejected"):
                    problems.append(f"a batch of {len(events)} new events: {result['accepted']} accepted, "
                                    f"{len(result.get('rejected') or [])} rejected")

    pool = [threading.Thread(target=run) for _ in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return accepted[0] / (time.perf_counter() - start)


def copy_rate(engine) -> float:
    """PostgreSQL copying every stored usage row into an empty table of the same shape; rows per second."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_usage_copy")
        conn.exec_driver_sql("CREATE TABLE bench_usage_copy (LIKE usage_records INCLUDING ALL)")
    with engine.begin() as conn:
        start = time.perf_counter()
        rows = conn.exec_driver_sql("INSERT INTO bench_usage_copy SELECT * FROM usage_records").rowcount
        elapsed = time.perf_counter() - start
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE bench_usage_copy")
    return rows / elapsed


def check_semantics(app, base: str, key: str, batch: list[dict], problems: list[str]) -> None:
    """Idempotent by id, bad events rejected one by one, totals equal to the stored rows."""
    from app.extensions import db

    session = requests.Session()
    again = post(session, base, key, batch)
    if again["accepted"] != 0 or again["duplicates"] != len(batch):
        problems.append(f"a batch sent again: {again['accepted']} accepted, {again['duplicates']} duplicates")
    mixed = make_batch(999, 0, 10)
    mixed[3]["cost_usd"] = "lots"
    mixed[7]["user_email"] = "nobody-at-all"
    result = post(session, base, key, mixed)
    if result["accepted"] != 8 or [r["index"] for r in result.get("rejected", [])] != [3, 7]:
        problems.append(f"a batch with events 3 and 7 bad: {result}")
    with app.app_context():
        stored = db.session.execute(sa.text("SELECT count(*), coalesce(sum(cost_usd), 0) FROM usage_records")).one()
        total = db.session.execute(sa.text("SELECT coalesce(sum(cost_usd), 0) FROM usage_period_totals")).scalar()
    if stored[1] != total:
        problems.append(f"period totals {total} differ from the stored rows' sum {stored[1]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    args.batches, args.rounds = max(2, min(args.batches, 400)), max(1, min(args.rounds, 10))
    args.batch_size = max(10, min(args.batch_size, 5000))

    dbname = new_db_name("ingest")
    encryption_key = Fernet.generate_key().decode()
    workdir = Path(tempfile.mkdtemp(prefix="toktra_bench_ingest_"))
    problems: list[str] = []
    results: dict = {"benchmark": "usage_ingest", "environment": environment(), "params": vars(args)}
    print(f"load average {results['environment']['load_average_1_5_15']} on {os.cpu_count()} CPUs")
    server = None
    ingest, copy = [], []
    flush_redis()
    try:
        database_url = create_database(dbname)
        app = create_bench_app(database_url, encryption_key, migrate=True)
        key = setup(app)
        server, port = start_server("wsgi:app", server_env(database_url, encryption_key, "http://127.0.0.1:9/"),
                                    workdir, "gunicorn")
        base = f"http://127.0.0.1:{port}"
        ingest_round(base, key, [make_batch(0, n, 500) for n in range(4)], args.threads, problems)  # warm-up
        batch = None
        for round_no in range(1, args.rounds + 1):
            batches = [make_batch(round_no, n, args.batch_size) for n in range(args.batches)]
            batch = batches[0]
            ingest.append(ingest_round(base, key, batches, args.threads, problems))
            with app.app_context():
                from app.extensions import db

                copy.append(copy_rate(db.engine))
            print(f"round {round_no}: ingest {ingest[-1]:,.0f} events/s, PostgreSQL copy {copy[-1]:,.0f} rows/s")
        check_semantics(app, base, key, batch, problems)
    finally:
        if server is not None:
            stop_process(server)
        drop_database(dbname)
        flush_redis()

    table = {"ingest_events_per_s": round(statistics.median(ingest)), "copy_rows_per_s": round(statistics.median(copy)),
             "samples": {"ingest": ingest, "copy": copy}}
    table["ratio_ingest_vs_copy"] = ratio(table["ingest_events_per_s"], table["copy_rows_per_s"])
    print_table(f"usage ingest, batches of {args.batch_size:,}, {args.threads} client threads, medians of "
                f"{args.rounds} rounds", ["what", "per second", "x copy"],
                [["POST /api/v1/usage (events)", table["ingest_events_per_s"], table["ratio_ingest_vs_copy"]],
                 ["PostgreSQL INSERT ... SELECT (rows, anchor)", table["copy_rows_per_s"], 1.0]])
    results["table"] = table
    return finish("usage_ingest", results, problems, workdir,
                  "every new event accepted; a resent batch all duplicates; bad events rejected by index; totals agree")


if __name__ == "__main__":
    sys.exit(main())
