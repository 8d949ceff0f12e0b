"""Slack's per-channel pace (about one message a second) and Retry-After, as reserved slots in Redis.

Each message to a channel reserves the channel's next free slot, one interval after the previous one,
so a burst is spread out in order, and a 429 pushes the channel's next slot past Retry-After. Other
channels have their own slots and are never held up.
"""
from __future__ import annotations

import time

from app.extensions import redis_connection

MESSAGE_INTERVAL_MS = 1000

_RESERVE = """
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
local slot = math.max(now, last + tonumber(ARGV[2]))
redis.call('SET', KEYS[1], slot, 'PX', slot - now + 60000)
return slot
"""


def _key(workspace_id: int, channel_id: str) -> str:
    return f"toktra:pace:{workspace_id}:{channel_id}"


def reserve_channel_slot(workspace_id: int, channel_id: str) -> float:
    """Reserve the channel's next posting slot; returns the seconds until it (0 when it is now)."""
    conn = redis_connection(fast=False)
    now_ms = int(time.time() * 1000)
    slot = conn.register_script(_RESERVE)(keys=[_key(workspace_id, channel_id)], args=[now_ms, MESSAGE_INTERVAL_MS])
    return max(0, int(slot) - now_ms) / 1000


def hold_channel(workspace_id: int, channel_id: str, seconds: int) -> None:
    """Slack said 429 for this channel: its next slot is after `seconds`."""
    now_ms = int(time.time() * 1000)
    redis_connection(fast=False).set(_key(workspace_id, channel_id), now_ms + seconds * 1000,
                                     px=seconds * 1000 + 60000)
