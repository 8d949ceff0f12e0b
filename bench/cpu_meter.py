"""CPU time spent during a measured run, by who spent it: a server's processes, redis-server, the load
generator (this process's children), and the whole machine. Linux only (/proc); elsewhere None."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import redis

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of pid and its live children (gunicorn's master and workers)."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return sum(_process_cpu(p) for p in (pid, *map(int, children)))


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # gone
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def machine_cpu() -> float:
    """CPU seconds every core spent busy so far (all but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICKS


def redis_cpu(connection: redis.Redis) -> float:
    """CPU seconds redis-server has spent (its own INFO)."""
    info = connection.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class CpuMeter:
    """Start before a run, stop after it: CPU per request of each party, in µs."""

    def __init__(self, server_pid: int, connection: redis.Redis):
        self.server_pid = server_pid
        self.connection = connection
        self.available = Path("/proc/stat").exists()

    def _read(self) -> tuple[float, float, float, float]:
        times = os.times()
        return (process_tree_cpu(self.server_pid), redis_cpu(self.connection),
                times.children_user + times.children_system, machine_cpu())

    def start(self) -> None:
        """Take the readings the run is measured from."""
        self.before = self._read() if self.available else None

    def per_request(self, requests: int) -> dict | None:
        """µs of CPU per request since start(): server, redis, load generator, machine."""
        if self.before is None or not requests:
            return None
        after = self._read()
        names = ("server_us", "redis_us", "load_generator_us", "machine_us")
        return {name: round((a - b) / requests * 1e6) for name, a, b in zip(names, after, self.before)}
