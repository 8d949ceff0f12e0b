"""The workspace's channels for the Alert channels page, listed by a job and cached in Redis."""
from __future__ import annotations

import json
import re
import time

from redis.exceptions import RedisError

from app.extensions import redis_connection

CACHE_SECONDS = 3600


def channel_types(scopes: str) -> str:
    """The conversation types the granted scopes let Toktra list: private ones need groups:read."""
    granted = {s.strip() for s in (scopes or "").split(",")}
    return "public_channel,private_channel" if "groups:read" in granted else "public_channel"


def _key(workspace_id: int) -> str:
    return f"toktra:channels:{workspace_id}"


def cached_channels(workspace_id: int) -> tuple[list[dict] | None, float | None]:
    """([{id, name, is_private}], listed_at) from the last listing, or (None, None) if there is none."""
    try:
        raw = redis_connection(fast=True).get(_key(workspace_id))
    except RedisError:
        return None, None
    if raw is None:
        return None, None
    data = json.loads(raw)
    return data["channels"], data["listed_at"]


def store_channels(workspace_id: int, channels: list[dict]) -> None:
    """Cache a complete channel listing."""
    payload = {"channels": sorted(channels, key=lambda c: c["name"]), "listed_at": time.time()}
    redis_connection(fast=False).set(_key(workspace_id), json.dumps(payload), ex=CACHE_SECONDS)


def find_channel(workspace_id: int, ref: str) -> dict | None:
    """A cached channel by id or by name (with or without '#')."""
    channels, _ = cached_channels(workspace_id)
    ref = ref.strip()
    name = ref.lstrip("#").lower()
    for channel in channels or []:
        if channel["id"] == ref or channel["name"].lower() == name:
            return channel
    return None


SLACK_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")


def resolve_channel(workspace_id: int, ref: str) -> dict | None:
    """The channel a person means by an ID or a name (with or without '#'), for the API and the dashboard alike.

    A channel ID that is not in the cached list is taken as given: private channels are only listed with
    the groups:read scope, and their ID still works once Toktra is invited.
    """
    found = find_channel(workspace_id, ref)
    if found is None and SLACK_CHANNEL_ID.match(ref.strip()):
        return {"id": ref.strip(), "name": ""}
    return found
