"""Slack retries and replays never do the same work twice: the first delivery of an id wins.

Each request checks in with Redis once: it sets its delivery's dedupe mark (SET NX) and reads the
installations version, which says whether this process's cached installations are current
(app.slack.ingress.installations). When the request's workspace is already cached, the check-in waits
for the request's job and goes to Redis with it, in one Lua script: the job is queued only if the version
is still the one the request was authorized with and the mark was not set before. So a warm
acknowledgement makes one Redis round trip and sends nothing to PostgreSQL.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.exceptions import RedisError
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from app.extensions import note_redis_down, per_app, redis_connection
from app.slack.ingress.installations import VERSION_KEY

log = logging.getLogger(__name__)

# Longer than Slack's retry span (about 5 minutes) and its 5-minute signature window.
DEDUPE_SECONDS = 3600
CHECK_IN = "toktra_check_in"

# KEYS: the version key, the dedupe mark, then the key of each recorded command.
# ARGV: the version the request was authorized with, the mark's lifetime, then for each command its
# number of arguments after the key, its name and those arguments.
# Returns {outcome, current version}: 0 the version moved (nothing written), 1 queued, 2 a repeat.
QUEUE_ONCE = """
local version = redis.call('GET', KEYS[1]) or '0'
if version ~= ARGV[1] then return {0, version} end
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then return {2, version} end
local at = 3
for k = 3, #KEYS do
  local n = tonumber(ARGV[at])
  redis.call(ARGV[at + 1], KEYS[k], unpack(ARGV, at + 2, at + 1 + n))
  at = at + 2 + n
end
return {1, version}
"""
VERSION_MOVED, QUEUED, REPEAT = 0, 1, 2


class CheckInAnswer(Exception):
    """Raised from a listener's enqueue: the check-in decided the request's answer instead of its job."""


class Repeated(CheckInAnswer):
    """This delivery was seen before: acknowledge it without doing the work again."""


class InstallationsChanged(CheckInAnswer):
    """An installation changed after this process cached the one the request was authorized with."""

    def __init__(self, version: bytes):
        super().__init__(version)
        self.version = version


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


def _mark(key: str) -> str:
    return f"toktra:slack:seen:{key}"


def check_in(key: str | None) -> tuple[bytes | None, bool]:
    """One Redis round trip: (installations version, whether this is the first delivery of key).

    With Redis down the version is None (read installations from PostgreSQL) and every delivery is a
    first one (nothing could be queued twice then).
    """
    try:
        pipe = redis_connection(fast=True).pipeline(transaction=False)
        pipe.get(VERSION_KEY)
        if key is not None:
            pipe.set(_mark(key), 1, nx=True, ex=DEDUPE_SECONDS)
        version, *first = pipe.execute()
    except RedisError as exc:
        note_redis_down()
        log.warning("Slack dedupe unavailable (%s: %s); handling %s", type(exc).__name__, exc, key)
        return None, True
    return version or b"0", bool(first[0]) if first else True


@dataclass
class CheckIn:
    """A request's dedupe mark and the installations version it was authorized at.

    first is None while the check-in waits for the request's job (queue_with) or for confirm().
    """

    key: str | None
    version: bytes | None
    first: bool | None
    marked: bool = False  # this request set the mark (released again if handling it fails)

    @classmethod
    def now(cls, key: str | None) -> "CheckIn":
        """Check in at once (one round trip): before the installation is known, or when no job follows."""
        version, first = check_in(key)
        return cls(key, version, first, marked=first and key is not None and version is not None)

    def queue_with(self, commands: list[tuple]) -> None:
        """Send a job's writes (Redis commands: name, key, arguments), with this check-in when it is still open.

        One round trip either way. Raises Repeated when the delivery was seen before and
        InstallationsChanged when the version moved; in both cases nothing was written. RedisError passes
        through (the caller keeps the job elsewhere).
        """
        if self.first is not None:
            with redis_connection(fast=True).pipeline() as pipe:
                for name, *args in commands:
                    pipe.execute_command(name, *args)
                pipe.execute()
            return
        arguments: list = [self.version, DEDUPE_SECONDS]
        for args in commands:
            arguments += [len(args) - 2, args[0], *args[2:]]
        outcome, version = _queue_once()(keys=[VERSION_KEY, _mark(self.key), *(args[1] for args in commands)],
                                         args=arguments)
        if outcome == VERSION_MOVED:
            raise InstallationsChanged(version)
        self.first = self.marked = outcome == QUEUED
        if not self.first:
            raise Repeated(self.key)

    def confirm(self) -> None:
        """For work other than a job: make sure this is the first delivery, at the cached version."""
        if self.first is None:
            version, self.first = check_in(self.key)
            self.marked = self.first and version is not None
            if version is not None and version != self.version:
                raise InstallationsChanged(version)
        if not self.first:
            raise Repeated(self.key)

    def release(self) -> None:
        """Let Slack's retry of a delivery that failed on our side (or that asks again) through."""
        if self.marked:
            forget_delivery(self.key)
            self.marked = False


def _queue_once():
    return per_app("toktra.slack_queue_once", lambda: redis_connection(fast=True).register_script(QUEUE_ONCE))


def forget_delivery(key: str) -> None:
    """Let Slack's retry of a delivery that failed on our side through."""
    try:
        redis_connection(fast=True).delete(_mark(key))
    except RedisError:
        pass


def dedupe_middleware(req: BoltRequest, resp: BoltResponse, next) -> BoltResponse:
    """Bolt middleware: acknowledge repeats (as the check-in found them) without handling them again."""
    check = req.context.get(CHECK_IN)
    if check is None:  # not checked in before authorizing (events that need no installation)
        check = req.context[CHECK_IN] = CheckIn.now(delivery_key(req.body or {}))
    if check.first is False:
        log.info("ignoring repeated Slack delivery %s (retry %s)", check.key, req.headers.get("x-slack-retry-num"))
        return BoltResponse(status=200, body="")
    return next()
