"""Usage summaries and budget status from the app's totals tables, against the same answers from raw rows.

    .venv/bin/python -m bench.usage_queries [--rows 10000000] [--keep] [--iterations 300]
    .venv/bin/python -m bench.usage_queries --drop-kept        # remove a database kept by --keep

Generates `--rows` usage events in PostgreSQL (one org, `--users` people, 4 providers, spread over the
current and the previous 5 months in time order) straight into usage_records with INSERT ... SELECT
FROM generate_series, fills usage_rollups (per org, period, user, provider) and usage_period_totals (one
row per org and period) from them, each with one INSERT ... SELECT ... GROUP BY, then VACUUM (ANALYZE).
It then checks usage_period_totals against the raw rows (every period, every column) and against
usage_rollups. Then it times, interleaved call by call:

- app.services.usage.usage_summary(org, user) for random users (usage_rollups) vs the naive per-provider
  GROUP BY over the user's raw rows in the current period;
- app.services.budget.budget_status(org) (one usage_period_totals row) vs the naive org-wide
  SUM(cost_usd) over raw rows, and vs the previous way, SUM(cost_usd) over the org's usage_rollups rows
  for the period (a reference: the app no longer sends it). These two scan, and are timed in loops of
  their own after the interleaved ones, so that they do not slow the call that follows them.

It checks that all ways give the same numbers, prints EXPLAIN (ANALYZE, BUFFERS) of the queries the
app functions really send (captured from the engine) and says whether they use the index they should
(pk_usage_rollups for usage_summary, pk_usage_period_totals for budget_status), also under a forced
generic plan (psycopg prepares a statement after 5 executions); when the planner prefers another scan,
it also shows the plan with sequential scans disabled.

With --keep the database is named after the parameters, kept at the end, and reused by the next run
with --keep if it was generated completely, with the same parameters and generation layout (LAYOUT), in
the same billing month.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import threading
import time
from decimal import Decimal

import psycopg
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bench.common import (
    create_bench_app, create_database, database_exists, drop_database, environment, flush_redis, new_db_name,
    pg_url, print_table, ratio, summarize, write_results,
)

TARGET_P99_MS = 20.0
# provider, model, micro-dollars per input token, per output token, cumulative share of events
PROVIDERS = [
    ("openai", "gpt-4o", 2.5, 10.0, 0.45),
    ("anthropic", "claude-sonnet-4", 3.0, 15.0, 0.75),
    ("google", "gemini-2.5-pro", 1.25, 10.0, 0.90),
    ("mistral", "mistral-large", 2.0, 6.0, 1.00),
]
NAIVE_USER_SQL = sa.text(
    "SELECT provider, sum(input_tokens), sum(output_tokens), sum(cost_usd) FROM usage_records "
    "WHERE org_id = :org AND user_id = :user AND occurred_at >= :start AND occurred_at < :end "
    "GROUP BY provider"
)
NAIVE_ORG_SQL = sa.text(
    "SELECT sum(cost_usd) FROM usage_records WHERE org_id = :org AND occurred_at >= :start AND occurred_at < :end"
)
# How period_spend read the organization's spend before usage_period_totals (reference only).
ROLLUP_ORG_SQL = sa.text("SELECT sum(cost_usd) FROM usage_rollups WHERE org_id = :org AND period = :period")
# The index each app statement should be served by.
EXPECTED_INDEX = {"usage_summary": "pk_usage_rollups", "budget_status": "pk_usage_period_totals"}
# Bumped when generation changes, so that --keep does not reuse a database generated differently.
LAYOUT = 2
TOTAL_TABLES = ("usage_records", "usage_rollups", "usage_period_totals")


def month_start(day: dt.date, months_back: int) -> dt.datetime:
    index = day.year * 12 + day.month - 1 - months_back
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.timezone.utc)


# --------------------------------------------------------------------------------------- generation

def read_meta(dbname: str) -> dict | None:
    from bench.common import PG_ADMIN_URL

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                           (dbname,)).fetchone()
    try:
        return json.loads(row[0]) if row and row[0] else None
    except ValueError:
        return None


def write_meta(dbname: str, meta: dict) -> None:
    from bench.common import PG_ADMIN_URL

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        literal = json.dumps(meta).replace("'", "''")
        conn.execute(f"COMMENT ON DATABASE \"{dbname}\" IS '{literal}'")


def generate(url: str, rows: int, users: int, jobs: int, now: dt.datetime) -> dict:
    """Fill a migrated database; return the org id, user id range and phase timings (seconds)."""
    timings: dict[str, float] = {}
    start_all = time.perf_counter()
    span_start = month_start(now.date(), 5)

    def phase(name, started):
        timings[name] = round(time.perf_counter() - started, 2)
        print(f"  {name:<34} {timings[name]:8.2f} s", flush=True)

    with psycopg.connect(url, autocommit=True) as conn:
        t = time.perf_counter()
        org_id = conn.execute(
            "INSERT INTO organizations (name, monthly_budget_usd, alert_threshold_pct, timezone, created_at) "
            "VALUES ('Globex', %s, 80, 'UTC', now()) RETURNING id", (20_000 * 1_000_000,)).fetchone()[0]
        conn.execute(
            "INSERT INTO users (org_id, email, name, role, active, created_at) "
            "SELECT %s, 'user' || n || '@globex.example', 'User ' || n, 'member', true, now() "
            "FROM generate_series(1, %s) n ORDER BY n", (org_id, users))
        first_user, last_user, count = conn.execute(
            "SELECT min(id), max(id), count(*) FROM users WHERE org_id = %s", (org_id,)).fetchone()
        assert count == users and last_user - first_user + 1 == users, "user ids are not contiguous"
        phase("organization and users", t)

        # Load without the secondary indexes and FK triggers, then rebuild them exactly as they were.
        secondary = conn.execute(
            "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "WHERE c.conrelid = 'usage_records'::regclass AND c.contype = 'u'").fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'usage_records' AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = 'usage_records'::regclass)").fetchall()
        for name, _ in secondary:
            conn.execute(f'ALTER TABLE usage_records DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')

    t = time.perf_counter()
    provider_case = lambda column: "CASE " + " ".join(  # noqa: E731
        f"WHEN r < {share} THEN '{p[column]}'" if column < 2 else f"WHEN r < {share} THEN {p[column]}"
        for p in PROVIDERS for share in [p[4]]) + " END"
    insert_sql = f"""
        INSERT INTO usage_records (org_id, event_id, user_id, provider, model, input_tokens, output_tokens,
                                   cost_usd, occurred_at, period, received_at)
        SELECT %(org)s, 'evt-' || g, uid, {provider_case(0)}, {provider_case(1)}, inp, outp,
               round(inp * {provider_case(2)} + outp * {provider_case(3)})::bigint,
               ts, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM'), ts + interval '2 seconds'
        FROM (
            SELECT g,
                   %(start)s::timestamptz + (%(end)s::timestamptz - %(start)s::timestamptz)
                       * ((g - 1 + random()) / %(rows)s) AS ts,
                   %(u0)s + floor(random() * %(users)s)::int AS uid,
                   random() AS r,
                   (50 + random() * 4000)::bigint AS inp,
                   (10 + random() * 1000)::bigint AS outp
            FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g
            OFFSET 0
        ) s
    """
    errors: list[BaseException] = []
    bounds = [(rows * i // jobs + 1, rows * (i + 1) // jobs) for i in range(jobs)]

    def load(lo: int, hi: int) -> None:
        try:
            with psycopg.connect(url, autocommit=True) as c:
                c.execute("SET session_replication_role = replica")  # no FK trigger per row
                c.execute("SET synchronous_commit = off")
                c.execute(insert_sql, {"org": org_id, "start": span_start, "end": now, "rows": rows,
                                       "u0": first_user, "users": users, "lo": lo, "hi": hi})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=b) for b in bounds if b[0] <= b[1]]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    phase(f"usage_records insert ({jobs} jobs)", t)

    t = time.perf_counter()
    ddl = [f'ALTER TABLE usage_records ADD CONSTRAINT "{name}" {definition}' for name, definition in secondary]
    ddl += [definition for _, definition in indexes]

    def build(statement: str) -> None:
        try:
            with psycopg.connect(url, autocommit=True) as c:
                c.execute("SET maintenance_work_mem = '1GB'")
                c.execute(statement)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=build, args=(s,)) for s in ddl]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    phase("usage_records indexes rebuilt", t)

    with psycopg.connect(url, autocommit=True) as conn:
        t = time.perf_counter()
        conn.execute("SET work_mem = '256MB'")
        conn.execute(
            "INSERT INTO usage_rollups (org_id, period, user_id, provider, input_tokens, output_tokens, cost_usd, "
            "event_count) SELECT org_id, period, user_id, provider, sum(input_tokens), sum(output_tokens), "
            "sum(cost_usd), count(*) FROM usage_records GROUP BY org_id, period, user_id, provider "
            # Month by month, as the app appends a period's rollup rows during that period.
            "ORDER BY period")
        phase("usage_rollups from GROUP BY", t)
        t = time.perf_counter()
        conn.execute(
            "INSERT INTO usage_period_totals (org_id, period, input_tokens, output_tokens, cost_usd, event_count) "
            "SELECT org_id, period, sum(input_tokens), sum(output_tokens), sum(cost_usd), count(*) "
            "FROM usage_records GROUP BY org_id, period ORDER BY period")
        phase("usage_period_totals from GROUP BY", t)
        t = time.perf_counter()
        for table in (*TOTAL_TABLES, "users", "organizations"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
        phase("VACUUM (ANALYZE)", t)
        sizes = dict(conn.execute(
            "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class "
            "WHERE relname = ANY(%s)", (list(TOTAL_TABLES),)).fetchall())
        counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TOTAL_TABLES}
        per_period = dict(conn.execute(
            "SELECT period, sum(event_count) FROM usage_rollups GROUP BY period ORDER BY period").fetchall())
    timings["total"] = round(time.perf_counter() - start_all, 2)
    print(f"  {'total generation':<34} {timings['total']:8.2f} s")
    return {"org_id": org_id, "first_user": first_user, "users": users, "timings_s": timings,
            "sizes": sizes, "counts": counts, "events_per_period": {k: int(v) for k, v in per_period.items()}}


def check_period_totals(url: str) -> dict:
    """usage_period_totals against the raw rows (every org and period, every column) and against usage_rollups."""
    columns = "input_tokens, output_tokens, cost_usd, event_count"
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET work_mem = '256MB'")
        disagreements = []
        for source, grouped in (
            ("usage_records", "SELECT org_id, period, sum(input_tokens) AS input_tokens, sum(output_tokens) AS "
                              "output_tokens, sum(cost_usd) AS cost_usd, count(*) AS event_count FROM usage_records "
                              "GROUP BY org_id, period"),
            ("usage_rollups", f"SELECT org_id, period, {', '.join(f'sum({c}) AS {c}' for c in columns.split(', '))} "
                              "FROM usage_rollups GROUP BY org_id, period"),
        ):
            rows = conn.execute(
                f"SELECT coalesce(s.org_id, t.org_id), coalesce(s.period, t.period), "
                f"(s.{columns.replace(', ', ', s.')})::text, (t.{columns.replace(', ', ', t.')})::text "
                f"FROM ({grouped}) s FULL JOIN usage_period_totals t ON t.org_id = s.org_id AND t.period = s.period "
                f"WHERE (s.{columns.replace(', ', ', s.')}) IS DISTINCT FROM (t.{columns.replace(', ', ', t.')}) "
                f"ORDER BY 1, 2").fetchall()
            disagreements += [{"against": source, "org_id": o, "period": p, source: a, "usage_period_totals": b}
                              for o, p, a, b in rows]
        periods = conn.execute("SELECT count(*) FROM usage_period_totals").fetchone()[0]
    return {"periods": periods, "disagreements": disagreements,
            "seconds": round(time.perf_counter() - started, 2)}


# --------------------------------------------------------------------------------------- measurement

def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


class StatementCapture:
    """Records the SQL statements (and parameters) an engine sends while active."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[tuple[str, object]] = []

    def _hook(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append((statement, parameters))

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._hook)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._hook)


