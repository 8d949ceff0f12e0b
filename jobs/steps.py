"""Which side effects of a job already happened, so a rerun (retry, 429, lost worker) skips them."""
from __future__ import annotations

from app.extensions import redis_connection


class Steps:
    """A small Redis set of finished steps for one unit of work (kept a day)."""

    def __init__(self, name: str, ttl_seconds: int = 86400):
        self.key = f"toktra:steps:{name}"
        self.ttl = ttl_seconds

    def done(self, step: str) -> bool:
        """True if step already happened."""
        return bool(redis_connection(fast=False).sismember(self.key, step))

    def mark(self, step: str) -> None:
        """Record that step happened."""
        conn = redis_connection(fast=False)
        conn.sadd(self.key, step)
        conn.expire(self.key, self.ttl)
