"""Link ticket on the dashboard's Alerts page: what each person's latest try on an alert came to.

The web process never calls ServiceNow or Jira, so a job reads the ticket; the page shows "Checking…" until
the job has written its outcome here. Outcomes are short-lived notes in Redis (the ticket itself, once
linked, is a Ticket row): they expire, so a lost job never leaves the page checking for ever.
"""
from __future__ import annotations

import json
import time

from redis.exceptions import RedisError

from app.extensions import redis_connection

CHECKING, LINKED, FAILED = "checking", "linked", "failed"
# How long an outcome stays on the page; a try still "checking" after CHECKING_SECONDS was lost.
OUTCOME_SECONDS = 3600
CHECKING_SECONDS = 120


def _key(alert_id: int, user_id: int) -> str:
    return f"toktra:ticket-link:{alert_id}:{user_id}"


def note_link_attempt(alert_id: int, user_id: int, state: str, message: str) -> None:
    """Write the state of user's latest try to link a ticket to the alert (checking, linked or failed)."""
    value = json.dumps({"state": state, "message": message, "at": time.time()})
    try:
        redis_connection(fast=True).set(_key(alert_id, user_id), value, ex=OUTCOME_SECONDS)
    except RedisError:
        pass  # the page then shows the alert's tickets without the note


def forget_link_attempt(alert_id: int, user_id: int) -> None:
    """Drop the note (the try could not be queued after all)."""
    try:
        redis_connection(fast=True).delete(_key(alert_id, user_id))
    except RedisError:
        pass


def link_attempts(user_id: int, alert_ids: list[int]) -> dict[int, dict]:
    """user's latest try per alert shown, as {"state", "message"}; a try checking for too long reads as lost."""
    if not alert_ids:
        return {}
    try:
        values = redis_connection(fast=True).mget([_key(a, user_id) for a in alert_ids])
    except RedisError:
        return {}
    found = {}
    for alert_id, raw in zip(alert_ids, values):
        try:
            note = json.loads(raw) if raw is not None else None
        except ValueError:
            continue
        if not isinstance(note, dict):
            continue
        if note.get("state") == CHECKING and time.time() - float(note.get("at") or 0) > CHECKING_SECONDS:
            note = {"state": FAILED, "message": "Toktra got no answer while checking the ticket; try again."}
        found[alert_id] = note
    return found