def explain(db, statement: str, parameters) -> list[str]:
    rows = db.session.connection().exec_driver_sql(
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters).all()
    return [r[0] for r in rows]


def explain_generic(db, statement: str, parameters: dict) -> list[str]:
    """The plan a prepared statement gets once PostgreSQL switches it to a generic plan."""
    names = list(parameters)
    sql = statement
    for i, name in enumerate(names, 1):
        sql = sql.replace(f"%({name})s", f"${i}")
    conn = db.session.connection()
    conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    try:
        conn.exec_driver_sql(f"PREPARE bench_generic AS {sql}")
        args = ", ".join(_literal(parameters[n]) for n in names)
        rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE bench_generic({args})").all()
        conn.exec_driver_sql("DEALLOCATE bench_generic")
    finally:
        conn.exec_driver_sql("RESET plan_cache_mode")
    return [r[0] for r in rows]


def _literal(value) -> str:
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def explain_without_seqscan(db, statement: str, parameters) -> list[str]:
    """The plan with sequential scans disabled: shows whether the expected index can serve the statement."""
    conn = db.session.connection()
    conn.exec_driver_sql("SET enable_seqscan = off")
    try:
        return explain(db, statement, parameters)
    finally:
        conn.exec_driver_sql("RESET enable_seqscan")


