"""The outbox's jobs: send one message (post, or update in place), and the dispatcher that queues what is due."""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Callable

import redis
from flask import Flask, current_app

from app import heartbeat
from app.extensions import db
from app.logs import bind as log_ids
from app.models import (Alert, AlertChannelRoute, AlertEvent, BudgetCrossing, Organization, ReimbursementRequest,
                        SlackWorkspace, User)
from app.models.outbox import OutboxMessage
from app.models.types import utcnow
from app.services import outbox
from app.services.accounts import find_user
from app.services.outbox import WAKE_KEY, wake_dispatcher
from app.services.alert_routes import org_workspaces
from app.services.alerts import ALERT_CARD
from app.services.alert_lifecycle import (ALERT_REMINDER, ALERT_UNSNOOZE, record_reminder_sent, record_snooze_ended,
                                          reminder_due, unsnooze_due)
from app.services.alert_timeline import ALERT_REPLY
from app.services.budget import budget_status
from app.services.budget_card import BUDGET_CARD, BUDGET_REPLY, card_period, reply_period
from app.services.pace_nudges import PACE_NUDGE, nudge_period, person_pace
from app.services.home import HOME_VIEW
from app.services.home_content import home_content
from app.services.reimbursements import EMPLOYEE_NOTICE, REQUEST_DM
from app.slack.blocks.home import render_home, render_home_without_account
from app.slack.client.users import linked_email, no_account_message, toktra_user_for
from app.services.alerts import has_active_itsm
from app.services.delivery_health import ALARM_KIND, render_delivery_alarm
from app.services.digests import DIGEST_KIND, digest_content, period_start_from_key, write_due_digests
from app.slack.blocks.digests import render_digest
from app.services.periods import period_for
from app.services.usage import usage_summary
from app.slack.blocks import cards
from app.slack.blocks.alert_replies import render_alert_reply, render_reminder, render_unsnooze
from app.slack.blocks.messages import render_mention_help
from app.slack.blocks.nudges import render_pace_nudge
from app.models.reimbursements import BUDGET_INCREASE
from app.slack.blocks.budget_request_cards import (
    render_budget_notice,
    render_budget_request_dm,
    render_decided_budget_dm,
)
from app.slack.blocks.reimbursement_cards import render_decided_dm, render_employee_notice, render_request_dm
from app.slack.client.web import (
    SlackAnswerLost,
    SlackChannelUnavailable,
    SlackError,
    SlackRateLimited,
    SlackTokenRevoked,
    FAILURE_WORDS,
    SlackTransient,
    WorkspaceClient,
    failure_in_words,
)
from jobs import QueueUnavailable, enqueue, queue_deferred_jobs
from jobs.slack import MENTION_REPLY
from jobs.ticket_status import queue_ticket_polls

log = logging.getLogger(__name__)

LEADER_KEY = "toktra:outbox:dispatcher"


class _Undeliverable(Exception):
    """The message cannot be sent (its subject or recipient is gone); str() says why."""


def _render_alert_card(message: OutboxMessage, client: WorkspaceClient) -> tuple[str, list[dict]]:
    alert = db.session.get(Alert, message.subject_id)
    if alert is None:
        raise _Undeliverable("The alert was deleted.")
    org = db.session.get(Organization, alert.org_id)
    return cards.render_alert_card(alert, org.timezone, has_active_itsm(org))


def _render_alert_reply(message: OutboxMessage, client: WorkspaceClient) -> tuple[str, list[dict]]:
    event = db.session.get(AlertEvent, message.subject_id)
    if event is None:
        raise _Undeliverable("The alert was deleted.")
    return render_alert_reply(event, event.alert)


def _render_unsnooze(message: OutboxMessage, client: WorkspaceClient) -> tuple[str, list[dict]]:
    event = db.session.get(AlertEvent, message.subject_id)
    if event is None:
        raise _Undeliverable("The alert was deleted.")
    return render_unsnooze(event.alert, db.session.get(Organization, event.alert.org_id).timezone)


