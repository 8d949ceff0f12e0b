"""How fast a signed slash command is acknowledged: in-process (Flask test client) and through gunicorn.

    .venv/bin/python -m bench.ack_latency [--n-inproc 2000] [--n-seq 1000] [--n-conc 2000] [--threads 8]

A `/toktra-budget` from user U0001 of installed workspace T0001 is signed with the signing secret
(devtools.slack_sender.SlackSender) and posted to /slack/events; the listener only enqueues a job, and
no worker runs (the queue is emptied between batches, outside the timed region). Every acknowledgement
must be 200 with an empty body and must have queued exactly one job. Baseline, measured in the same
run and interleaved batch by batch: GET /healthz (one SELECT 1 and one Redis PING).

The acknowledgement does not call Slack: Bolt's authorize step is answered from our SlackWorkspace rows
(app.slack.ingress.authorize.StoredWorkspaceAuthorize), not by auth.test. The benchmark checks that rather than
assuming it: it runs the Slack emulator (devtools/slack_emulator.py) as a subprocess, points SLACK_API_URL
at it (in this process and in gunicorn), proves with one auth.test of its own that the emulator's log
counts calls, and then requires that the emulator receives zero requests (Web API calls or response_url
posts) from the first warm-up acknowledgement of (a) until gunicorn has been stopped after (b). Any call
is reported as a problem (exit status 1).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

import redis
import requests
from cryptography.fernet import Fernet
from rq import Queue

from bench.common import (
    REDIS_URL, ROOT, SIGNING_SECRET, create_bench_app, create_database, drop_database, environment, flush_redis,
    free_port, new_db_name, print_table, ratio, require_local, summarize, wait_for_port, write_results,
)
from devtools.slack_sender import SlackSender

COMMAND = "/toktra-budget"
TEAM_ID = "T0001"
SLACK_USER = "U0001"
BOT_TOKEN = "xoxb-T0001-bench"
BATCH = 250


class Transport:
    """What SlackSender posts through; `last` is the duration of the HTTP exchange alone (signing excluded)."""

    def __init__(self, client=None, base_url: str | None = None):
        self.client = client
        self.base_url = require_local(base_url).rstrip("/") if base_url else None
        self.session = requests.Session() if base_url else None
        self.last = 0.0

    def post(self, path: str, data: str, headers: dict) -> tuple[int, bytes]:
        if self.session is not None:
            body = data.encode()
            start = time.perf_counter()
            response = self.session.post(self.base_url + path, data=body, headers=headers, timeout=10)
            content = response.content
            self.last = time.perf_counter() - start
            return response.status_code, content
        start = time.perf_counter()
        response = self.client.post(path, data=data, headers=headers)
        content = response.get_data()
        self.last = time.perf_counter() - start
        return response.status_code, content

    def get(self, path: str) -> tuple[int, bytes]:
        if self.session is not None:
            start = time.perf_counter()
            response = self.session.get(self.base_url + path, timeout=10)
            content = response.content
            self.last = time.perf_counter() - start
            return response.status_code, content
        start = time.perf_counter()
        response = self.client.get(path)
        content = response.get_data()
        self.last = time.perf_counter() - start
        return response.status_code, content


class Checks:
    """Counts responses that are not what Slack expects (thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.bad: list[str] = []

    def command(self, status: int, body: bytes) -> None:
        if status != 200 or body != b"":
            with self.lock:
                self.bad.append(f"command -> {status} {body[:200]!r}")

    def health(self, status: int, body: bytes) -> None:
        if status != 200:
            with self.lock:
                self.bad.append(f"healthz -> {status} {body[:200]!r}")


# One log line per Web API call ("POST auth.test {...} -> 200 ok") and per response_url post
# ("response_url/bench {...} -> 200"); the startup banner matches neither.
API_CALL = re.compile(r"\b(?:GET|POST) ([A-Za-z0-9_.]+) \{")
RESPONSE_URL_POST = re.compile(r"\bresponse_url/[^\s/]+ \{")


class Emulator:
    """The Slack emulator in its own process (so it does not share this process's GIL)."""

    def __init__(self, workdir: Path, users: tuple[str, ...] = ()):
        self.port = free_port()
        self.log_path = workdir / "slack_emulator.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devtools.slack_emulator", "--host", "127.0.0.1", "--port", str(self.port),
             "--team", f"{TEAM_ID}:Acme:{BOT_TOKEN}", *(arg for user in users for arg in ("--user", user))],
            cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port)
        self.url = f"http://127.0.0.1:{self.port}/"

    def counts(self) -> dict:
        """Requests the emulator has logged so far: Web API calls (in all and per method), response_url posts."""
        # Log lines can interleave under concurrency, so count occurrences, not lines.
        with open(self.log_path) as f:
            text = f.read()
        methods: dict[str, int] = {}
        for method in API_CALL.findall(text):
            methods[method] = methods.get(method, 0) + 1
        return {"web_api_calls": sum(methods.values()), "by_method": methods,
                "response_url_posts": len(RESPONSE_URL_POST.findall(text))}

    def since(self, before: dict) -> dict:
        """What the emulator received after the counts() snapshot `before`."""
        now = self.counts()
        methods = {m: n - before["by_method"].get(m, 0) for m, n in now["by_method"].items()}
        return {"web_api_calls": now["web_api_calls"] - before["web_api_calls"],
                "by_method": {m: n for m, n in methods.items() if n},
                "response_url_posts": now["response_url_posts"] - before["response_url_posts"]}

    def response_url(self) -> str:
        return f"{self.url}response_url/bench"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


