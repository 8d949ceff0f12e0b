"""The acknowledgement under load (wrk), side by side with a bare Flask app and two no-op Bolt apps.

    .venv/bin/python -m bench.ack_load [--rounds 3] [--seconds 5] [--connections 10 50]

Four servers run at once, each in gunicorn (2 workers x 4 threads, gthread) on its own loopback port:
bare Flask `return "ok"`, a Bolt app whose listener only calls ack() with process_before_response=True,
the same with Bolt's default, and Toktra (wsgi:app) doing the real work (verify, dedupe, authorize,
validate, enqueue). wrk sends each of them a distinct signed `/toktra-budget` per request (signed
beforehand, outside the timed region), round by round and server after server, so that drift on a busy
machine is shared. The table shows medians over the rounds and Toktra's ratio to the no-op Bolt app.

Correctness is checked, not assumed: every answer must be 200 (and empty for Toktra), each Toktra
acknowledgement must have queued exactly one job (no worker runs; the queue is emptied between runs),
and the Slack emulator must receive no request at all while Toktra acknowledges (counted from its log,
after proving with one auth.test that the count works).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from cryptography.fernet import Fernet
from rq import Queue

from bench.cpu_meter import CpuMeter
from bench.ack_latency import Emulator, describe_traffic, prove_counter, setup_data, slack_traffic, stop_process
from bench.common import (
    finish, REDIS_URL, ROOT, SIGNING_SECRET, create_bench_app, create_database, drop_database, environment, flush_redis,
    free_port, new_db_name, print_table, ratio, require_local, wait_for_port,
)
from devtools.slack_sender import SlackSender

SERVERS = {
    "flask": ("bare Flask `return \"ok\"`", "bench.anchors:bare_flask"),
    "bolt_before_response": ("Bolt, listener only calls ack(), process_before_response=True",
                             "bench.anchors:bolt_before_response"),
    "bolt_default": ("the same with Bolt's default", "bench.anchors:bolt_default"),
    "toktra": ("Toktra's acknowledgement", "wsgi:app"),
}
WRK_THREADS = 2
# wrk's Lua: each thread takes every WRK_THREADS-th pre-signed request of the file, in order; counts
# answers that are not 200 (or, with args[3] == "empty", not empty) and requests beyond the file.
WRK_SCRIPT = r"""
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  lines, n, i, bad, sent, wrapped = {}, 0, 0, 0, 0, 0
  local nthreads, k = tonumber(args[2]), 0
  want_empty = args[3] == "empty"
  for line in io.lines(args[1]) do
    if k % nthreads == id then
      local ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      n = n + 1
      lines[n] = wrk.format("POST", "/slack/events", {["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Slack-Request-Timestamp"] = ts, ["X-Slack-Signature"] = sig}, body)
    end
    k = k + 1
  end
end
function request()
  i = i + 1
  if i > n then i = 1; wrapped = wrapped + 1 end
  sent = sent + 1
  return lines[i]
end
function response(status, headers, body)
  if status ~= 200 or (want_empty and body ~= "") then
    bad = bad + 1
    if bad == 1 then io.stderr:write(string.format("TOKTRA_BAD %d %s\n", status, body:sub(1, 200))) end
  end