def _render_reminder(message: OutboxMessage, client: WorkspaceClient) -> tuple[str, list[dict]]:
    alert = db.session.get(Alert, message.subject_id)
    if alert is None:
        raise _Undeliverable("The alert was deleted.")
    return render_reminder(alert, db.session.get(Organization, alert.org_id).timezone)


def _render_reimbursement(message: OutboxMessage, client: WorkspaceClient) -> tuple[str, list[dict]]:
    request = db.session.get(ReimbursementRequest, message.subject_id)
    if request is None:
        raise _Undeliverable("The reimbursement request was deleted.")
    org = request.employee.organization
    period = period_for(request.period, org.timezone)
    if request.kind == BUDGET_INCREASE:
        return _render_budget_request(message, request, org, period)
    if message.kind == "reimbursement_notice":
        return render_employee_notice(request, period.label, org.timezone)
    usage = usage_summary(org, request.employee, period)
    if request.status == "pending":
        return render_request_dm(request, usage)
    return render_decided_dm(request, usage, org.timezone)


def _render_budget_card(message: OutboxMessage, client: WorkspaceClient) -> tuple[str, list[dict]]:
    org = db.session.get(Organization, message.subject_id)
    if org is None:
        raise _Undeliverable("The organization was deleted.")
    status = budget_status(org, period_for(card_period(message.key), org.timezone))
    return cards.render_living_budget_card(status, org.name, current_app.config["PUBLIC_BASE_URL"], org.id,
                                           utcnow(), org.timezone)


def _render_budget_reply(message: OutboxMessage, client: WorkspaceClient) -> tuple[str, list[dict]]:
    org = db.session.get(Organization, message.org_id)
    period = reply_period(message.key)
    crossing = db.session.get(BudgetCrossing, (message.org_id, period, message.subject_id)) if org else None
    if crossing is None:
        raise _Undeliverable("The organization or its budget crossing was deleted.")
    status = budget_status(org, period_for(period, org.timezone))
    return cards.render_budget_reply(crossing.threshold, crossing.crossed_at, status, org.timezone)


def _render_pace_nudge(message: OutboxMessage, client: WorkspaceClient) -> tuple[str, list[dict]]:
    user = db.session.get(User, message.subject_id)
    if user is None:
        raise _Undeliverable("The person was deleted.")
    pace = person_pace(user, nudge_period(message.key))
    return render_pace_nudge(pace, user.name, user.id, current_app.config["PUBLIC_BASE_URL"], user.pace_nudges)


def _render_budget_request(message: OutboxMessage, request: ReimbursementRequest, org: Organization,
                           period) -> tuple[str, list[dict]]:
    status = budget_status(org)  # where the budget stands now, raised limit included
    label = period.label  # the period the request was made in
    if message.kind == "reimbursement_notice":
        return render_budget_notice(request, status, label)
    if request.status == "pending":
        return render_budget_request_dm(request, status, label)
    return render_decided_budget_dm(request, status, label, org.timezone)


def _render_mention_reply(message: OutboxMessage, client: WorkspaceClient) -> tuple[str, list[dict]]:
    return render_mention_help()


def _render_home(message: OutboxMessage, client: WorkspaceClient) -> dict:
    workspace = db.session.get(SlackWorkspace, message.workspace_id)
    user = toktra_user_for(workspace, message.recipient_user_id, client)
    if user is None:
        return render_home_without_account(no_account_message(workspace, linked_email(workspace,
                                                                                        message.recipient_user_id)))
    return render_home(home_content(user))


def _render_delivery_alarm(message: OutboxMessage, client: WorkspaceClient) -> tuple[str, list[dict]]:
    return render_delivery_alarm(message)


def _render_digest(message: OutboxMessage, client: WorkspaceClient) -> tuple[str, list[dict]]:
    route = db.session.get(AlertChannelRoute, message.subject_id)
    start = period_start_from_key(message.key)
    if route is None or start is None:
        raise _Undeliverable("The alert channel was removed before its digest was sent.")
    tz = db.session.get(Organization, message.org_id).timezone
    return render_digest(digest_content(route, tz, start), tz)


