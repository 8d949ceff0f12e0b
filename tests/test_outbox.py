"""The outbox's state machine with a clock the tests hold: pacing, holds, latest state wins, lost answers."""
from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AlertChannelRoute, ChannelPace, OutboxMessage
from app.services import outbox
from app.services.alerts import ALERT_CARD, acknowledge_alert, fire_alert
from app.slack.client.web import SlackAnswerLost, SlackTransient, WorkspaceClient
from jobs.outbox import Dispatcher, deliver
from tests.conftest import fresh

TIMING = outbox.Timing(pace=1.0, lease=10.0, stale=30.0, ambiguous_delay=20.0)


@pytest.fixture
def routes(slack, workspace):
    """Two channels taking every severity."""
    for channel_id in ("C1", "C2"):
        slack.add_channel(channel_id, f"alerts-{channel_id.lower()}")
        db.session.add(AlertChannelRoute(workspace_id=workspace.id, channel_id=channel_id,
                                         channel_name=f"alerts-{channel_id.lower()}", severities="low,high,critical"))
    db.session.commit()


def later(seconds: float) -> dt.datetime:
    """A moment of the tests' clock, `seconds` from now."""
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)


def copies(channel_id: str) -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel_id == channel_id)
                                   .order_by(OutboxMessage.id)))


def test_a_burst_to_one_channel_goes_one_slot_at_a_time_while_another_channel_flows(org, routes):
    for n in range(3):
        fire_alert(org, "low", "P", f"Burst {n}")
    t0 = later(1)
    first, second, third = copies("C1")
    # Only each channel's oldest message is handed out.
    assert outbox.due_messages(TIMING, t0) == [first.id, copies("C2")[0].id]
    assert outbox.take_slot(outbox.claim(first.id, t0), TIMING, t0) is None
    # A job for the next one (a rerun, a race) finds the channel taken and waits for its slot.
    free_at = outbox.take_slot(outbox.claim(second.id, t0), TIMING, t0)
    assert free_at == t0 + dt.timedelta(seconds=1)
    assert fresh(second).not_before == free_at and second.state == "pending"
    # Re-dispatching and lease expiry never move the channel's slot.
    for step in (0.2, 0.5, 0.9):
        outbox.due_messages(TIMING, t0 + dt.timedelta(seconds=step))
    pace = db.session.get(ChannelPace, (first.workspace_id, "C1"))
    assert fresh(pace).next_send_at == t0 + dt.timedelta(seconds=1)
    assert second.id not in outbox.due_messages(TIMING, t0 + dt.timedelta(seconds=0.999))
    assert outbox.due_messages(TIMING, t0 + dt.timedelta(seconds=1)) == [second.id]
    assert fresh(third).state == "pending"


def test_a_429_holds_only_its_channel_for_the_whole_fractional_retry_after(org, routes):
    fire_alert(org, "low", "P", "One")
    fire_alert(org, "low", "P", "Two")
    t0 = later(1)
    held = outbox.claim(copies("C1")[0].id, t0)
    outbox.take_slot(held, TIMING, t0)
    until = outbox.record_rate_limited(held, 2.5, "chat.postMessage", t0)
    assert until == t0 + dt.timedelta(seconds=2.5)
    assert [e.event for e in fresh(held).events] == ["rate_limited"] and held.attempts == 0
    # Never early: not a millisecond before Retry-After has passed.
    just_before = t0 + dt.timedelta(seconds=2.499)
    assert outbox.due_messages(TIMING, just_before) == [copies("C2")[0].id]
    assert outbox.take_slot(outbox.claim(held.id, until), TIMING, just_before) == until
    assert outbox.take_slot(outbox.claim(held.id, until), TIMING, until) is None


def test_an_update_written_while_the_post_is_under_way_is_sent_after_it_with_the_latest_state(
        slack, workspace, org, routes, member, run_worker):
    slack.add_user("U0001", member.email, "alice")
    alert = fire_alert(org, "critical", "P", "Leaked key").alert
    message = copies("C1")[0]
    sending = outbox.claim(message.id)
    outbox.take_slot(sending, TIMING)
    ts = WorkspaceClient(workspace).chat_postMessage(channel="C1", text="first version")["ts"]
    acknowledge_alert(alert.id, member)  # the card changes while its first post is in flight
    outbox.record_sent(sending, ts)
    assert fresh(sending).state == "pending" and sending.sent_version == 1 and sending.version == 2
    run_worker()
    assert fresh(sending).state == "sent" and sending.sent_version == 2
    [update] = [c for c in slack.calls_to("chat.update") if c.params["channel"] == "C1"]
    assert update.params["ts"] == ts
    assert "Acknowledged by" in json.dumps(update.params["blocks"])