def setup_data(app) -> None:
    """An org, its admin, and Slack workspace T0001 installed with the emulator's bot token."""
    from app.extensions import db
    from app.models import SlackWorkspace
    from app.services.accounts import create_organization, create_user

    with app.app_context():
        org = create_organization("Globex", Decimal("10000"), 80, "UTC")
        admin = create_user(org, "ada@globex.example", "Ada Admin", "admin", "correct horse battery")
        db.session.add(SlackWorkspace(
            org_id=org.id, team_id=TEAM_ID, team_name="Acme", app_id="A0001", bot_id="B0001BOT",
            bot_user_id="U0001BOT", bot_token=BOT_TOKEN, scopes="chat:write,commands", installed_by_id=admin.id,
        ))
        db.session.commit()


def command_sender(transport: Transport, response_url: str):
    sender = SlackSender(SIGNING_SECRET, transport)

    def send() -> tuple[int, bytes]:
        return sender.command(COMMAND, "", user_id=SLACK_USER, team_id=TEAM_ID, response_url=response_url)

    return send


def drain(queue: Queue, expected: int, problems: list[str]) -> None:
    """Empty the queue after a batch, checking that every acknowledged command queued one job."""
    count = queue.count
    if count != expected:
        problems.append(f"expected {expected} queued jobs after a batch, found {count}")
    queue.empty()


def sequential(n: int, batch: int, steps: dict, queue: Queue, problems: list[str]) -> dict[str, list[float]]:
    """Run steps (name -> (call, transport, check, is_command)) in interleaved batches; return latencies per step."""
    samples = {name: [] for name in steps}
    done = 0
    while done < n:
        size = min(batch, n - done)
        for name, (call, transport, check, is_command) in steps.items():
            for _ in range(size):
                status, body = call()
                samples[name].append(transport.last)
                check(status, body)
            if is_command:
                drain(queue, size, problems)
        done += size
    return samples


def concurrent(total: int, threads: int, batch: int, make_call, queue: Queue | None,
               problems: list[str]) -> tuple[list[float], float]:
    """total requests from `threads` client threads, in batches; returns (latencies, summed wall time)."""
    workers = [make_call() for _ in range(threads)]
    latencies: list[float] = []
    wall = 0.0
    done = 0
    while done < total:
        size = min(batch, total - done)
        remaining = [size]
        lock = threading.Lock()
        per_thread: list[list[float]] = [[] for _ in range(threads)]

        def run(index: int) -> None:
            call, transport, check = workers[index]
            while True:
                with lock:
                    if remaining[0] == 0:
                        return
                    remaining[0] -= 1
                status, body = call()
                per_thread[index].append(transport.last)
                check(status, body)

        pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
        start = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        wall += time.perf_counter() - start
        for chunk in per_thread:
            latencies.extend(chunk)
        if queue is not None:
            drain(queue, size, problems)
        done += size
    return latencies, wall


