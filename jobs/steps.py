"""Which side effects of a job already happened, so a rerun (retry, 429, lost worker) skips them."""
from __future__ import annotations

from app.extensions import redis_connection


class Steps:
    """A small Redis set of finished steps for one unit of work (kept a day).

    The set is read once, at the first done(); each mark() is one round trip.
    """

    def __init__(self, name: str, ttl_seconds: int = 86400):
        self.key = f"toktra:steps:{name}"
        self.ttl = ttl_seconds
        self._done: set[bytes] | None = None

    def done(self, step: str) -> bool:
        """True if step already happened (by the time this run first asked)."""
        if self._done is None:
            self._done = redis_connection(fast=False).smembers(self.key)
        return step.encode() in self._done

    def mark(self, step: str) -> None:
        """Record that step happened."""
        pipe = redis_connection(fast=False).pipeline(transaction=False)
        pipe.sadd(self.key, step)
        pipe.expire(self.key, self.ttl)
        pipe.execute()
