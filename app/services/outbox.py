"""The delivery state machine: messages written with the change that causes them, claimed, paced, recorded.

Every message that must reach Slack is an OutboxMessage row. A job sends one message: it claims the row,
takes the channel's slot (Slack's pace, or waits out a 429 hold), posts or updates, and records the
outcome. Pacing and holds live in PostgreSQL with the channel, so a Redis restart or a killed worker
never loses or moves them; the dispatcher (jobs/outbox.py) re-queues whatever is due and not in flight.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import redis
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from app.extensions import db, insert_ignoring_duplicates, redis_connection
from app.models import AlertChannelRoute
from app.models.outbox import ChannelPace, OutboxEvent, OutboxMessage
from app.models.types import utcnow

log = logging.getLogger(__name__)

# After this many failed attempts a message is given up, with its reason, for an admin to see.
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = (2, 5, 15, 30, 60, 120, 300, 600)


WAKE_KEY = "toktra:outbox:wake"
_WAKE_FLAG = "toktra_outbox_wake"


@dataclass(frozen=True)
class Timing:
    """The outbox's timings, from the app's config (seconds)."""

    pace: float
    lease: float
    stale: float
    ambiguous_delay: float

    @classmethod
    def from_config(cls) -> "Timing":
        """Timings as configured (OUTBOX_* and SLACK_CHANNEL_PACE_MS)."""
        config = current_app.config
        return cls(config["SLACK_CHANNEL_PACE_MS"] / 1000, config["OUTBOX_LEASE_SECONDS"],
                   config["OUTBOX_STALE_SECONDS"], config["OUTBOX_AMBIGUOUS_DELAY_SECONDS"])


def _seconds(value: float) -> dt.timedelta:
    return dt.timedelta(seconds=value)


def wake_dispatcher() -> None:
    """Ask the dispatcher to look at the outbox now; harmless if Redis is down (its next round finds the work)."""
    try:
        redis_connection().lpush(WAKE_KEY, 1)
    except redis.RedisError:
        pass


@sa.event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    # Messages written in a transaction are announced only once it is committed.
    if session.info.pop(_WAKE_FLAG, False):
        wake_dispatcher()


@sa.event.listens_for(Session, "after_rollback")
def _forget_wake(session: Session) -> None:
    session.info.pop(_WAKE_FLAG, None)


def add_message(key: str, org_id: int, kind: str, subject_id: int | None = None, *, workspace_id: int | None = None,
                channel_id: str | None = None, route_id: int | None = None, recipient_email: str | None = None,
                thread_ts: str | None = None, recipient_user_id: str | None = None) -> None:
    """Add a message to the outbox in the caller's transaction (not committed); an existing key is kept."""
    now = utcnow()
    db.session.info[_WAKE_FLAG] = True
    db.session.execute(insert_ignoring_duplicates(OutboxMessage).values(
        key=key, org_id=org_id, kind=kind, subject_id=subject_id, workspace_id=workspace_id, channel_id=channel_id,
        route_id=route_id, recipient_email=recipient_email, recipient_user_id=recipient_user_id, thread_ts=thread_ts,
        state="pending", version=1,
        sent_version=0, claimed_version=0, attempts=0, ambiguous_posts=0, not_before=now, created_at=now))


def add_reply(key: str, parent_key: str, kind: str, subject_id: int | None = None, *, broadcast: bool = False,
              not_before: dt.datetime | None = None) -> bool:
    """Add a reply in the thread of the message parent_key, in its workspace and channel, in the caller's
    transaction; True if the parent exists (else nothing is added). An existing key is kept.

    The reply is posted once (sent again only if refreshed), after its parent: its thread_ts is the
    parent's ts, known at send time. broadcast also shows it in the channel; not_before delays it.
    """
    parent = db.session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.org_id, OutboxMessage.workspace_id, OutboxMessage.channel_id,
                  OutboxMessage.recipient_email).where(OutboxMessage.key == parent_key)).one_or_none()
    if parent is None:
        return False
    now = utcnow()
    db.session.info[_WAKE_FLAG] = True
    db.session.execute(insert_ignoring_duplicates(OutboxMessage).values(
        key=key, org_id=parent.org_id, kind=kind, subject_id=subject_id, workspace_id=parent.workspace_id,
        channel_id=parent.channel_id, recipient_email=parent.recipient_email, parent_id=parent.id,
        broadcast=broadcast, state="pending", version=1, sent_version=0, claimed_version=0, attempts=0,
        ambiguous_posts=0, not_before=not_before or now, created_at=now))
    return True


