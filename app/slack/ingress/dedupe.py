"""Slack retries and replays never do the same work twice: the first delivery of an id wins."""
from __future__ import annotations

import logging

from redis.exceptions import RedisError
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from app.extensions import note_redis_down, redis_connection

log = logging.getLogger(__name__)

# Longer than Slack's retry span (about 5 minutes) and its 5-minute signature window.
DEDUPE_SECONDS = 3600


def delivery_key(body: dict) -> str | None:
    """The id that names this delivery: event id, command trigger, or the clicked action."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("command") and body.get("trigger_id"):
        return f"command:{body['trigger_id']}"
    if body.get("type") == "block_actions" and body.get("actions"):
        action = body["actions"][0]
        user = (body.get("user") or {}).get("id", "")
        return f"action:{user}:{action.get('action_id')}:{action.get('action_ts')}"
    if body.get("type") == "view_submission" and body.get("view"):
        return f"view:{body['view'].get('id')}:{body['view'].get('hash')}"
    return None


def first_delivery(key: str) -> bool:
    """True the first time key is seen; True as well when Redis is down (nothing could be queued twice then)."""
    try:
        return bool(redis_connection(fast=True).set(f"toktra:slack:seen:{key}", 1, nx=True, ex=DEDUPE_SECONDS))
    except RedisError as exc:
        note_redis_down()
        log.warning("Slack dedupe unavailable (%s); handling %s", type(exc).__name__, key)
        return True


def forget_delivery(key: str) -> None:
    """Let Slack's retry of a delivery that failed on our side through."""
    try:
        redis_connection(fast=True).delete(f"toktra:slack:seen:{key}")
    except RedisError:
        pass


def dedupe_middleware(req: BoltRequest, resp: BoltResponse, next) -> BoltResponse:
    """Bolt middleware: acknowledge repeats without handling them again."""
    key = delivery_key(req.body or {})
    if key is not None and not first_delivery(key):
        log.info("ignoring repeated Slack delivery %s (retry %s)", key, req.headers.get("x-slack-retry-num"))
        return BoltResponse(status=200, body="")
    return next()
