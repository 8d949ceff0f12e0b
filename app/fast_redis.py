"""The web tier's Redis connections: their timeouts kept by the kernel, so each send and receive is one system call.

redis-py gives a socket with a timeout to Python, which then polls the socket before every send and every
receive. Each of those system calls releases the interpreter lock, and under gunicorn's threads each release
is a switch to another thread, paid on the acknowledgement's path. Here the socket is blocking and the
kernel enforces the same timeout (SO_RCVTIMEO, SO_SNDTIMEO): a send or receive that waits longer fails with
EAGAIN, which redis-py reports as a ConnectionError, as it reports its own timeout (a RedisError either way).

For the same reason the pool's check of each connection it hands out (is it still open?) reads the socket's
TCP state (TCP_INFO) instead of polling it: Python keeps the interpreter lock across getsockopt.
"""
from __future__ import annotations

import socket
import struct
from urllib.parse import urlsplit

import redis


TCP_ESTABLISHED = 1  # the first byte of Linux's struct tcp_info: the connection's state


class KernelTimeoutConnection(redis.Connection):
    """A TCP connection to Redis whose socket_timeout the kernel keeps (see the module)."""

    def can_read(self, timeout: float = 0) -> bool:
        """The pool's check of a connection before handing it out: raises ConnectionError if it was closed.

        A Redis restart closes every connection; the pool reconnects one when this raises, as when redis-py's
        own check does. That check polls the socket, which releases the interpreter lock (a thread switch on
        every acknowledgement under gunicorn's threads); the TCP state says the same without releasing it:
        anything but ESTABLISHED is a connection Redis or the network ended. An open connection never holds
        the rest of an earlier answer here, since redis-py disconnects whenever it stops reading one part
        way (an error, a timeout, an interruption), so False (nothing to read) is the answer for it.
        """
        if timeout or self._sock is None or not hasattr(socket, "TCP_INFO"):
            return super().can_read(timeout)
        if self._sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] != TCP_ESTABLISHED:
            raise redis.exceptions.ConnectionError("Connection closed by server.")
        return False

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