def _post_or_update(client: WorkspaceClient, message: OutboxMessage, rendered: tuple[str, list[dict]]):
    """chat.postMessage the first time, chat.update of that message afterwards."""
    text, blocks = rendered
    if message.message_ts is None:
        extra = {"reply_broadcast": True} if message.broadcast and message.thread_ts else {}
        return client.chat_postMessage(channel=message.channel_id, text=text, blocks=blocks,
                                       thread_ts=message.thread_ts, unfurl_links=False, **extra)
    return client.chat_update(channel=message.channel_id, ts=message.message_ts, text=text, blocks=blocks)


def _publish_view(client: WorkspaceClient, message: OutboxMessage, view: dict):
    """views.publish replaces the person's Home tab: idempotent, so every send is the same call."""
    return client.views_publish(user_id=message.recipient_user_id, view=view)


@dataclass(frozen=True)
class Sender:
    """How one kind of outbox message is rendered from its subject's current state, and sent.

    check, when given, runs before each attempt to post: it says why the message no longer applies (it is
    then skipped, never sent), or returns None and may write what follows it (the next reminder) in the
    transaction that takes the channel's turn; it must be idempotent (outbox keys make writes so).
    """

    render: Callable[[OutboxMessage, WorkspaceClient], object]
    send: Callable[[WorkspaceClient, OutboxMessage, object], object]
    check: Callable[[OutboxMessage], str | None] | None = None


SENDERS = {
    ALERT_CARD: Sender(_render_alert_card, _post_or_update),
    ALERT_REPLY: Sender(_render_alert_reply, _post_or_update),
    ALERT_UNSNOOZE: Sender(_render_unsnooze, _post_or_update, lambda m: unsnooze_due(m, utcnow())),
    ALERT_REMINDER: Sender(_render_reminder, _post_or_update, lambda m: reminder_due(m, utcnow())),
    REQUEST_DM: Sender(_render_reimbursement, _post_or_update),
    EMPLOYEE_NOTICE: Sender(_render_reimbursement, _post_or_update),
    MENTION_REPLY: Sender(_render_mention_reply, _post_or_update),
    HOME_VIEW: Sender(_render_home, _publish_view),
    ALARM_KIND: Sender(_render_delivery_alarm, _post_or_update),
    BUDGET_CARD: Sender(_render_budget_card, _post_or_update),
    BUDGET_REPLY: Sender(_render_budget_reply, _post_or_update),
    PACE_NUDGE: Sender(_render_pace_nudge, _post_or_update),
    DIGEST_KIND: Sender(_render_digest, _post_or_update),
}


def _open_dm(message: OutboxMessage) -> tuple[SlackWorkspace, WorkspaceClient]:
    """Find the recipient in the organization's workspaces and open the DM; record where it goes."""
    for workspace in org_workspaces(message.org_id):
        try:
            client = WorkspaceClient(workspace)
            slack_user = client.users_lookupByEmail(email=message.recipient_email)["user"]["id"]
            channel = client.conversations_open(users=slack_user)["channel"]["id"]
        except (SlackChannelUnavailable, SlackTokenRevoked):
            continue  # not in this workspace (users_not_found), or the workspace is gone
        outbox.set_destination(message, workspace.id, channel)
        return workspace, client
    if not org_workspaces(message.org_id):
        raise _Undeliverable("No Slack workspace is connected, so no DM was sent.")
    person = find_user(message.recipient_email, message.org_id)
    who = f"{person.name} ({person.email})" if person else message.recipient_email
    raise _Undeliverable(f"{who} was not found in the connected Slack workspaces, so no DM was sent.")


def _workspace_client(message: OutboxMessage) -> WorkspaceClient:
    workspace = db.session.get(SlackWorkspace, message.workspace_id)
    if workspace is None:
        raise SlackTokenRevoked("workspace inactive")
    return WorkspaceClient(workspace)


