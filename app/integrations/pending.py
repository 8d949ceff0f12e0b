"""Markers for jobs a page has queued and is waiting on (a test alert, a channel listing, a connection test).

A marker holds the time the job was asked for; the page shows "waiting" until the job's recorded result
is newer than that. Markers expire, so a lost job never leaves a page waiting for ever.
"""
from __future__ import annotations

import datetime as dt
import time

from redis.exceptions import RedisError

from app.extensions import redis_connection
from jobs import QueueUnavailable, enqueue

PENDING_SECONDS = 60


def asked_at(key: str) -> float | None:
    """When the job behind key was queued (epoch seconds), or None."""
    try:
        raw = redis_connection(fast=True).get(key)
        return float(raw) if raw is not None else None
    except (RedisError, ValueError):
        return None


def queue_marked(key: str, func, **kwargs) -> bool:
    """Mark key, then queue func(**kwargs); False (and no mark) when the queue is unreachable.

    The mark comes first so that a fast worker's result is never older than it.
    """
    conn = redis_connection(fast=True)
    try:
        conn.set(key, repr(time.time()), ex=PENDING_SECONDS)
    except RedisError:
        pass
    try:
        enqueue(func, **kwargs)
        return True
    except QueueUnavailable:
        try:
            conn.delete(key)
        except RedisError:
            pass
        return False


def waiting(items: list, key_of, done_at_of) -> set[int]:
    """The ids of items whose queued job has not recorded a result since it was asked for."""
    if not items:
        return set()
    try:
        values = redis_connection(fast=True).mget([key_of(item) for item in items])
    except RedisError:
        return set()
    pending = set()
    for item, raw in zip(items, values):
        try:
            asked = float(raw) if raw is not None else None
        except ValueError:
            continue
        done_at: dt.datetime | None = done_at_of(item)
        if asked is not None and (done_at is None or done_at.timestamp() < asked):
            pending.add(item.id)
    return pending
