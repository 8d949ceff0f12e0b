"""Processes of our own for fault tests: a private redis-server, a private PostgreSQL cluster, the worker.

Each runs on a free loopback port (never the shared 5432/6379) and can be hurt the way production
gets hurt: Redis restarted (losing its data), paused (SIGSTOP) and resumed; PostgreSQL stopped and
started; the worker, or only the process of it that is talking to Slack, SIGKILLed. Every process
started here is ended at teardown, or at interpreter exit if a run is interrupted.
"""
from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]


_cleanups: list[Callable[[], None]] = []
_cleanup_lock = threading.Lock()


def on_exit(cleanup: Callable[[], None]) -> Callable[[], None]:
    """Run cleanup at interpreter exit too (a crashed or interrupted run leaves no process behind)."""
    with _cleanup_lock:
        if not _cleanups:
            atexit.register(run_cleanups)
        _cleanups.append(cleanup)
    return cleanup


def forget(cleanup: Callable[[], None]) -> None:
    """Cleanup already ran: drop it from the exit list."""
    with _cleanup_lock, contextlib.suppress(ValueError):
        _cleanups.remove(cleanup)


def run_cleanups() -> None:
    """Run every registered cleanup, newest first, ignoring their errors."""
    with _cleanup_lock:
        pending = list(reversed(_cleanups))
        _cleanups.clear()
    for cleanup in pending:
        with contextlib.suppress(Exception):
            cleanup()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05):
    """Poll predicate until it returns something truthy (returned) or timeout seconds pass (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def _start_time(pid: int) -> str | None:
    """The kernel's start time of pid (field 22 of /proc/<pid>/stat): a pid's identity across reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _parent_map() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def descendants(pid: int) -> list[int]:
    """Every live process below pid (children, grandchildren...)."""
    parents = _parent_map()
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found += children
        frontier += children
    return found


class Process:
    """A process we started (or found below one we started), remembered with its start time."""

    def __init__(self, pid: int):
        self.pid = pid
        self.started = _start_time(pid)

    def alive(self) -> bool:
        """True while this very process (not a later one with the same pid) runs and is not a zombie."""
        if self.started is None or _start_time(self.pid) != self.started:
            return False
        with contextlib.suppress(OSError):
            return Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        return False

    def signal(self, signum: int) -> None:
        """Send signum if this process still runs."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)


# --------------------------------------------------------------------------------- Redis


class PrivateRedis:
    """A redis-server of our own on a free loopback port, with nothing kept on disk."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.paused = False
        self._cleanup = on_exit(self.kill)

    def url(self, db: int = 0) -> str:
        """The redis:// URL of database db."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 15) -> None:
        """Start redis-server on our port and wait until it answers PING."""
        log = open(self.workdir / "redis.log", "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        if not wait_until(self.ping, timeout):
            raise RuntimeError(f"private redis-server on port {self.port} did not answer within {timeout}s")

    def client(self, timeout: float = 0.5):
        """A redis-py client with short timeouts."""
        import redis

        return redis.Redis.from_url(self.url(), socket_timeout=timeout, socket_connect_timeout=timeout)

    def ping(self) -> bool:
        """True when Redis answers PING."""
        try:
            return bool(self.client().ping())
        except Exception:
            return False

    def flush(self) -> None:
        """Empty every database."""
        self.client(timeout=5).flushall()

    def pause(self) -> None:
        """Freeze redis-server (SIGSTOP): connections stay open and nothing is answered."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        """Let a paused redis-server go on (SIGCONT)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def shutdown(self) -> None:
        """SHUTDOWN NOSAVE: Redis stops and everything in it is gone."""
        self.resume()
        with contextlib.suppress(Exception):
            self.client(timeout=2).shutdown(nosave=True)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def restart(self, down_seconds: float = 0.0) -> None:
        """Shut Redis down (losing its data), stay down down_seconds, start it again on the same port."""
        self.shutdown()
        time.sleep(down_seconds)  # the length of the outage, not a wait for something to happen
        self.start()

    def kill(self) -> None:
        """End redis-server at once (teardown)."""
        if self.proc is not None and self.proc.poll() is None:
            self.resume()
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def close(self) -> None:
        """Kill the server and forget its exit cleanup."""
        self.kill()
        forget(self._cleanup)


# --------------------------------------------------------------------------------- PostgreSQL


