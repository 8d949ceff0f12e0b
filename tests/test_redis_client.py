"""A web process's threads share one Redis client from their very first request."""
from __future__ import annotations

import threading

import redis

from app.extensions import redis_connection

THREADS = 8


def test_threads_asking_for_redis_at_once_all_get_the_same_client(app, monkeypatch):
    """A second client would be dropped as soon as another thread's replaced it, and dropping a client
    closes its connections, even under a command in flight: under load the first acknowledgements of a
    new gunicorn worker failed with "Bad file descriptor" and were deferred."""
    real_from_url = redis.Redis.from_url
    all_made = threading.Barrier(THREADS, timeout=10)

    def from_url_once_every_thread_makes_one(*args, **kwargs):
        client = real_from_url(*args, **kwargs)
        all_made.wait()  # no thread stores its client before every thread has found none and made its own
        return client

    monkeypatch.setattr(redis.Redis, "from_url", from_url_once_every_thread_makes_one)
    for key in ("toktra.redis.fast", "toktra.redis"):
        app.extensions.pop(key, None)  # a new worker process: nothing connected yet
    start = threading.Barrier(THREADS)
    clients: list[redis.Redis] = []

    def first_request(fast: bool) -> None:
        with app.app_context():
            start.wait()
            client = redis_connection(fast=fast)
            assert client.ping()
            clients.append(client)

    threads = [threading.Thread(target=first_request, args=(n % 2 == 0,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(clients) == THREADS
    assert {id(c) for c in clients} == {id(redis_connection(fast=True)), id(redis_connection(fast=False))}


def test_the_web_tiers_sockets_leave_their_timeout_to_the_kernel(app, redis_conn):
    """A socket with a Python timeout is polled before every send and receive, and every poll hands the
    interpreter lock to another thread; the kernel keeps the same 0.5 s bound without a poll (a Redis that
    never answers is tests/test_slash_commands.py::test_a_hung_queue_still_gets_a_prompt_answer)."""
    import socket
    import struct

    client = redis_connection(fast=True)
    assert client.ping()
    connection = client.connection_pool.get_connection()
    try:
        sock = connection._sock
        assert sock.gettimeout() is None  # blocking: no poll before each call
        timeval = struct.calcsize("ll")
        assert struct.unpack("ll", sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)) == (0, 500_000)
        assert struct.unpack("ll", sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)) == (0, 500_000)
    finally:
        client.connection_pool.release(connection)


def test_tls_and_unix_socket_urls_keep_redis_pys_own_connections():
    from app.fast_redis import KernelTimeoutConnection, connection_class_for

    assert connection_class_for("redis://127.0.0.1:6379/0") == {"connection_class": KernelTimeoutConnection}
    for url in ("rediss://cache.example:6380/0", "unix:///run/redis.sock"):
        assert connection_class_for(url) == {}
        assert redis.Redis.from_url(url, **connection_class_for(url)).connection_pool.connection_class \
            is not KernelTimeoutConnection


def test_after_a_redis_restart_the_next_acknowledgement_is_queued_not_deferred(app, signed, workspace, tmp_path):
    """A restart closes every pooled connection. The pool notices before it hands one out (app.fast_redis reads
    the TCP state for it, without a poll), so the first command after the restart gets its job queued in Redis
    at once rather than kept in PostgreSQL for the dispatcher."""
    from rq import Queue

    from app.models import DeferredJob
    from tests.reliability.processes import PrivateRedis

    private = PrivateRedis(tmp_path)
    private.start()
    try:
        app.config["REDIS_URL"] = private.url()
        for key in ("toktra.redis.fast", "toktra.redis", "toktra.queue.default", "toktra.slack_queue_once"):
            app.extensions.pop(key, None)
        jobs = Queue("default", connection=private.client(timeout=5))

        assert signed.command("/toktra-budget", "", user_id="U0001").status_code == 200
        assert jobs.count == 1
        private.restart()  # everything in it is gone, and every connection to it closed
        assert jobs.count == 0

        answer = signed.command("/toktra-budget", "", user_id="U0001")
        assert answer.status_code == 200 and answer.get_data() == b""
        assert jobs.count == 1
        assert DeferredJob.query.count() == 0
    finally:
        private.close()