def refresh_messages(kind: str, subject_id: int) -> int:
    """What a subject's messages show changed: each copy will be updated (latest state wins); returns how many.

    In the caller's transaction. A copy being sent right now is sent again when its sender finishes.
    """
    return _refresh(OutboxMessage.kind == kind, OutboxMessage.subject_id == subject_id)


def refresh_message(key: str, min_interval: float | None = None, revive_failed: bool = True) -> int:
    """The message with this key is sent again with the current state (as refresh_messages, for one message).

    Refreshing a message that is still waiting changes nothing: the one send to come shows the latest state.
    One that had failed is tried afresh (unless revive_failed is False), since someone asked for it again.
    With min_interval (seconds), a
    sent message is updated no sooner than that long after its last send, so a burst of refreshes within
    the interval coalesces into one update showing the latest state.
    """
    resend_at = utcnow()
    if min_interval:
        sent_at = db.session.scalar(sa.select(OutboxMessage.sent_at).where(OutboxMessage.key == key))
        if sent_at is not None:
            resend_at = max(resend_at, sent_at + _seconds(min_interval))
    return _refresh(OutboxMessage.key == key, revive_failed=revive_failed, resend_at=resend_at)


def _refresh(*where, revive_failed: bool = False, resend_at: dt.datetime | None = None) -> int:
    now = utcnow()
    resend_at = resend_at or now
    db.session.info[_WAKE_FLAG] = True
    states = ("pending", "sending", "posting", "sent") + (("failed",) if revive_failed else ())
    resend = OutboxMessage.state.in_(("sent", "failed"))
    return db.session.execute(
        sa.update(OutboxMessage)
        .where(*where, OutboxMessage.state.in_(states))
        .values(version=OutboxMessage.version + 1,
                state=sa.case((resend, "pending"), else_=OutboxMessage.state),
                attempts=sa.case((OutboxMessage.state == "failed", 0), else_=OutboxMessage.attempts),
                not_before=sa.case((resend, resend_at), else_=OutboxMessage.not_before),
                dispatched_at=sa.case((resend, None), else_=OutboxMessage.dispatched_at))
        .execution_options(synchronize_session=False)
    ).rowcount


def _event(message_id: int, event: str, detail: str | None = None, now: dt.datetime | None = None) -> None:
    db.session.add(OutboxEvent(message_id=message_id, event=event, detail=(detail or "")[:500] or None,
                               at=now or utcnow()))