def test_many_changes_while_waiting_become_one_update(slack, org, routes, member, run_worker):
    alert = fire_alert(org, "critical", "P", "Leaked key").alert
    run_worker()
    for _ in range(5):
        outbox.refresh_messages(ALERT_CARD, alert.id)
    db.session.commit()
    run_worker()
    assert len([c for c in slack.calls_to("chat.update") if c.params["channel"] == "C1"]) == 1


def test_a_lost_answer_after_a_post_is_reposted_once_after_a_delay_then_given_up(org, routes):
    fire_alert(org, "low", "P", "Maybe posted")
    t0 = later(1)
    message = outbox.claim(copies("C1")[0].id, t0)
    outbox.take_slot(message, TIMING, t0)
    outbox.record_ambiguous(message, "answer lost (RemoteDisconnected)", TIMING, t0)
    assert fresh(message).state == "pending" and message.not_before == t0 + dt.timedelta(seconds=20)
    assert "posting once more" in message.last_error
    t1 = t0 + dt.timedelta(seconds=20)
    outbox.take_slot(outbox.claim(message.id, t1), TIMING, t1)
    outbox.record_ambiguous(message, "answer lost again", TIMING, t1)
    assert fresh(message).state == "failed" and "will not post it a third time" in message.last_error
    assert [e.event for e in message.events] == ["ambiguous", "failed"]


def test_a_worker_that_died_before_posting_is_retried_and_one_that_died_while_posting_is_ambiguous(org, routes):
    fire_alert(org, "low", "P", "Interrupted")
    t0 = later(1)
    claimed = outbox.claim(copies("C1")[0].id, t0)  # died while opening the DM, say
    posting = outbox.claim(copies("C2")[0].id, t0)
    outbox.take_slot(posting, TIMING, t0)
    assert outbox.recover_stale(TIMING, t0 + dt.timedelta(seconds=29)) == 0
    assert outbox.recover_stale(TIMING, t0 + dt.timedelta(seconds=31)) == 2
    assert fresh(claimed).state == "pending" and claimed.ambiguous_posts == 0
    assert fresh(posting).state == "pending" and posting.ambiguous_posts == 1


def test_transient_failures_back_off_and_give_up_in_words(org, routes):
    fire_alert(org, "low", "P", "Flaky")
    t0 = later(1)
    message = copies("C1")[0]
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        now = t0 + dt.timedelta(hours=attempt)
        claimed = outbox.claim(message.id, now)
        outbox.record_retry(claimed, "internal_error", now=now)
    assert fresh(message).state == "failed"
    assert message.last_error == f"Slack kept failing (internal_error); gave up after {outbox.MAX_ATTEMPTS} attempts."


def test_slack_failing_with_internal_error_is_retried_later_not_dropped(slack, org, routes, run_worker):
    slack.fail("chat.postMessage", error="internal_error", channel="C1")
    fire_alert(org, "low", "P", "Retried")
    before = later(0)
    run_worker()
    message = copies("C1")[0]
    assert fresh(message).state == "pending" and message.not_before >= before + dt.timedelta(seconds=2)
    db.session.execute(sa.update(OutboxMessage).values(not_before=later(-1)))
    db.session.commit()
    run_worker()
    assert fresh(message).state == "sent" and len(slack.messages("C1")) == 1