class PrivatePostgres:
    """A PostgreSQL cluster of our own (initdb in a temporary directory), trust auth, on a free loopback port."""

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
        if not bins:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
        self.bin = Path(bins[-1])
        self.port = free_port()
        self.home = Path(tempfile.mkdtemp(prefix="toktra-reliability-pg-"))
        self.data = self.home / "data"
        self._cleanup = on_exit(self.destroy)
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            shutil.chown(self.home, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync",
                  "--no-instructions")

    def _run(self, tool: str, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        return done

    def url(self, dbname: str = "postgres") -> str:
        """The postgresql:// URL of a database in this cluster."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        """Start the cluster and wait until it accepts connections."""
        options = (f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.home} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.home / "postgres.log"), "-w", "-t", "60",
                  "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster: fast (sessions are ended) or immediate (like a crash)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        """True when the postmaster runs."""
        return (self.data / "postmaster.pid").exists()

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        """Run one statement in autocommit mode."""
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)

    def destroy(self) -> None:
        """Stop the cluster at once and delete its directory."""
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            try:
                self.stop("immediate")
            except Exception:
                with contextlib.suppress(Exception):
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGQUIT)
        shutil.rmtree(self.home, ignore_errors=True)

    def close(self) -> None:
        """Destroy the cluster and forget its exit cleanup."""
        self.destroy()
        forget(self._cleanup)


# --------------------------------------------------------------------------------- the worker


def _connections_to(port: int) -> set[str]:
    """Socket inodes of established TCP connections to 127.0.0.1:port."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                remote, state, inode = fields[2], fields[3], fields[9]
                if state == "01" and int(remote.rsplit(":", 1)[1], 16) == port:
                    inodes.add(inode)
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    found.add(target[len("socket:["):-1])
    return found


class WorkerProcess:
    """`python -m jobs.worker` as a subprocess in its own session, logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env, self.log_path = env, log_path
        self.proc: subprocess.Popen | None = None
        self.main: Process | None = None
        self.killed = False
        self.seen: dict[int, Process] = {}  # every process found below the worker, to end at teardown
        self._cleanup = on_exit(self.kill)

    def start(self) -> None:
        """Start a worker (a previous one must be gone)."""
        log = open(self.log_path, "ab")
        log.write(f"\n===== worker started at {time.strftime('%H:%M:%S')} =====\n".encode())
        log.flush()
        self.proc = subprocess.Popen([sys.executable, "-m", "jobs.worker"], cwd=ROOT, env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.main = Process(self.proc.pid)
        self.killed = False

    def exited_by_itself(self) -> int | None:
        """The exit status of a worker that stopped without being killed (crashed, gave up), else None."""
        if self.proc is None or self.killed:
            return None
        return self.proc.poll()

    def tree(self) -> list[Process]:
        """The worker's process and every live process below it (work horses, scheduler...)."""
        if self.main is None or not self.main.alive():
            return [p for p in self.seen.values() if p.alive()]
        for pid in descendants(self.main.pid):
            if pid not in self.seen or not self.seen[pid].alive():
                self.seen[pid] = Process(pid)
        return [self.main] + [p for p in self.seen.values() if p.alive()]

    def kill(self) -> None:
        """SIGKILL the worker and everything below it, all at once (as when its machine dies)."""
        self.killed = True
        for process in self.tree():
            process.signal(signal.SIGCONT)
            process.signal(signal.SIGKILL)
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        wait_until(lambda: not any(p.alive() for p in self.seen.values()), 10)

    def poster(self, port: int) -> Process | None:
        """The worker's process that holds a connection to 127.0.0.1:port (the emulator) right now."""
        wanted = _connections_to(port)
        for process in self.tree():
            if _socket_inodes(process.pid) & wanted:
                return process
        return None

    def kill_process(self, process: Process) -> None:
        """SIGKILL one process of the worker's tree and wait until it is gone."""
        process.signal(signal.SIGKILL)
        wait_until(lambda: not process.alive(), 10)

    def restart(self) -> None:
        """Kill whatever is left of the worker and start a new one."""
        self.kill()
        self.start()

    def log_tail(self, lines: int = 60) -> str:
        """The end of the worker's log, for failure messages."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def close(self) -> None:
        """Kill the worker tree and forget its exit cleanup."""
        self.kill()
        forget(self._cleanup)