def claim(message_id: int, now: dt.datetime | None = None) -> OutboxMessage | None:
    """Take a due message for this job (committed); None when another job has it, it is done, or not yet due."""
    now = now or utcnow()
    claimed = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.state == "pending", OutboxMessage.not_before <= now)
        .values(state="sending", claimed_at=now, claimed_version=OutboxMessage.version,
                attempts=OutboxMessage.attempts + 1, dispatched_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.commit()
    return db.session.get(OutboxMessage, message_id, populate_existing=True) if claimed else None


def set_destination(message: OutboxMessage, workspace_id: int, channel_id: str) -> None:
    """Record where a DM goes once its channel is opened (committed)."""
    message.workspace_id, message.channel_id = workspace_id, channel_id
    db.session.commit()


def _pace_row(workspace_id: int, channel_id: str, now: dt.datetime) -> None:
    db.session.execute(insert_ignoring_duplicates(ChannelPace).values(
        workspace_id=workspace_id, channel_id=channel_id, next_send_at=now))


def take_slot(message: OutboxMessage, timing: Timing, now: dt.datetime | None = None) -> dt.datetime | None:
    """Take the channel's turn and mark the message posting (committed); or, if the channel is not free yet
    (its pace or a 429 hold), put the message back until then and return that time.

    A new post needs the channel's pace slot; an update of a posted message only waits out a hold; a
    message with no channel (a Home tab view) takes no slot.
    """
    now = now or utcnow()
    if message.channel_id is None:  # published to a person (the Home tab): Slack paces no channel for it
        message.state = "posting"
        db.session.commit()
        return None
    _pace_row(message.workspace_id, message.channel_id, now)
    pace = sa.and_(ChannelPace.workspace_id == message.workspace_id, ChannelPace.channel_id == message.channel_id)
    not_held = sa.or_(ChannelPace.held_until.is_(None), ChannelPace.held_until <= now)
    if message.message_ts is None:
        taken = db.session.execute(
            sa.update(ChannelPace).where(pace, ChannelPace.next_send_at <= now, not_held)
            .values(next_send_at=now + _seconds(timing.pace))
            .execution_options(synchronize_session=False)).rowcount == 1
    else:
        taken = db.session.execute(sa.select(sa.exists().where(pace, not_held))).scalar()
    if taken:
        message.state = "posting"
        db.session.commit()
        return None
    row = db.session.execute(sa.select(ChannelPace.next_send_at, ChannelPace.held_until).where(pace)).one()
    # An update waits only for the hold; a post also for the channel's next slot.
    waits_for = (row.held_until,) if message.message_ts is not None else (row.next_send_at, row.held_until)
    free_at = max(t for t in (*waits_for, now) if t is not None)
    _put_back(message, free_at)
    db.session.commit()
    return free_at


def wait_for_parent(message: OutboxMessage, timing: Timing, now: dt.datetime | None = None) -> str | None:
    """A reply whose parent is not posted yet goes back (no attempt counted, no slot taken) until the parent
    may be sent, and gives up in words if the parent failed; returns what happened, or None when the parent
    is posted and message.thread_ts is set (committed)."""
    now = now or utcnow()
    parent = db.session.get(OutboxMessage, message.parent_id, populate_existing=True)
    if parent is not None and parent.message_ts is not None:
        message.thread_ts = parent.message_ts
        if message.channel_id is None:  # the parent was a DM, opened when it was sent
            message.workspace_id, message.channel_id = parent.workspace_id, parent.channel_id
        db.session.commit()
        return None
    if parent is None or parent.state == "failed":
        why = parent.last_error if parent is not None else "it was deleted"
        record_failed(message, f"Not posted: the message it replies to could not be posted ({why}).", now)
        return "parent failed"
    # In flight or waiting: the reply can't go before the channel's next slot after its parent anyway.
    _put_back(message, max(parent.not_before, now + _seconds(max(timing.pace, 0.5))))
    message.attempts = max(0, message.attempts - 1)
    db.session.commit()
    return "waiting for its parent"


def _pace_from_answer(message: OutboxMessage, timing: Timing | None, now: dt.datetime) -> None:
    """After a post's answer, the channel's next post waits a full pace from now, not from when the slot
    was taken: Slack counts a post when it arrives, and the time spent rendering and sending it would
    otherwise shorten the gap to the next one."""
    if timing is None or message.channel_id is None:
        return
    after = now + _seconds(timing.pace)
    db.session.execute(
        sa.update(ChannelPace)
        .where(ChannelPace.workspace_id == message.workspace_id, ChannelPace.channel_id == message.channel_id,
               ChannelPace.next_send_at < after)
        .values(next_send_at=after)
        .execution_options(synchronize_session=False))


def _put_back(message: OutboxMessage, not_before: dt.datetime) -> None:
    message.state, message.not_before, message.dispatched_at, message.claimed_at = "pending", not_before, None, None


def _route_status(message: OutboxMessage, ok: bool, error: str | None, now: dt.datetime) -> None:
    if message.route_id is None:
        return
    db.session.execute(sa.update(AlertChannelRoute).where(AlertChannelRoute.id == message.route_id).values(
        last_delivery_at=now, last_delivery_ok=ok, last_delivery_error=error))


def record_sent(message: OutboxMessage, ts: str | None, timing: Timing | None = None,
                now: dt.datetime | None = None) -> None:
    """The send succeeded; a newer version written meanwhile sends again (committed)."""
    now = now or utcnow()
    first = message.message_ts is None
    if first:
        _pace_from_answer(message, timing, now)
    message.message_ts = message.message_ts or ts
    message.sent_version = message.claimed_version
    message.sent_at, message.last_error, message.claimed_at = now, None, None
    # A message that changed while it was being sent goes out again at once, as an update.
    current = db.session.scalar(sa.select(OutboxMessage.version).where(OutboxMessage.id == message.id))
    message.state = "sent" if current == message.claimed_version else "pending"
    message.not_before, message.dispatched_at = now, None
    _event(message.id, "posted" if first else "updated", ts, now)
    if first:
        _route_status(message, True, None, now)
    db.session.commit()


def record_rate_limited(message: OutboxMessage, retry_after: float, method: str, now: dt.datetime | None = None) -> dt.datetime:
    """Slack said 429: hold this channel (only this one) for Retry-After, never less; returns when it ends."""
    now = now or utcnow()
    until = now + _seconds(retry_after)
    if message.channel_id:
        _pace_row(message.workspace_id, message.channel_id, now)
        db.session.execute(
            sa.update(ChannelPace)
            .where(ChannelPace.workspace_id == message.workspace_id, ChannelPace.channel_id == message.channel_id)
            .values(held_until=until,
                    next_send_at=sa.case((ChannelPace.next_send_at < until, until), else_=ChannelPace.next_send_at))
            .execution_options(synchronize_session=False))
    _put_back(message, until)
    message.attempts = max(0, message.attempts - 1)  # a 429 is Slack's pace, not a failure of the message
    _event(message.id, "rate_limited", f"{method}: Retry-After {retry_after:g}s", now)
    db.session.commit()
    return until


def record_retry(message: OutboxMessage, error: str, timing: Timing | None = None,
                 now: dt.datetime | None = None) -> None:
    """A transient failure (Slack 5xx, internal_error, no connection): back off, or give up after MAX_ATTEMPTS."""
    now = now or utcnow()
    if message.message_ts is None:
        _pace_from_answer(message, timing, now)
    if message.attempts >= MAX_ATTEMPTS:
        record_failed(message, f"Slack kept failing ({error}); gave up after {message.attempts} attempts.", now)
        return
    delay = BACKOFF_SECONDS[min(message.attempts, len(BACKOFF_SECONDS)) - 1]
    _put_back(message, now + _seconds(delay))
    message.last_error = f"{error}; retrying"
    _event(message.id, "retry", f"{error}; next try in {delay}s", now)
    db.session.commit()


def record_ambiguous(message: OutboxMessage, error: str, timing: Timing, now: dt.datetime | None = None) -> None:
    """The request reached Slack but its answer was lost: a new post is re-sent at most once, after a delay.

    Slack may have posted it, and without reading channel history (a scope we don't ask for) we can't
    know, so one visible re-post beats a silently lost alert; a second ambiguous answer stops there.
    Updates are idempotent and simply retried.
    """
    now = now or utcnow()
    if message.message_ts is not None:
        record_retry(message, error, now=now)
        return
    _pace_from_answer(message, timing, now)
    if message.ambiguous_posts >= 1:
        record_failed(message, "Slack's answer was lost twice after posting; the message may be in the channel, "
                               "but Toktra could not confirm it and will not post it a third time.", now)
        return
    message.ambiguous_posts += 1
    _put_back(message, now + _seconds(timing.ambiguous_delay))
    message.last_error = "Slack's answer was lost after posting; posting once more (it may appear twice)."
    _event(message.id, "ambiguous", f"{error}; re-posting once in {timing.ambiguous_delay:g}s", now)
    db.session.commit()


def record_skipped(message: OutboxMessage, words: str, now: dt.datetime | None = None) -> None:
    """At send time the message no longer applies (a reminder for an alert resolved since): never sent,
    and never sent later; words say why (committed)."""
    now = now or utcnow()
    message.state, message.last_error, message.claimed_at = "skipped", words[:500], None
    message.attempts = max(0, message.attempts - 1)
    _event(message.id, "skipped", words, now)
    db.session.commit()


def record_failed(message: OutboxMessage, words: str, now: dt.datetime | None = None) -> None:
    """The message cannot be delivered (channel gone, token revoked...): say why, for an admin (committed)."""
    now = now or utcnow()
    message.state, message.last_error, message.claimed_at = "failed", words[:500], None
    _event(message.id, "failed", words, now)
    if message.message_ts is None:
        _route_status(message, False, words[:500], now)
    db.session.commit()
    from app.services.delivery_health import after_failure  # (imports this module)

    after_failure(message)


POSTED_KEY = "toktra:outbox:posted:{}"


def remember_answer(message_id: int, ts: str | None) -> None:
    """Keep Slack's answer to a send in Redis until it is recorded, in case the database is away right now."""
    try:
        redis_connection().set(POSTED_KEY.format(message_id), ts or "", ex=86400)
    except redis.RedisError:
        pass  # both stores away: the message will count as ambiguous, re-posted at most once


def posted_answer(message_id: int) -> str | None:
    """Slack's answer kept by remember_answer for a send whose recording failed, if any."""
    try:
        ts = redis_connection().get(POSTED_KEY.format(message_id))
    except redis.RedisError:
        return None
    return ts.decode() if ts is not None else None


def recover_stale(timing: Timing, now: dt.datetime | None = None) -> int:
    """Messages whose sender died: not yet posting → pending again; answered by Slack → sent; mid-post →
    ambiguous. Returns how many."""
    now = now or utcnow()
    stale = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.state.in_(("sending", "posting")), OutboxMessage.claimed_at < now - _seconds(timing.stale),
    ).with_for_update(skip_locked=True).limit(100)).all()
    for message in stale:
        answered_ts = posted_answer(message.id) if message.state == "posting" else None
        if answered_ts is not None:
            # Slack answered but the database was away when the job tried to record it: no re-post.
            record_sent(message, answered_ts, now=now)
        elif message.state == "posting":
            record_ambiguous(message, "the worker stopped while posting", timing, now)
        else:
            _put_back(message, now)
            _event(message.id, "requeued", "the worker stopped before posting", now)
    db.session.commit()
    return len(stale)


