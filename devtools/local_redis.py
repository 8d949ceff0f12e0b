"""A Redis-compatible server in one process (fakeredis), for local runs without Redis.

Run: python -m devtools.local_redis --port 6399
"""
from __future__ import annotations

import argparse

import redis
from fakeredis import TcpFakeServer
from fakeredis._clients._tcp_server import TCPFakeRequestHandler


class _RequestHandler(TCPFakeRequestHandler):
    """fakeredis's handler, except that an error reply (NOSCRIPT, WRONGTYPE...) keeps the connection open.

    Upstream closes the connection on any error reply, which breaks redis-py's EVALSHA -> SCRIPT LOAD
    fallback that RQ's Lua scripts rely on.
    """

    def setup(self) -> None:
        super().setup()
        read_response = self.current_client.read_response

        def read_error_as_reply(*args, **kwargs):
            try:
                return read_response(*args, **kwargs)
            except redis.exceptions.ResponseError as exc:
                return exc

        self.current_client.read_response = read_error_as_reply


def main() -> None:
    """Serve the Redis protocol on 127.0.0.1 until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6399)
    args = parser.parse_args()
    server = TcpFakeServer((args.host, args.port), server_type="redis")
    server.RequestHandlerClass = _RequestHandler
    server.daemon_threads = True
    print(f"local Redis-compatible server on redis://{args.host}:{args.port}/0", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