def deliver(message_id: int) -> str:
    """Send one outbox message if it is due and free: post it, or bring the posted copy up to date."""
    timing = outbox.Timing.from_config()
    message = outbox.claim(message_id)
    if message is None:
        return "not due, or taken by another job"
    log_ids(org_id=message.org_id, workspace_id=message.workspace_id, outbox_message_id=message.id)
    try:
        sender = SENDERS.get(message.kind)
        if sender is None:
            raise _Undeliverable(f"unknown message kind {message.kind}")
        why_not = sender.check(message) if sender.check is not None and message.message_ts is None else None
        if why_not:
            outbox.record_skipped(message, why_not)
            return f"skipped: {why_not}"
        if message.parent_id is not None and message.message_ts is None:
            waiting = outbox.wait_for_parent(message, timing)  # a thread reply needs its parent's ts
            if waiting is not None:
                return waiting
        dm = message.channel_id is None and message.recipient_email
        client = _open_dm(message)[1] if dm else _workspace_client(message)
        free_at = outbox.take_slot(message, timing)
        if free_at is not None:
            return f"channel busy until {free_at.isoformat()}"
        response = sender.send(client, message, sender.render(message, client))
    except SlackRateLimited as exc:
        outbox.record_rate_limited(message, exc.retry_after, exc.method)
        return f"rate limited for {exc.retry_after:g}s"
    except SlackAnswerLost as exc:
        outbox.record_ambiguous(message, str(exc), timing)
        return "answer lost"
    except SlackTransient as exc:
        outbox.record_retry(message, str(exc), timing)
        return f"will retry: {exc}"
    except (SlackChannelUnavailable, SlackTokenRevoked) as exc:
        known = exc.error in FAILURE_WORDS or isinstance(exc, SlackChannelUnavailable)
        _give_up(message, failure_in_words(exc.error if known else "workspace inactive"))
        return f"failed: {exc.error}"
    except SlackError as exc:
        _give_up(message, failure_in_words(exc.error))
        return f"failed: {exc.error}"
    except _Undeliverable as exc:
        _give_up(message, str(exc))
        return f"failed: {exc}"
    first_post = message.message_ts is None
    if first_post:
        outbox.remember_answer(message.id, response.get("ts"))  # survives a database outage right now
    outbox.record_sent(message, response.get("ts"), timing)
    _after_sent(message, first_post)
    wake_dispatcher()  # the channel's next message, or a newer version of this one
    return f"sent {message.message_ts or message.kind}"


def _give_up(message: OutboxMessage, words: str) -> None:
    outbox.record_failed(message, words)
    if message.kind == "reimbursement_request":
        request = db.session.get(ReimbursementRequest, message.subject_id)
        if request is not None and request.slack_message_ts is None:
            request.notify_error = words[:500]
            db.session.commit()


def _after_sent(message: OutboxMessage, first_post: bool) -> None:
    """Keep the request's record of its approver DM (shown on the dashboard) in step, and the alert's timeline
    of the reminders and snooze ends Toktra posted (once each: an update of the post is no new event)."""
    if first_post and message.kind == ALERT_REMINDER:
        record_reminder_sent(message)
    if first_post and message.kind == ALERT_UNSNOOZE:
        record_snooze_ended(message)
    if message.kind != "reimbursement_request":
        return
    request = db.session.get(ReimbursementRequest, message.subject_id)
    if request is not None and request.slack_message_ts is None:
        request.slack_workspace_id, request.slack_channel_id = message.workspace_id, message.channel_id
        request.slack_message_ts, request.notify_error = message.message_ts, None
        db.session.commit()


def dispatch_due() -> int:
    """Recover messages whose sender died, queue jobs kept while Redis was down, write the digests whose time
    has come, queue the ticket polls that are due, then queue each due message that is not in flight; returns
    how many jobs were queued."""
    timing = outbox.Timing.from_config()
    outbox.recover_stale(timing)
    try:
        deferred = queue_deferred_jobs()
    except redis.RedisError as exc:
        raise QueueUnavailable(str(exc)) from exc
    write_due_digests()  # outbox rows, queued just below
    deferred += queue_ticket_polls()
    due = outbox.due_messages(timing)
    for index, message_id in enumerate(due):
        try:
            enqueue(deliver, message_id=message_id, retry=None, job_timeout=60, result_ttl=60)
        except QueueUnavailable:
            outbox.undispatch(due[index:])
            raise
    return deferred + len(due)