def prove_counter(emulator: Emulator, problems: list[str]) -> dict:
    """One auth.test of our own (slack_sdk WebClient, as the app calls Slack): the count must see exactly it.

    Without this, "zero calls" could also mean a log the counter cannot read.
    """
    from slack_sdk import WebClient

    before = emulator.counts()
    response = WebClient(token=BOT_TOKEN, base_url=emulator.url, timeout=10).auth_test()
    seen = emulator.since(before)  # the emulator logs a call before it answers it
    if not response.get("ok") or seen["web_api_calls"] != 1 or seen["by_method"] != {"auth.test": 1}:
        problems.append(f"the emulator call counter does not work: one auth.test ({response.get('ok')}) "
                        f"was counted as {seen}")
    return seen


def slack_traffic(seen: dict, what: str, problems: list[str]) -> None:
    """The acknowledgement path must not reach Slack at all."""
    if seen["web_api_calls"] or seen["response_url_posts"]:
        problems.append(f"the emulator received requests during {what}: {seen['web_api_calls']} Web API call(s) "
                        f"{seen['by_method']}, {seen['response_url_posts']} response_url post(s)")


def describe_traffic(seen: dict) -> str:
    methods = ", ".join(f"{m} x{n}" for m, n in sorted(seen["by_method"].items()))
    return (f"{seen['web_api_calls']} Web API call(s){' (' + methods + ')' if methods else ''}, "
            f"{seen['response_url_posts']} response_url post(s)")


def start_gunicorn(database_url: str, encryption_key: str, emulator: Emulator, workdir: Path,
                   workers: int, threads: int) -> tuple[subprocess.Popen, str, object]:
    port = free_port()
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL", "TZ") if name in os.environ}
    env.update({
        "TOKTRA_ENV": "test",
        "DATABASE_URL": require_local(database_url),
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "bench-secret-key",
        "TOKTRA_ENCRYPTION_KEY": encryption_key,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "PUBLIC_BASE_URL": "http://toktra.bench",
        "SLACK_API_URL": emulator.url,
    })
    log = open(workdir / "gunicorn.log", "w")
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "wsgi:app", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {workdir / 'gunicorn.log'}")
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or too busy to answer yet
            pass
        if time.monotonic() > deadline:
            stop_process(proc)
            raise TimeoutError("gunicorn did not answer /healthz within 30 s")
        time.sleep(0.1)
    return proc, base, log


