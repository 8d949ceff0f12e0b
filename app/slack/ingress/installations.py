"""Installed workspaces as the acknowledgement needs them: cached in each process, checked against Redis.

Every change to a SlackWorkspace row (install, reinstall, uninstall, revocation, token rotation) bumps
a version key in Redis once its transaction commits. Each request checks that key in the round trip
that carries its dedupe mark (app.slack.ingress.dedupe): a request served from the cache queues its job
only if the key still holds the version the cache was filled at, and otherwise is handled again with
the cache dropped, so an uninstall in one process is seen by the very next request of every other
process. Answers given in the acknowledgement itself (help, argument errors) trust the cache; they call
no one and queue nothing. The TTL only bounds how long a row can be served when a version bump was lost
(Redis down during it).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, has_app_context
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from app.extensions import db, note_redis_down, per_app, redis_connection
from app.models import SlackWorkspace
from app.slack.client.store import workspace_query

log = logging.getLogger(__name__)

VERSION_KEY = "toktra:slack:installations:version"
TTL_SECONDS = 60.0
_CHANGED = "toktra.slack_workspaces_changed"


@dataclass(frozen=True)
class Installed:
    """What authorizing a request needs of an active workspace with a bot token (never the token itself)."""

    workspace_id: int
    team_name: str
    bot_id: str | None
    bot_user_id: str | None
    scopes: str | None


class InstallationCache:
    """(enterprise_id, team_id) -> Installed, or None for unknown and deactivated workspaces."""

    def __init__(self, ttl: float = TTL_SECONDS):
        self.ttl = ttl
        self._lock = threading.Lock()
        self._version: bytes | None = None
        self._entries: dict[tuple[str, str], tuple[float, Installed | None]] = {}

    def peek(self, enterprise_id: str | None, team_id: str | None) -> tuple[bytes, Installed] | None:
        """(version, installation) when the workspace is cached as installed and unexpired; asks no one.

        The caller confirms the version with Redis later, in the round trip that queues its job.
        Workspaces cached as not installed are not answered here: a reinstall must be seen at once.
        """
        key = (enterprise_id or "", team_id or "")
        with self._lock:
            version, hit = self._version, self._entries.get(key)
        if hit is None or hit[1] is None or hit[0] <= time.monotonic():
            return None
        return version, hit[1]

    def advance(self, version: bytes) -> None:
        """Redis said the installations version is now `version`: forget what was cached before it."""
        with self._lock:
            if version != self._version:
                self._version = version
                self._entries.clear()

    def lookup(self, enterprise_id: str | None, team_id: str | None, version: bytes | None) -> Installed | None:
        """The workspace's installation; read from PostgreSQL only on a miss, an expiry or a new version."""
        key = (enterprise_id or "", team_id or "")
        if version is None:  # Redis did not answer: nothing says the cache is current
            return load_installation(*key)
        now = time.monotonic()
        with self._lock:
            if version != self._version:
                self._version = version
                self._entries.clear()
            hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        installed = load_installation(*key)
        with self._lock:
            if version == self._version:
                self._entries[key] = (now + self.ttl, installed)
        return installed


def load_installation(enterprise_id: str, team_id: str) -> Installed | None:
    """The active installation of a team (or an org-wide enterprise install) from PostgreSQL.

    Reads whether a bot token is stored, not the token: nothing on the acknowledgement path decrypts it.
    """
    row = db.session.execute(workspace_query(
        enterprise_id, team_id, SlackWorkspace.id, SlackWorkspace.active, SlackWorkspace.team_name,
        SlackWorkspace.bot_id, SlackWorkspace.bot_user_id, SlackWorkspace.scopes,
        SlackWorkspace.bot_token.is_not(None).label("has_token"))).first()
    if row is None or not row.active or not (row.has_token or current_app.config["SLACK_BOT_TOKEN"]):
        return None
    return Installed(workspace_id=row.id, team_name=row.team_name, bot_id=row.bot_id, bot_user_id=row.bot_user_id,
                     scopes=row.scopes)


def installation_cache() -> InstallationCache:
    """The current app's cache (one per app and process)."""
    return per_app("toktra.slack_installations", InstallationCache)


def installations_changed() -> None:
    """Tell every process that installations changed (after the change is committed)."""
    try:
        redis_connection(fast=True).incr(VERSION_KEY)
    except RedisError as exc:
        note_redis_down()
        log.warning("could not announce a Slack installation change (%s); other processes see it within %ss",
                    type(exc).__name__, int(TTL_SECONDS))


# Any committed change to a SlackWorkspace row, whichever code makes it, bumps the version.
@sa.event.listens_for(Session, "after_flush")
def _note_workspace_changes(session, _flush_context) -> None:
    if any(isinstance(obj, SlackWorkspace) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_CHANGED] = True


@sa.event.listens_for(Session, "after_commit")
def _announce_workspace_changes(session) -> None:
    if session.info.pop(_CHANGED, False) and has_app_context():
        installations_changed()


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_workspace_changes(session, _previous_transaction) -> None:
    session.info.pop(_CHANGED, None)
