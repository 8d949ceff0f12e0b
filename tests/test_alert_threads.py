"""Thread replies in the outbox (add_reply) and the alert timeline they tell, under each copy of a card."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import AlertChannelRoute, AlertEvent, OutboxMessage
from app.models.types import utcnow
from app.services.alert_timeline import record_event
from app.services.alerts import acknowledge_alert, alert_copy_key, fire_alert
from app.services.outbox import add_reply
from jobs.outbox import deliver
from tests.conftest import fresh


@pytest.fixture
def routes(slack, workspace):
    """#security (C1) and #all-alerts (C2) take every severity."""
    for channel_id, name in (("C1", "security"), ("C2", "all-alerts")):
        slack.add_channel(channel_id, name)
        db.session.add(AlertChannelRoute(workspace_id=workspace.id, channel_id=channel_id, channel_name=name,
                                         severities="low,medium,high,critical"))
    db.session.commit()


def fire(org):
    return fire_alert(org, "high", "Secrets in prompts", "API key in a prompt").alert


def reply_rows():
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "alert_reply")
                              .order_by(OutboxMessage.id)).all()


def test_each_event_is_one_reply_under_each_copy_and_the_cards_show_the_state(slack, routes, org, member, run_worker):
    alert = fire(org)
    run_worker()
    acknowledge_alert(alert.id, member, "needs_follow_up", "  Ask Bob  ")
    run_worker()
    run_worker()  # nothing more to send: every reply and update happens once
    for channel in ("C1", "C2"):
        [card] = slack.channel_messages(channel)
        assert "Acknowledged by Alice Smith" in str(card["blocks"])
        [reply] = slack.thread(channel, card["ts"])
        assert reply["text"] == "✅ Acknowledged by Alice Smith — Needs follow-up: “Ask Bob”"
        assert not reply.get("reply_broadcast")
    assert len(slack.calls_to("chat.postMessage")) == 4 and len(slack.calls_to("chat.update")) == 2
    [event] = db.session.scalars(sa.select(AlertEvent)).all()
    assert (event.event, event.actor_id, event.alert_id) == ("acknowledged", member.id, alert.id)


def test_a_reply_written_before_its_card_is_posted_follows_it_into_the_thread(slack, routes, org, member,
                                                                              run_worker):
    alert = fire(org)
    acknowledge_alert(alert.id, member)  # before the worker ever ran: the card is not posted yet
    run_worker()
    for channel in ("C1", "C2"):
        [card] = slack.channel_messages(channel)
        assert [r["text"] for r in slack.thread(channel, card["ts"])] == ["✅ Acknowledged by Alice Smith"]
    assert len(slack.calls_to("chat.postMessage")) == 4


def test_a_reply_whose_parent_is_not_posted_waits_without_counting_an_attempt(slack, routes, org, member,
                                                                              run_worker):
    alert = fire(org)
    event = record_event(alert, "reminder", detail="not acknowledged after 30 minutes")
    db.session.commit()
    reply = reply_rows()[0]
    assert deliver(reply.id) == "waiting for its parent"
    reply = fresh(reply)
    assert (reply.state, reply.attempts, reply.message_ts) == ("pending", 0, None)
    assert slack.calls_to("chat.postMessage") == []
    run_worker()  # the cards go now; the replies once the channel's next turn comes
    with time_machine.travel(utcnow() + dt.timedelta(seconds=2), tick=True):
        run_worker()
    for channel in ("C1", "C2"):
        [card] = slack.channel_messages(channel)
        [told] = slack.thread(channel, card["ts"])
        assert told["text"] == ("⏰ Reminder: 🟠 *API key in a prompt* is still not acknowledged "
                                "(not acknowledged after 30 minutes)")
    assert event.id == fresh(reply).subject_id


def test_a_reply_to_a_card_that_could_not_be_posted_fails_in_words(slack, workspace, org, member, run_worker):
    db.session.add(AlertChannelRoute(workspace_id=workspace.id, channel_id="CGONE", channel_name="gone",
                                     severities="high"))
    db.session.commit()
    alert = fire(org)
    acknowledge_alert(alert.id, member)
    run_worker()
    [reply] = reply_rows()
    assert reply.state == "failed"
    assert reply.last_error.startswith("Not posted: the message it replies to could not be posted (")
    assert len(slack.calls_to("chat.postMessage")) == 1  # the card's own attempt; the reply was never tried


def test_a_broadcast_reply_also_shows_in_the_channel_and_a_reply_to_nothing_is_not_written(slack, routes, org,
                                                                                          run_worker, workspace):
    alert = fire(org)
    run_worker()
    parent = alert_copy_key(alert.id, workspace.id, "C1")
    assert add_reply("test-reply:1", parent, "alert_reply", record_event(alert, "unsnoozed").id, broadcast=True)
    assert not add_reply("test-reply:2", "alert:999:1:C1", "alert_reply", None)
    db.session.commit()
    run_worker()
    card, shown = slack.channel_messages("C1")
    assert shown["reply_broadcast"] is True and shown["thread_ts"] == card["ts"]
    assert shown["text"].startswith("⏰ Snooze over: 🟠 *API key in a prompt* is still open")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.key == "test-reply:2")) == 0