def uses_index(plan: list[str], index: str) -> bool:
    return any(f" {index} " in f"{line} " or f" {index}(" in line for line in plan)


def scan_kind(plan: list[str]) -> str:
    for line in plan:
        text = line.strip().lstrip("->").strip()
        for kind in ("Index Only Scan", "Index Scan", "Bitmap Index Scan", "Parallel Seq Scan", "Seq Scan"):
            if text.startswith(kind):
                return text.split("  (")[0]
    return "?"


def measure(app, org_id: int, iterations: int, naive_org_iterations: int, seed: int) -> dict:
    from app.extensions import db
    from app.models import Organization, User
    from app.services.budget import budget_status
    from app.services.periods import current_period
    from app.services.usage import usage_summary

    results: dict = {}
    with app.app_context():
        org = db.session.get(Organization, org_id)
        users = db.session.scalars(sa.select(User).where(User.org_id == org_id).order_by(User.id)).all()
        rng = random.Random(seed)
        period = current_period(org.timezone)
        bounds = {"org": org.id, "start": period.starts_at, "end": period.ends_at}

        def naive_user(user):
            return db.session.execute(NAIVE_USER_SQL, bounds | {"user": user.id}).all()

        def naive_org():
            return db.session.execute(NAIVE_ORG_SQL, bounds).scalar()

        def rollup_org():
            return db.session.execute(ROLLUP_ORG_SQL, {"org": org.id, "period": period.key}).scalar()

        # Same answers both ways?
        mismatches = []
        for user in rng.sample(users, 5):
            rolled = {p.provider: (p.input_tokens, p.output_tokens, p.cost_usd) for p in usage_summary(org, user).providers}
            raw = {prov: (int(i), int(o), (Decimal(c) / 1_000_000).quantize(Decimal("0.000001")))
                   for prov, i, o, c in naive_user(user)}
            if rolled != raw:
                mismatches.append({"user": user.id, "rollup": str(rolled), "raw": str(raw)})
        spend = budget_status(org).spent_usd
        micros = lambda v: (Decimal(v or 0) / 1_000_000).quantize(Decimal("0.000001"))  # noqa: E731
        raw_spend, rollup_spend = micros(naive_org()), micros(rollup_org())
        if not spend == raw_spend == rollup_spend:
            mismatches.append({"org_spend_period_totals": str(spend), "org_spend_raw": str(raw_spend),
                               "org_spend_rollups": str(rollup_spend)})
        results["checks"] = {"mismatches": mismatches, "period": period.key, "org_spend_usd": str(spend)}

        # Warm-up, then interleave the cheap ones call by call.
        for _ in range(30):
            user = rng.choice(users)
            usage_summary(org, user), naive_user(user), budget_status(org)
        samples: dict[str, list[float]] = {"summary": [], "naive_user": [], "budget": [], "rollup_org": [],
                                           "naive_org": []}
        for _ in range(iterations):
            user = rng.choice(users)
            samples["summary"].append(timed(usage_summary, org, user)[0])
            samples["naive_user"].append(timed(naive_user, user)[0])
            samples["budget"].append(timed(budget_status, org)[0])
        # The scanning references get loops of their own: interleaved, the previous way (a 66 MB scan of
        # usage_rollups at 20,000 people) made the call after it about 0.8 ms slower (cold caches).
        for _ in range(5):  # warm-up
            rollup_org()
        for _ in range(iterations):
            samples["rollup_org"].append(timed(rollup_org)[0])
        naive_org()  # warm-up
        for _ in range(naive_org_iterations):
            samples["naive_org"].append(timed(naive_org)[0])
        results["stats"] = {name: summarize(s) for name, s in samples.items()}

        # Plans of the statements the app functions really send.
        user = rng.choice(users)
        plans = {}
        with StatementCapture(db.engine) as cap:
            usage_summary(org, user)
        plans["usage_summary"] = cap.statements[-1]
        with StatementCapture(db.engine) as cap:
            budget_status(org)
        plans["budget_status"] = cap.statements[0]  # the spend (the forecast's daily totals come after)
        with StatementCapture(db.engine) as cap:
            naive_user(user)
        plans["naive_user"] = cap.statements[-1]
        with StatementCapture(db.engine) as cap:
            rollup_org()
        plans["rollup_org"] = cap.statements[-1]
        with StatementCapture(db.engine) as cap:
            naive_org()
        plans["naive_org"] = cap.statements[-1]
        if "usage_period_totals" not in plans["budget_status"][0]:
            mismatches.append({"budget_status_sql": plans["budget_status"][0],
                               "problem": "budget_status does not read usage_period_totals"})
        results["plans"] = {}
        for name, (statement, parameters) in plans.items():
            entry = {"sql": statement, "parameters": {k: str(v) for k, v in dict(parameters).items()},
                     "plan": explain(db, statement, parameters)}
            index = EXPECTED_INDEX.get(name)
            if index:
                entry["expected_index"] = index
                entry["generic_plan"] = explain_generic(db, statement, dict(parameters))
                entry["uses_expected_index"] = uses_index(entry["plan"], index)
                entry["generic_uses_expected_index"] = uses_index(entry["generic_plan"], index)
                if not entry["uses_expected_index"]:
                    entry["plan_without_seqscan"] = explain_without_seqscan(db, statement, parameters)
                    entry["without_seqscan_uses_expected_index"] = uses_index(entry["plan_without_seqscan"], index)
            entry["scan"] = scan_kind(entry["plan"])
            results["plans"][name] = entry
        db.session.rollback()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the generated database and reuse it next time")
    parser.add_argument("--drop-kept", action="store_true", help="drop the database --keep made, then exit")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--naive-org-iterations", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2, help="parallel INSERT connections while generating")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    args.rows = max(1000, min(args.rows, 200_000_000))
    args.users = max(1, min(args.users, 1_000_000))
    args.iterations = max(1, min(args.iterations, 100_000))
    args.naive_org_iterations = max(1, min(args.naive_org_iterations, 1000))
    args.jobs = max(1, min(args.jobs, 16))
    kept_name = f"toktra_bench_usage_keep_{args.rows}_{args.users}"
    if args.drop_kept:
        drop_database(kept_name)
        print(f"dropped {kept_name} (if it existed)")
        return 0

    now = dt.datetime.now(dt.timezone.utc)
    current_key = now.strftime("%Y-%m")
    dbname = kept_name if args.keep else new_db_name("usage")
    encryption_key = Fernet.generate_key().decode()
    results: dict = {"benchmark": "usage_queries", "environment": environment(), "params": vars(args),
                     "database": dbname}
    print(f"load average {results['environment']['load_average_1_5_15']} on {os.cpu_count()} CPUs")
    flush_redis()
    try:
        meta = read_meta(dbname) if args.keep and database_exists(dbname) else None
        reusable = bool(meta and meta.get("complete") and meta.get("layout") == LAYOUT
                        and meta.get("rows") == args.rows and meta.get("users") == args.users
                        and meta.get("period") == current_key)
        if reusable:
            print(f"reusing {dbname} (generated {meta['generated_at']} in {meta['generation']['timings_s']['total']} s)")
            generation = meta["generation"]
            results["reused_database"] = True
        else:
            if database_exists(dbname):
                drop_database(dbname)
            url = create_database(dbname)
            create_bench_app(url, encryption_key, migrate=True)
            print(f"generating {args.rows:,} usage rows for {args.users:,} users in {dbname}:", flush=True)
            generation = generate(url, args.rows, args.users, args.jobs, now)
            if args.keep:
                write_meta(dbname, {"complete": True, "layout": LAYOUT, "rows": args.rows, "users": args.users,
                                    "period": current_key, "generated_at": now.isoformat(timespec="seconds"),
                                    "generation": generation})
            results["reused_database"] = False
        results["generation"] = generation
        print("sizes:", generation["sizes"], "| rows:", generation["counts"])
        print("events per period:", generation["events_per_period"])
        totals_check = check_period_totals(pg_url(dbname))
        results["period_totals_check"] = totals_check
        print(f"usage_period_totals vs raw rows and vs usage_rollups ({totals_check['periods']} periods, all columns, "
              f"{totals_check['seconds']:.2f} s): "
              + ("agree" if not totals_check["disagreements"] else f"DISAGREE {totals_check['disagreements']}"))

        app = create_bench_app(pg_url(dbname), encryption_key)
        measured = measure(app, generation["org_id"], args.iterations, args.naive_org_iterations, args.seed)
        measured["checks"]["mismatches"] += totals_check["disagreements"]
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()
    finally:
        if not args.keep:
            drop_database(dbname)
        flush_redis()

    stats = measured["stats"]
    results |= measured
    vs = lambda ref, app_fn: {"median": ratio(stats[ref]["median_ms"], stats[app_fn]["median_ms"]),  # noqa: E731
                              "p99": ratio(stats[ref]["p99_ms"], stats[app_fn]["p99_ms"])}
    results["ratios"] = {
        "naive_user_vs_summary": vs("naive_user", "summary"),
        "rollup_org_vs_budget": vs("rollup_org", "budget"),
        "naive_org_vs_budget": vs("naive_org", "budget"),
    }
    results["target"] = {name: {"p99_ms": stats[name]["p99_ms"], "target_ms": TARGET_P99_MS,
                                "met": stats[name]["p99_ms"] < TARGET_P99_MS} for name in ("summary", "budget")}
    r = results["ratios"]
    counts = generation["counts"]

    def row(label, name, against=None):
        met = results["target"].get(name)
        return [label, stats[name]["n"], stats[name]["median_ms"], stats[name]["p99_ms"],
                r[against]["median"] if against else None, r[against]["p99"] if against else None,
                ("yes" if met["met"] else "NO") if met else ""]

    print_table(
        f"usage queries, {counts['usage_records']:,} raw rows / {counts['usage_rollups']:,} rollup rows / "
        f"{counts['usage_period_totals']:,} period-total rows (ms; reference/app function)",
        ["query", "n", "median", "p99", "x median", "x p99", f"p99 < {TARGET_P99_MS:g} ms"],
        [
            row("usage_summary(org, user)    [usage_rollups]", "summary"),
            row("naive per-user GROUP BY     [raw rows]", "naive_user", "naive_user_vs_summary"),
            row("budget_status(org)          [usage_period_totals]", "budget"),
            row("org SUM over usage_rollups  [previous way]", "rollup_org", "rollup_org_vs_budget"),
            row("naive org-wide SUM          [raw rows]", "naive_org", "naive_org_vs_budget"),
        ],
    )
    for name, entry in measured["plans"].items():
        print(f"\nEXPLAIN ANALYZE {name}: {entry['scan']}")
        if "expected_index" in entry:
            print(f"  uses {entry['expected_index']}: custom plan {entry['uses_expected_index']}, "
                  f"generic plan {entry['generic_uses_expected_index']}")
        for line in entry["plan"]:
            print("   ", line)
        if "generic_plan" in entry and entry["generic_plan"] != entry["plan"]:
            print("  generic plan:")
            for line in entry["generic_plan"]:
                print("   ", line)
        if "plan_without_seqscan" in entry:
            print(f"  with enable_seqscan = off ({scan_kind(entry['plan_without_seqscan'])}; uses "
                  f"{entry['expected_index']}: {entry['without_seqscan_uses_expected_index']}):")
            for line in entry["plan_without_seqscan"]:
                print("   ", line)
    mismatches = measured["checks"]["mismatches"]
    print("\nusage_rollups, usage_period_totals and raw rows agree" if not mismatches
          else f"\nMISMATCHES: {mismatches}")
    results["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    print(f"load average at the end: {results['load_average_at_end']}")
    path = write_results("usage_queries", results)
    print(f"results: {path}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
