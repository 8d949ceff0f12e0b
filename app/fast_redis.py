"""The web tier's Redis connections: their timeouts kept by the kernel, so each send and receive is one system call.

redis-py gives a socket with a timeout to Python, which then polls the socket before every send and every
receive. Each of those system calls releases the interpreter lock, and under gunicorn's threads each release
is a switch to another thread, paid on the acknowledgement's path. Here the socket is blocking and the
kernel enforces the same timeout (SO_RCVTIMEO, SO_SNDTIMEO): a send or receive that waits longer fails with
EAGAIN, which redis-py reports as a ConnectionError, as it reports its own timeout (a RedisError either way).
"""
from __future__ import annotations

import socket
import struct
from urllib.parse import urlsplit

import redis


class KernelTimeoutConnection(redis.Connection):
    """A TCP connection to Redis whose socket_timeout the kernel keeps (see the module)."""

    def _connect(self) -> socket.socket:
        sock = super()._connect()
        if self.socket_timeout:
            seconds = float(self.socket_timeout)
            timeval = struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
            sock.settimeout(None)
        return sock


def connection_class_for(url: str) -> dict:
    """The option that gives a redis:// URL's client these connections (rediss:// and unix:// keep redis-py's)."""
    return {"connection_class": KernelTimeoutConnection} if urlsplit(url).scheme == "redis" else {}