def due_messages(timing: Timing, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Mark the messages that may be sent now and are not in flight as dispatched, and return their ids.

    Only each channel's oldest due message is taken, and only when the channel is free, so a backlog
    drains in order at Slack's pace without queuing jobs that would only wait, every channel gets its
    turn however long another's backlog is, and a message waiting out a delay holds up no other.
    """
    now = now or utcnow()
    lease = now - _seconds(timing.lease)
    due = sa.and_(OutboxMessage.state == "pending", OutboxMessage.not_before <= now)
    # Each channel's oldest due message (a later one never overtakes it), and DMs whose channel is not open yet.
    heads = (sa.select(sa.func.min(OutboxMessage.id)).where(due, OutboxMessage.channel_id.is_not(None))
             .group_by(OutboxMessage.workspace_id, OutboxMessage.channel_id))
    unopened = sa.select(OutboxMessage.id).where(due, OutboxMessage.channel_id.is_(None))
    candidates = db.session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.workspace_id, OutboxMessage.channel_id, OutboxMessage.message_ts,
                  OutboxMessage.not_before, OutboxMessage.dispatched_at)
        .where(OutboxMessage.id.in_(heads.union(unopened).subquery().select()))
        .order_by(OutboxMessage.id).limit(limit * 4)
    ).all()
    paces = {(p.workspace_id, p.channel_id): p for p in db.session.scalars(sa.select(ChannelPace).where(
        sa.tuple_(ChannelPace.workspace_id, ChannelPace.channel_id).in_(
            {(c.workspace_id, c.channel_id) for c in candidates if c.channel_id}) if candidates else sa.false()))}
    chosen = []
    for c in candidates:
        pace = paces.get((c.workspace_id, c.channel_id)) if c.channel_id else None
        if pace is not None and not _free(pace, c.message_ts is not None, now):
            continue
        if c.dispatched_at is not None and c.dispatched_at > lease:
            continue  # queued already, its job has not run yet
        chosen.append(c.id)
        if len(chosen) >= limit:
            break
    if not chosen:
        return []
    taken = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(chosen), OutboxMessage.state == "pending",
               sa.or_(OutboxMessage.dispatched_at.is_(None), OutboxMessage.dispatched_at <= lease))
        .values(dispatched_at=now).returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    db.session.commit()
    return sorted(taken)


def _free(pace: ChannelPace, is_update: bool, now: dt.datetime) -> bool:
    if pace.held_until is not None and pace.held_until > now:
        return False
    return is_update or pace.next_send_at <= now


def undispatch(message_ids: list[int]) -> None:
    """These messages could not be queued (Redis down): let the next dispatch round take them at once."""
    if message_ids:
        db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_(message_ids))
                           .values(dispatched_at=None).execution_options(synchronize_session=False))
        db.session.commit()


def next_due_at(now: dt.datetime | None = None) -> dt.datetime | None:
    """The earliest future time a waiting message or a channel with waiting messages becomes free."""
    now = now or utcnow()
    waiting = sa.select(OutboxMessage.id).where(
        OutboxMessage.state == "pending", OutboxMessage.workspace_id == ChannelPace.workspace_id,
        OutboxMessage.channel_id == ChannelPace.channel_id)
    times = [
        db.session.scalar(sa.select(sa.func.min(OutboxMessage.not_before))
                          .where(OutboxMessage.state == "pending", OutboxMessage.not_before > now)),
        db.session.scalar(sa.select(sa.func.min(ChannelPace.next_send_at))
                          .where(ChannelPace.next_send_at > now, waiting.exists())),
    ]
    return min((t for t in times if t is not None), default=None)