class Dispatcher:
    """The supervised loop that turns the outbox's due times into queued jobs: one per deployment.

    Every worker process runs one; the one holding a short lease in Redis leads, the others wait to take
    over (within `lease_seconds` of the leader dying, or at once after a Redis restart). The leader sleeps
    until the next due time (at most `tick` seconds) or until a writer wakes it, and survives any Redis or
    PostgreSQL outage (each round is retried on the next tick). Correctness never rests on the lease:
    queuing a message marks it dispatched in one conditional UPDATE, so two loops never queue the same one.
    """

    def __init__(self, app: Flask, tick: float, lease_seconds: float | None = None):
        self.app, self.tick = app, tick
        self.lease_ms = int(1000 * (lease_seconds or max(5.0, 3 * tick)))
        self.token = uuid.uuid4().hex
        self.stop = threading.Event()
        self._redis = None
        self._thread: threading.Thread | None = None

    def leads(self) -> bool:
        """Take or keep the deployment's dispatcher lease; True while this loop holds it."""
        conn = self._wake_connection()
        if conn.set(LEADER_KEY, self.token, nx=True, px=self.lease_ms):
            return True
        if conn.get(LEADER_KEY) == self.token.encode():
            conn.pexpire(LEADER_KEY, self.lease_ms)
            return True
        return False

    def release(self) -> None:
        """Stop the loop, give the lease up so another worker takes over at once, and remove this loop's beat."""
        self.stop.set()
        try:
            self._wake_connection().lpush(WAKE_KEY, 1)  # a leader waiting for work wakes and sees the stop
        except redis.RedisError:
            pass
        if self._thread is not None:
            # A round in flight would beat after the beat is removed, and /readyz would call a stopped
            # worker's dispatcher alive; so that round ends first.
            self._thread.join(timeout=self.tick + 5)
        try:
            conn = self._wake_connection()
            if conn.get(LEADER_KEY) == self.token.encode():
                conn.delete(LEADER_KEY)
            heartbeat.forget(conn, "dispatcher")
        except redis.RedisError:
            pass

    def start(self) -> "Dispatcher":
        """Run the loop in a daemon thread."""
        self._thread = threading.Thread(target=self._loop, name="toktra-outbox-dispatcher", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        failing = False
        while not self.stop.is_set():
            try:
                if not self.leads():
                    self.stop.wait(self.tick)
                    continue
                with self.app.app_context():
                    queued = dispatch_due()
                    wake_at = outbox.next_due_at()
                    db.session.remove()
                if queued:
                    log.debug("dispatcher queued %s outbox messages", queued)
                if failing:
                    log.info("dispatcher recovered")
                failing = False
                heartbeat.beat(self._wake_connection(), "dispatcher")  # /readyz: the loop is alive
                self._sleep(wake_at)
            except Exception as exc:  # Redis or PostgreSQL away: try again next tick, never die
                if not failing:
                    log.warning("dispatcher round failed (%s); retrying every %ss", exc, self.tick)
                failing = True
                self.stop.wait(self.tick)

    def _sleep(self, wake_at) -> None:
        seconds = self.tick
        if wake_at is not None:
            seconds = min(seconds, max(0.005, (wake_at - utcnow()).total_seconds()))
        try:
            conn = self._wake_connection()
            if conn.blpop([WAKE_KEY], timeout=seconds):
                conn.delete(WAKE_KEY)  # one look at the outbox answers every wake-up so far
        except redis.RedisError:
            self._redis = None
            self.stop.wait(seconds)

    def _wake_connection(self) -> redis.Redis:
        if self._redis is None:
            # Its own client with timeouts, so a paused Redis can never hang the loop.
            self._redis = redis.Redis.from_url(self.app.config["REDIS_URL"], socket_connect_timeout=1,
                                               socket_timeout=self.tick + 2)
        return self._redis
