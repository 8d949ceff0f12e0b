"""Shared helpers: throwaway PostgreSQL databases, the app, Redis db 13, statistics, tables, JSON results."""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

PG_ADMIN_URL = os.environ.get("TOKTRA_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TOKTRA_BENCH_REDIS", "redis://127.0.0.1:6379/13")  # flushed: use a database of its own
SIGNING_SECRET = "bench-signing-secret"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent


def require_local(url: str) -> str:
    """Refuse any URL that does not point at this machine's loopback address."""
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"refusing to benchmark against non-local {url!r}")
    return url


def pg_url(dbname: str) -> str:
    """The admin URL with its database replaced by dbname."""
    return re.sub(r"/[^/]*$", f"/{dbname}", PG_ADMIN_URL)


def new_db_name(tag: str = "") -> str:
    """A fresh throwaway database name, toktra_bench_[tag_]<hex>."""
    return f"toktra_bench_{tag + '_' if tag else ''}{secrets.token_hex(5)}"


def database_exists(name: str) -> bool:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def create_database(name: str) -> str:
    """Create an empty database; return its URL."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_overrides(database_url: str, encryption_key: str, **extra) -> dict:
    """Config overrides for a bench app (same keys as tests/conftest.py's make_overrides)."""
    from app.config import normalize_database_url

    return {
        "TESTING": True,
        "SECRET_KEY": secrets.token_urlsafe(16),
        "TOKTRA_ENCRYPTION_KEY": encryption_key,
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
        "REDIS_URL": REDIS_URL,
        "PUBLIC_BASE_URL": "http://toktra.bench",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        # Never let anything reach slack.com from a benchmark.
        "SLACK_API_URL": "http://127.0.0.1:9/",
        **extra,
    }


def create_bench_app(database_url: str, encryption_key: str, migrate: bool = False, **extra):
    """A test-mode app on database_url (migrated to head first when migrate=True)."""
    os.environ["TOKTRA_ENV"] = "test"
    from app import create_app

    app = create_app(make_overrides(database_url, encryption_key, **extra))
    require_local(app.config["SLACK_API_URL"])
    require_local(app.config["REDIS_URL"])
    if migrate:
        from flask_migrate import upgrade

        with app.app_context():
            upgrade()
    return app


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(samples: list[float]) -> dict:
    """Statistics in milliseconds for samples in seconds."""
    ordered = sorted(samples)
    ms = lambda v: round(v * 1000, 3)  # noqa: E731
    return {
        "n": len(ordered),
        "median_ms": ms(statistics.median(ordered)),
        "p99_ms": ms(percentile(ordered, 99)),
        "mean_ms": ms(statistics.fmean(ordered)),
        "min_ms": ms(ordered[0]),
        "max_ms": ms(ordered[-1]),
    }


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def print_table(title: str, headers: list[str], rows: list[list]) -> None:
    """A plain fixed-width table."""
    cells = [[str(h) for h in headers]] + [["" if c is None else (f"{c:,.3f}" if isinstance(c, float) else str(c))
                                            for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = "  ".join("-" * w for w in widths)
    print(f"\n{title}")
    print(line)
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            print(line)
    print(line)


def environment() -> dict:
    """Where the figures come from."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()[0]
        shared_buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
    return {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "postgresql": pg_version,
        "shared_buffers": shared_buffers,
        # Other work on the machine skews the figures: compare with the CPU count.
        "load_average_1_5_15": [round(v, 2) for v in os.getloadavg()],
    }


def write_results(name: str, data: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def finish(name: str, results: dict, problems: list[str], workdir: Path, all_well: str) -> int:
    """Record the problems and the load at the end, write the results, say how it went; the exit status."""
    results["problems"] = problems[:50]
    results["problem_count"] = len(problems)
    results["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    print(f"load average at the end: {results['load_average_at_end']}")
    path = write_results(name, results)
    if problems:
        print(f"\n{len(problems)} problem(s), e.g.:", *problems[:10], sep="\n  ")
        print(f"logs kept in {workdir}")
    else:
        print(f"\n{all_well}")
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"results: {path}")
    return 1 if problems else 0