def stop_process(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-inproc", type=int, default=2000, help="in-process requests per scenario")
    parser.add_argument("--n-seq", type=int, default=1000, help="sequential gunicorn requests per scenario")
    parser.add_argument("--n-conc", type=int, default=2000, help="concurrent gunicorn requests per scenario")
    parser.add_argument("--threads", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    args = parser.parse_args(argv)
    for name in ("n_inproc", "n_seq", "n_conc", "warmup"):
        setattr(args, name, max(1, min(getattr(args, name), 100_000)))  # bounded loops

    dbname = new_db_name("ack")
    encryption_key = Fernet.generate_key().decode()
    workdir = Path(tempfile.mkdtemp(prefix="toktra_bench_ack_"))
    problems: list[str] = []
    checks = Checks()
    results: dict = {"benchmark": "ack_latency", "environment": environment(), "command": COMMAND,
                     "params": vars(args), "database": dbname}
    emulator = gunicorn = gunicorn_log = None
    print(f"load average {results['environment']['load_average_1_5_15']} on {os.cpu_count()} CPUs")
    flush_redis()
    try:
        database_url = create_database(dbname)
        emulator = Emulator(workdir)
        app = create_bench_app(database_url, encryption_key, migrate=True, SLACK_API_URL=emulator.url)
        setup_data(app)
        queue = Queue("default", connection=redis.Redis.from_url(REDIS_URL))
        print(f"database {dbname}; Slack emulator {emulator.url}; logs in {workdir} (removed if all is well)")

        control = prove_counter(emulator, problems)
        results["slack_calls"] = {"counter_control_one_auth_test": control}

        # ---------------------------------------------------------------- (a) in-process
        client = app.test_client()
        health_t, cmd_t = Transport(client), Transport(client)
        send_cmd = command_sender(cmd_t, emulator.response_url())
        health = lambda: health_t.get("/healthz")  # noqa: E731
        before_all = before_a = emulator.counts()
        for _ in range(args.warmup):
            checks.health(*health())
            checks.command(*send_cmd())
        drain(queue, args.warmup, problems)
        from app.slack.ingress.authorize import StoredWorkspaceAuthorize

        authorize = type(app.extensions["toktra.bolt"]._authorize)
        results["bolt_authorize"] = f"{authorize.__module__}.{authorize.__qualname__}"
        if authorize is not StoredWorkspaceAuthorize:
            problems.append(f"Bolt authorizes with {results['bolt_authorize']}, not StoredWorkspaceAuthorize")

        inproc = sequential(args.n_inproc, BATCH, {
            "healthz": (health, health_t, checks.health, False),
            "ack": (send_cmd, cmd_t, checks.command, True),
        }, queue, problems)
        calls_a = emulator.since(before_a)
        slack_traffic(calls_a, "(a)", problems)

        a = {name: summarize(samples) for name, samples in inproc.items()}
        base = a["healthz"]
        for name in a:
            a[name]["ratio_median_vs_healthz"] = ratio(a[name]["median_ms"], base["median_ms"])
            a[name]["ratio_p99_vs_healthz"] = ratio(a[name]["p99_ms"], base["p99_ms"])
        results["in_process"] = a
        results["slack_calls"]["in_process"] = {"acks": args.warmup + args.n_inproc, **calls_a}
        labels = {
            "healthz": "GET /healthz (baseline)",
            "ack": f"{COMMAND} ack",
        }
        print_table(
            "(a) in-process, Flask test client, sequential (ms; ratio vs /healthz)",
            ["scenario", "n", "median", "p99", "x median", "x p99"],
            [[labels[k], v["n"], v["median_ms"], v["p99_ms"], v["ratio_median_vs_healthz"], v["ratio_p99_vs_healthz"]]
             for k, v in a.items()],
        )
        print(f"Slack emulator, during (a): {describe_traffic(calls_a)} for {args.warmup + args.n_inproc} acks "
              f"(warm-up included)")

        # ---------------------------------------------------------------- (b) gunicorn
        before_b = emulator.counts()
        gunicorn, base_url, gunicorn_log = start_gunicorn(
            database_url, encryption_key, emulator, workdir, args.gunicorn_workers, args.gunicorn_threads)
        seq_health_t, seq_cmd_t = Transport(base_url=base_url), Transport(base_url=base_url)
        seq_health = lambda: seq_health_t.get("/healthz")  # noqa: E731
        seq_cmd = command_sender(seq_cmd_t, emulator.response_url())

        def make_health():
            t = Transport(base_url=base_url)
            return (lambda: t.get("/healthz")), t, checks.health

        def make_cmd():
            t = Transport(base_url=base_url)
            return command_sender(t, emulator.response_url()), t, checks.command

        # Warm-up: every gunicorn thread gets its DB/Redis connections and each worker builds its Bolt app.
        for _ in range(args.warmup // 2):
            checks.health(*seq_health())
            checks.command(*seq_cmd())
        drain(queue, args.warmup // 2, problems)
        concurrent(args.threads * 25, args.threads, 10**6, make_health, None, problems)
        concurrent(args.threads * 25, args.threads, 10**6, make_cmd, queue, problems)

        seq = sequential(args.n_seq, BATCH, {
            "healthz": (seq_health, seq_health_t, checks.health, False),
            "ack": (seq_cmd, seq_cmd_t, checks.command, True),
        }, queue, problems)
        conc: dict[str, tuple[list[float], float]] = {}
        for _round in range(2):  # alternate the two scenarios in halves to share any drift
            for name, make in (("healthz", make_health), ("ack", make_cmd)):
                lat, wall = concurrent(args.n_conc // 2, args.threads, 500, make,
                                       queue if name == "ack" else None, problems)
                prev = conc.get(name, ([], 0.0))
                conc[name] = (prev[0] + lat, prev[1] + wall)
        # Stop gunicorn before the last count, so that nothing it might still send is missed.
        stop_process(gunicorn)
        gunicorn_log.close()
        gunicorn = None
        calls_b = emulator.since(before_b)
        calls_all = emulator.since(before_all)
        slack_traffic(calls_b, "(b)", problems)

        b_seq = {name: summarize(s) for name, s in seq.items()}
        for name, s in b_seq.items():
            s["throughput_rps"] = round(s["n"] / (sum(seq[name])), 1)
        b_conc = {}
        for name, (lat, wall) in conc.items():
            b_conc[name] = summarize(lat) | {"wall_s": round(wall, 3), "throughput_rps": round(len(lat) / wall, 1)}
        for table in (b_seq, b_conc):
            for name in table:
                table[name]["ratio_median_vs_healthz"] = ratio(table[name]["median_ms"], table["healthz"]["median_ms"])
                table[name]["ratio_p99_vs_healthz"] = ratio(table[name]["p99_ms"], table["healthz"]["p99_ms"])
                table[name]["ratio_throughput_vs_healthz"] = ratio(table[name]["throughput_rps"],
                                                                   table["healthz"]["throughput_rps"])
        results["gunicorn"] = {
            "workers": args.gunicorn_workers, "threads": args.gunicorn_threads,
            "sequential": b_seq, "concurrent": b_conc | {"client_threads": args.threads},
        }
        acks_b = args.warmup // 2 + args.threads * 25 + args.n_seq + args.n_conc
        results["slack_calls"]["gunicorn"] = {"acks": acks_b, **calls_b}
        results["slack_calls"]["all_acks"] = {"acks": args.warmup + args.n_inproc + acks_b, **calls_all}
        rows = []
        for mode, table in (("sequential", b_seq), (f"{args.threads} threads", b_conc)):
            for name, v in table.items():
                rows.append([f"{mode}: {labels[name]}", v["n"], v["median_ms"], v["p99_ms"], v["throughput_rps"],
                             v["ratio_median_vs_healthz"], v["ratio_p99_vs_healthz"], v["ratio_throughput_vs_healthz"]])
        print_table(
            f"(b) gunicorn {args.gunicorn_workers} workers x {args.gunicorn_threads} threads, requests.Session "
            f"(ms, req/s; ratio vs /healthz)",
            ["scenario", "n", "median", "p99", "req/s", "x median", "x p99", "x req/s"], rows,
        )
        print(f"Slack emulator, during (b): {describe_traffic(calls_b)} for {acks_b} acks "
              f"(gunicorn start, warm-up and stop included)")
        print(f"Slack emulator, all acknowledgements: {describe_traffic(calls_all)} for "
              f"{args.warmup + args.n_inproc + acks_b} acks")
    finally:
        if gunicorn is not None:
            stop_process(gunicorn)
            gunicorn_log.close()
        if emulator is not None:
            emulator.stop()
        drop_database(dbname)
        flush_redis()

    problems.extend(checks.bad)
    results["problems"] = problems[:50]
    results["problem_count"] = len(problems)
    results["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    print(f"load average at the end: {results['load_average_at_end']}")
    path = write_results("ack_latency", results)
    if problems:
        print(f"\n{len(problems)} problem(s), e.g.:", *problems[:5], sep="\n  ")
        print(f"gunicorn and emulator logs kept in {workdir}")
    else:
        print("\nevery acknowledgement was 200 with an empty body, queued exactly one job, and made no call to Slack")
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"results: {path}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
