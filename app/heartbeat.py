"""Worker heartbeats in Redis, and the readiness checks that read them (database, Redis, worker, queue)."""
from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass

import redis
import sqlalchemy as sa
from flask import current_app
from rq import Queue
from rq.scheduler import RQScheduler

# One hash per kind of beat: field = the process's name, value = the Unix time of its last beat.
HEARTBEAT_KEY = "toktra:heartbeat:{kind}"
# Beats older than this are removed when read (processes that died long ago).
FORGET_AFTER_SECONDS = 24 * 3600


def process_name() -> str:
    """This process's name in the heartbeat hashes: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def now() -> float:
    """The readiness clock: Unix time, or the app's HEALTH_CLOCK (tests move it)."""
    clock = current_app.config.get("HEALTH_CLOCK")
    return clock() if clock else time.time()


def beat(conn: redis.Redis, kind: str, name: str | None = None, at: float | None = None) -> None:
    """Record that `kind` (worker, dispatcher) is alive in this process now."""
    conn.hset(HEARTBEAT_KEY.format(kind=kind), name or process_name(), at if at is not None else time.time())


def forget(conn: redis.Redis, kind: str, name: str | None = None) -> None:
    """Remove this process's beat (a clean shutdown: readiness need not wait for it to go stale)."""
    conn.hdel(HEARTBEAT_KEY.format(kind=kind), name or process_name())


def latest_beat(conn: redis.Redis, kind: str, at: float) -> float | None:
    """The freshest beat of `kind` in Unix time, or None; beats older than a day are dropped."""
    key = HEARTBEAT_KEY.format(kind=kind)
    beats = {name.decode(): float(value) for name, value in conn.hgetall(key).items()}
    old = [name for name, value in beats.items() if at - value > FORGET_AFTER_SECONDS]
    if old:
        conn.hdel(key, *old)
    fresh = [value for name, value in beats.items() if name not in old]
    return max(fresh) if fresh else None


class HeartbeatThread:
    """A daemon thread that beats for the worker every `interval` seconds until stopped."""

    def __init__(self, redis_url: str, interval: float):
        self.interval = interval
        self.stop = threading.Event()
        self._conn = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=2)
        self._thread = threading.Thread(target=self._loop, name="toktra-heartbeat", daemon=True)

    def start(self) -> "HeartbeatThread":
        """Beat now and then every interval, in a daemon thread."""
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                beat(self._conn, "worker")
            except redis.RedisError:
                pass  # Redis away: readiness is red for Redis anyway; beat again next time
            self.stop.wait(self.interval)

    def close(self) -> None:
        """Stop beating and remove this process's beat (after a beat in flight, which would outlive it)."""
        self.stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        try:
            forget(self._conn, "worker")
        except redis.RedisError:
            pass


@dataclass
class Check:
    """One readiness check: ok or not, and what an operator reads."""

    ok: bool
    detail: str


def _age(seconds: float) -> str:
    return f"{seconds:.0f} s"


def check_database(db) -> Check:
    """The database answers SELECT 1."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        return Check(True, "ok")
    except sa.exc.SQLAlchemyError as exc:
        db.session.rollback()
        return Check(False, f"the database does not answer ({type(exc).__name__})")


def check_beat(conn: redis.Redis, kind: str, max_age: float, what: str) -> Check:
    """Some process of `kind` beat less than max_age seconds ago."""
    at = now()
    last = latest_beat(conn, kind, at)
    if last is None:
        return Check(False, f"no {what} is running (none has ever reported)")
    age = at - last
    if age > max_age:
        return Check(False, f"no {what} alive: the last heartbeat was {_age(age)} ago (limit {_age(max_age)})")
    return Check(True, f"ok (last heartbeat {_age(max(age, 0))} ago)")


def check_scheduler(conn: redis.Redis, queue_names: list[str]) -> Check:
    """RQ's scheduler (delayed retries) holds its lock for every queue."""
    missing = [name for name in queue_names if not conn.exists(RQScheduler.get_locking_key(name))]
    if missing:
        return Check(False, f"RQ's scheduler is not running for queue(s) {', '.join(missing)} "
                            "(delayed retries would never run)")
    return Check(True, "ok")


def oldest_job_age(conn: redis.Redis, queue_name: str, at: float) -> float | None:
    """Seconds the oldest queued job of queue_name has waited, or None when it is empty."""
    queue = Queue(queue_name, connection=conn)
    for job_id in queue.get_job_ids(0, 10):
        job = queue.fetch_job(job_id)
        if job is not None and job.enqueued_at is not None:
            return at - job.enqueued_at.timestamp()
    return None


def check_queue(conn: redis.Redis, queue_names: list[str], max_age: float) -> Check:
    """Every queue's oldest job has waited less than max_age seconds."""
    at = now()
    waits = {name: oldest_job_age(conn, name, at) for name in queue_names}
    late = {name: age for name, age in waits.items() if age is not None and age > max_age}
    if late:
        return Check(False, "jobs are waiting too long: " + ", ".join(
            f"the oldest in {name} for {_age(age)} (limit {_age(max_age)})" for name, age in late.items()))
    return Check(True, "ok")


def readiness(db, conn: redis.Redis) -> dict[str, Check]:
    """Every readiness check by name; the Redis-based ones are skipped when Redis does not answer."""
    config = current_app.config
    checks = {"database": check_database(db)}
    try:
        conn.ping()
    except redis.RedisError as exc:
        checks["redis"] = Check(False, f"Redis does not answer ({type(exc).__name__})")
        return checks
    checks["redis"] = Check(True, "ok")
    max_age = config["WORKER_HEARTBEAT_MAX_AGE"]
    try:
        checks["worker"] = check_beat(conn, "worker", max_age, "worker")
        checks["dispatcher"] = check_beat(conn, "dispatcher", max_age, "outbox dispatcher")
        checks["scheduler"] = check_scheduler(conn, config["RQ_QUEUES"])
        checks["queue"] = check_queue(conn, config["RQ_QUEUES"], config["QUEUE_MAX_WAIT_SECONDS"])
    except redis.RedisError as exc:
        checks["redis"] = Check(False, f"Redis stopped answering ({type(exc).__name__})")
    return checks


def worker_alive() -> bool:
    """True when a worker beat recently (or when Redis cannot tell: the banner is not the place for that)."""
    from app.extensions import redis_connection

    try:
        last = latest_beat(redis_connection(fast=True), "worker", now())
    except redis.RedisError:
        return True
    return last is not None and now() - last <= current_app.config["WORKER_HEARTBEAT_MAX_AGE"]
