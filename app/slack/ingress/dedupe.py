"""Slack retries and replays never do the same work twice: the first delivery of an id wins."""
from __future__ import annotations

import logging

from redis.exceptions import RedisError
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from app.extensions import note_redis_down, redis_connection
from app.slack.ingress.installations import VERSION_KEY

log = logging.getLogger(__name__)

# Longer than Slack's retry span (about 5 minutes) and its 5-minute signature window.
DEDUPE_SECONDS = 3600
FIRST_DELIVERY = "toktra_first_delivery"


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


def check_in(key: str | None) -> tuple[bytes | None, bool]:
    """One Redis round trip: (installations version, whether this is the first delivery of key).

    With Redis down the version is None (read installations from PostgreSQL) and every delivery is a
    first one (nothing could be queued twice then).
    """
    try:
        pipe = redis_connection(fast=True).pipeline(transaction=False)
        pipe.get(VERSION_KEY)
        if key is not None:
            pipe.set(f"toktra:slack:seen:{key}", 1, nx=True, ex=DEDUPE_SECONDS)
        version, *first = pipe.execute()
    except RedisError as exc:
        note_redis_down()
        log.warning("Slack dedupe unavailable (%s); handling %s", type(exc).__name__, key)
        return None, True
    return version or b"0", bool(first[0]) if first else True


def forget_delivery(key: str) -> None:
    """Let Slack's retry of a delivery that failed on our side through."""
    try:
        redis_connection(fast=True).delete(f"toktra:slack:seen:{key}")
    except RedisError:
        pass


def dedupe_middleware(req: BoltRequest, resp: BoltResponse, next) -> BoltResponse:
    """Bolt middleware: acknowledge repeats (as check_in found them) without handling them again."""
    key = delivery_key(req.body or {})
    first = req.context.get(FIRST_DELIVERY)
    if first is None:  # not checked in before authorizing (events that need no installation)
        first = check_in(key)[1]
    if key is not None and not first:
        log.info("ignoring repeated Slack delivery %s (retry %s)", key, req.headers.get("x-slack-retry-num"))
        return BoltResponse(status=200, body="")
    return next()