end
function done(summary, latency, requests)
  local b, s, w = 0, 0, 0
  for _, t in ipairs(threads) do b = b + t:get("bad"); s = s + t:get("sent"); w = w + t:get("wrapped") end
  local e = summary.errors
  io.write(string.format("TOKTRA_WRK %d %d %d %d %d %d %d %d\n", summary.requests, summary.duration, b, s, w,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


class Recorder:
    """A SlackSender transport that keeps what would be posted instead of posting it."""

    def __init__(self):
        self.lines: list[str] = []

    def post(self, path: str, data: str, headers: dict):
        self.lines.append(f"{headers['X-Slack-Request-Timestamp']}\t{headers['X-Slack-Signature']}\t{data}")


def signed_requests(path: Path, count: int, response_url: str) -> None:
    """Write count distinct signed /toktra-budget requests (one per line: timestamp, signature, body)."""
    recorder = Recorder()
    sender = SlackSender(SIGNING_SECRET, recorder)
    for _ in range(count):
        sender.command("/toktra-budget", "", user_id="U0001", team_id="T0001", response_url=response_url)
    path.write_text("\n".join(recorder.lines) + "\n")


def start_server(target: str, env: dict, workdir: Path, name: str) -> tuple[subprocess.Popen, int]:
    """gunicorn (2 workers x 4 threads, gthread) serving target on a free loopback port."""
    port = free_port()
    log = open(workdir / f"{name}.log", "w")
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), target, "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--threads", "4", "--worker-class", "gthread", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    wait_for_port(port, timeout=30)
    return proc, port


def run_wrk(port: int, connections: int, seconds: float, requests_file: Path, script: Path, want_empty: bool) -> dict:
    """One wrk run; what its Lua done() reported."""
    done = subprocess.run(
        ["wrk", "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{int(seconds)}s", "--timeout", "5s",
         "-s", str(script), f"http://127.0.0.1:{port}", "--", str(requests_file), str(WRK_THREADS),
         "empty" if want_empty else "any"],
        capture_output=True, text=True, timeout=seconds + 60,
    )
    line = next((l for l in done.stdout.splitlines() if l.startswith("TOKTRA_WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk said nothing usable: {done.stdout[-500:]} {done.stderr[-500:]}")
    answered, duration_us, bad, sent, wrapped, errors, p50, p99 = map(int, line.split()[1:])
    first_bad = next((l[len("TOKTRA_BAD "):] for l in done.stderr.splitlines() if l.startswith("TOKTRA_BAD ")), None)
    return {"first_bad": first_bad, "requests": answered, "rps": answered / (duration_us / 1e6), "bad": bad, "sent": sent,
            "wrapped": wrapped, "socket_errors": errors, "p50_ms": p50 / 1000, "p99_ms": p99 / 1000}


def ensure_wrk() -> None:
    """Install Debian's wrk if it is missing (as bin/test installs its packages)."""
    if shutil.which("wrk"):
        return
    subprocess.run(["bash", "-c", "source bin/lib.sh && ensure_debian_packages wrk"], cwd=ROOT, check=True)


def server_env(database_url: str, encryption_key: str, emulator_url: str) -> dict:
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL", "TZ") if name in os.environ}
    env.update({
        "TOKTRA_ENV": "test", "DATABASE_URL": require_local(database_url), "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "bench-secret-key", "TOKTRA_ENCRYPTION_KEY": encryption_key,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET, "PUBLIC_BASE_URL": "http://toktra.bench", "SLACK_API_URL": emulator_url,
    })
    return env


def cpu_table(table: dict, connections: list[int]) -> None:
    """Where each acknowledgement's CPU went: the server's processes, redis-server, wrk, the whole machine."""
    rows = []
    for key, (label, _) in SERVERS.items():
        for count in connections:
            cpu = table[key][count]["cpu_per_request_us"]
            if cpu:
                rows.append([label, count, *(cpu[name] for name in ("server_us", "redis_us", "load_generator_us",
                                                                     "machine_us"))])
    if rows:
        print_table("CPU per request in µs, medians (while the machine is busy throughout, throughput is its CPUs "
                    "over the last column)", ["server", "conn", "gunicorn", "redis-server", "wrk", "machine"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument("--connections", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--max-rate", type=int, default=15000, help="requests/s the pre-signed pool must cover")
    args = parser.parse_args(argv)
    args.rounds = max(1, min(args.rounds, 20))
    args.seconds = max(1, min(args.seconds, 60))
    ensure_wrk()

    dbname = new_db_name("ackload")
    encryption_key = Fernet.generate_key().decode()
    workdir = Path(tempfile.mkdtemp(prefix="toktra_bench_ackload_"))
    script = workdir / "signed.lua"
    script.write_text(WRK_SCRIPT)
    requests_file = workdir / "requests.tsv"
    problems: list[str] = []
    results: dict = {"benchmark": "ack_load", "environment": environment(), "params": vars(args)}
    print(f"load average {results['environment']['load_average_1_5_15']} on {os.cpu_count()} CPUs")
    servers: dict[str, tuple[subprocess.Popen, int]] = {}
    emulator = None
    flush_redis()
    try:
        database_url = create_database(dbname)
        emulator = Emulator(workdir)
        setup_data(create_bench_app(database_url, encryption_key, migrate=True, SLACK_API_URL=emulator.url))
        queue = Queue("default", connection=redis.Redis.from_url(REDIS_URL))
        prove_counter(emulator, problems)
        before = emulator.counts()
        env = server_env(database_url, encryption_key, emulator.url)
        for key, (_, target) in SERVERS.items():
            servers[key] = start_server(target, env, workdir, key)

        runs: dict[tuple[str, int], list[dict]] = {}
        pool = int(args.max_rate * args.seconds)
        for round_no in range(args.rounds + 1):  # round 0 warms every server up and is not counted
            for connections in args.connections:
                for key in SERVERS:
                    signed_requests(requests_file, pool, emulator.response_url())
                    queue.empty()
                    meter = CpuMeter(servers[key][0].pid, queue.connection)
                    meter.start()
                    run = run_wrk(servers[key][1], connections, args.seconds if round_no else 1,
                                  requests_file, script, want_empty=key == "toktra")
                    run["cpu"] = meter.per_request(run["requests"])
                    if key == "toktra":
                        time.sleep(0.5)  # let requests still in flight when wrk stopped finish
                        jobs = queue.count
                        ok = run["requests"] - run["bad"]
                        if not ok <= jobs <= ok + connections:
                            problems.append(f"{ok} acknowledgements (and at most {connections} in flight) "
                                            f"queued {jobs} jobs")
                        run["jobs"] = jobs
                    if run["bad"] or run["socket_errors"]:
                        problems.append(f"{key} at {connections} connections: {run['bad']} answers not 200"
                                        f"{' and empty' if key == 'toktra' else ''} (first: {run['first_bad']}), "
                                        f"{run['socket_errors']} socket errors")
                    if run["wrapped"]:
                        problems.append(f"{key}: the pre-signed pool ran out (raise --max-rate)")
                    if round_no:
                        runs.setdefault((key, connections), []).append(run)
        queue.empty()
        for proc, _ in servers.values():
            stop_process(proc)
        servers.clear()
        calls = emulator.since(before)
        slack_traffic(calls, "the load runs", problems)
        results["slack_calls"] = calls
        print(f"Slack emulator during the load runs: {describe_traffic(calls)}")
    finally:
        for proc, _ in servers.values():
            stop_process(proc)
        if emulator is not None:
            emulator.stop()
        drop_database(dbname)
        flush_redis()

    table = {}
    for (key, connections), samples in runs.items():
        cpu = [r["cpu"] for r in samples if r["cpu"]]
        table.setdefault(key, {})[connections] = {
            "rps": round(statistics.median(r["rps"] for r in samples)),
            "p50_ms": round(statistics.median(r["p50_ms"] for r in samples), 1),
            "p99_ms": round(statistics.median(r["p99_ms"] for r in samples), 1),
            "cpu_per_request_us": ({name: round(statistics.median(c[name] for c in cpu)) for name in cpu[0]}
                                   if cpu else None),
            "runs": samples,
        }
    anchor = table["bolt_before_response"]
    rows = []
    for key, (label, _) in SERVERS.items():
        row = [label]
        for connections in args.connections:
            cell = table[key][connections]
            row += [cell["rps"], cell["p99_ms"], ratio(cell["rps"], anchor[connections]["rps"])]
        rows.append(row)
    headers = ["server"] + [f"{c} conn: {what}" for c in args.connections for what in ("req/s", "p99 ms", "x Bolt")]
    print_table(f"acknowledgement under load, medians of {args.rounds} rounds of {args.seconds:g} s "
                f"(x Bolt: throughput / the process_before_response no-op Bolt app's)", headers, rows)
    cpu_table(table, args.connections)
    results["table"] = table
    return finish("ack_load", results, problems, workdir,
                  "every answer was 200, every Toktra ack empty with exactly one job queued, no call to Slack")


if __name__ == "__main__":
    sys.exit(main())