@pytest.fixture
def answerless_slack(app, workspace):
    """A 'Slack' that reads each request whole, then hangs up without answering; counts the requests."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    received = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int([h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0])
                while len(body) < length:
                    body += conn.recv(65536)
                received.append(head.split(b" ")[1].decode())

    threading.Thread(target=serve, daemon=True).start()
    app.config["SLACK_API_URL"] = f"http://127.0.0.1:{server.getsockname()[1]}/api/"
    yield received
    server.close()


def test_a_post_whose_answer_is_lost_is_never_repeated_by_the_client(answerless_slack, workspace):
    with pytest.raises(SlackAnswerLost):
        WorkspaceClient(workspace).chat_postMessage(channel="C1", text="hi")
    assert answerless_slack == ["/api/chat.postMessage"]  # slack_sdk's own retry did not post it again
    with pytest.raises(SlackTransient):  # an update is idempotent: retried later like any hiccup
        WorkspaceClient(workspace).chat_update(channel="C1", ts="1.2", text="hi")


def test_the_dispatcher_queues_new_messages_as_soon_as_they_are_committed(app, org, routes, queue):
    dispatcher = Dispatcher(app, tick=5.0).start()
    try:
        fire_alert(org, "low", "P", "Wake up")  # the commit wakes the dispatcher: no waiting for its tick
        deadline = time.monotonic() + 4
        while len(queue) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sorted(j.kwargs["message_id"] for j in queue.jobs) == [m.id for m in copies("C1") + copies("C2")]
        assert all(j.func_name == "jobs.outbox.deliver" for j in queue.jobs)
    finally:
        dispatcher.release()


def test_a_job_for_a_message_already_sent_posts_nothing(slack, org, routes, run_worker):
    fire_alert(org, "low", "P", "Once")
    run_worker()
    assert deliver(copies("C1")[0].id) == "not due, or taken by another job"
    assert len(slack.messages("C1")) == 1


def test_a_message_waiting_out_a_delay_holds_up_no_other_in_its_channel(org, routes):
    for n in range(3):
        fire_alert(org, "low", "P", f"Queued {n}")
    t0 = later(1)
    first, second, _ = copies("C1")
    delayed = outbox.claim(first.id, t0)
    outbox.record_retry(delayed, "internal_error", now=t0)  # backs off for a while
    assert second.id in outbox.due_messages(TIMING, t0 + dt.timedelta(seconds=0.5))


def test_a_post_slack_answered_while_the_database_was_away_is_recorded_not_reposted(org, routes, redis_conn):
    fire_alert(org, "low", "P", "Answered")
    t0 = later(1)
    message = outbox.claim(copies("C1")[0].id, t0)
    outbox.take_slot(message, TIMING, t0)
    outbox.remember_answer(message.id, "1700000000.000042")  # then recording it failed: PostgreSQL was down
    assert outbox.recover_stale(TIMING, t0 + dt.timedelta(seconds=31)) == 1
    assert (fresh(message).state, message.message_ts, message.ambiguous_posts) == ("sent", "1700000000.000042", 0)


def test_a_stopped_dispatcher_leaves_no_beat_even_when_it_stops_mid_round(app, redis_conn):
    """/readyz must not call a stopped worker's dispatcher alive: a round in flight ends before its beat goes."""
    dispatcher = Dispatcher(app, tick=0.2).start()
    with db.engine.connect() as blocker:  # holds the dispatcher's round at its first query
        blocker.execute(sa.text("LOCK TABLE outbox_messages IN ACCESS EXCLUSIVE MODE"))
        deadline = time.monotonic() + 10
        while not _waits_for_a_lock(blocker) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _waits_for_a_lock(blocker), "the dispatcher's round never reached the outbox"
        stopping = threading.Thread(target=dispatcher.release)
        stopping.start()
        assert dispatcher.stop.wait(10), "release() never asked the loop to stop"
        blocker.rollback()  # the round goes on now, after the stop was asked
    stopping.join(timeout=10)
    for loop in threading.enumerate():  # whatever the round still does, it has done it
        if loop.name == "toktra-outbox-dispatcher":
            loop.join(timeout=10)
    assert redis_conn.hgetall("toktra:heartbeat:dispatcher") == {}
    assert redis_conn.get("toktra:outbox:dispatcher") is None  # and the lease is free for another worker


def _waits_for_a_lock(blocker) -> bool:
    return bool(blocker.execute(sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        " AND datname = current_database()")).scalar())


def test_one_dispatcher_leads_per_deployment_and_another_takes_over_when_it_stops(app, redis_conn):
    first, second = Dispatcher(app, tick=0.2, lease_seconds=1), Dispatcher(app, tick=0.2, lease_seconds=1)
    assert first.leads() and not second.leads()
    assert first.leads()  # renewing keeps it
    first.release()  # a clean stop hands over at once
    assert second.leads() and not first.leads()
    third = Dispatcher(app, tick=0.2, lease_seconds=1)
    redis_conn.pexpire("toktra:outbox:dispatcher", 1)  # the leader was SIGKILLed: its lease runs out
    deadline = time.monotonic() + 2
    while not third.leads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert third.leads()
