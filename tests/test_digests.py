"""Digest channels: a route receives one daily or weekly message at a local time instead of each alert, posted
by the scheduler exactly once per period and channel, even with several workers."""
from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import AlertChannelRoute, OutboxMessage
from app.services.alerts import acknowledge_alert, fire_alert
from app.slack.actions import ACKNOWLEDGE_ALERT
from app.slack.client.channels import store_channels
from tests.conftest import csrf_token_from, fresh

UTC = dt.timezone.utc
# Europe/Paris is UTC+1 in December: 09:00 there is 08:00 UTC.
TUESDAY_0900_PARIS = dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def paris(org):
    org.timezone = "Europe/Paris"
    db.session.commit()
    return org


@pytest.fixture
def channels(slack, workspace, member, redis_conn):
    """#security-incidents (C1), known to Toktra's channel list; Slack user U0001 is Alice."""
    slack.add_channel("C1", "security-incidents")
    slack.add_user("U0001", member.email, "alice")
    store_channels(workspace.id, [{"id": "C1", "name": "security-incidents", "is_private": False}])
    return workspace


def at(moment: dt.datetime):
    return time_machine.travel(moment, tick=False)


def fire(org, severity, title, subject=None):
    return fire_alert(org, severity, "Data exfiltration", title, "", subject).alert


def digests():
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "alert_digest")).all()


def text_of(message) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def test_a_daily_digest_arrives_once_at_the_local_time_with_counts_and_the_top_open_alerts(
        paris, member, channels, api, slack, signed, run_worker):
    with at(TUESDAY_0900_PARIS + dt.timedelta(minutes=5)):
        created = api("post", "/alert-channels", json={"channel_id": "C1", "severities": ["high", "critical"],
                                                       "delivery": "daily", "digest_time": "09:00"})
        assert created.status_code == 201
        assert (created.json["delivery"], created.json["digest_time"]) == ("daily", "09:00")
    with at(TUESDAY_0900_PARIS + dt.timedelta(hours=2)):
        critical = fire(paris, "critical", "Customer PII sent to an external model", member)
        fire(paris, "low", "A long prompt")  # not a severity of this channel
    with at(TUESDAY_0900_PARIS + dt.timedelta(hours=3)):
        high = fire(paris, "high", "AWS key in a prompt")
        handled = fire(paris, "high", "Test key from the docs")
        acknowledge_alert(handled.id, member)
        run_worker()
    assert slack.messages("C1") == []  # a digest channel gets no alert on its own
    with at(TUESDAY_0900_PARIS + dt.timedelta(days=1, seconds=-1)):
        run_worker()
    assert slack.messages("C1") == []
    with at(TUESDAY_0900_PARIS + dt.timedelta(days=1, seconds=30)):
        run_worker()
        run_worker()
    [digest] = slack.messages("C1")
    assert digest["text"] == "Daily alert digest — #security-incidents: 3 alerts, 2 still open"
    shown = text_of(digest)
    assert "Dec 1, 2026 09:00 CET – Dec 2, 2026 09:00 CET" in shown
    assert "*3 alerts* · 🔴 1 critical · 🟠 2 high\\nStatus: 1 acknowledged · 2 open" in shown
    alerts = [b for b in digest["blocks"] if b.get("block_id", "").startswith("digest-alert-")]
    assert [b["block_id"] for b in alerts] == [f"digest-alert-{critical.id}", f"digest-alert-{high.id}"]
    assert "Customer PII sent to an external model" in alerts[0]["text"]["text"] and "Alice Smith" in \
        alerts[0]["text"]["text"]
    button = alerts[1]["accessory"]
    assert (button["text"]["text"], button["action_id"]) == ("Acknowledge", ACKNOWLEDGE_ALERT)

    signed.action(ACKNOWLEDGE_ALERT, button["value"], user_id="U0001", channel_id="C1",
                  response_url=slack.response_url("digest"))
    with at(TUESDAY_0900_PARIS + dt.timedelta(days=1, minutes=1)):
        run_worker()
    assert fresh(high).status == "acknowledged"
    assert len(digests()) == 1
    [digest] = slack.messages("C1")  # updated in place: the click shows
    assert "*3 alerts* · 🔴 1 critical · 🟠 2 high\\nStatus: 2 acknowledged · 1 open" in text_of(digest)
    assert [b["block_id"] for b in digest["blocks"] if b.get("block_id", "").startswith("digest-alert-")] == [
        f"digest-alert-{critical.id}"]


def test_two_workers_post_a_period_digest_once(app, paris, member, channels, slack, run_worker):
    from jobs.outbox import dispatch_due

    with at(TUESDAY_0900_PARIS):
        db.session.add(AlertChannelRoute(workspace_id=channels.id, channel_id="C1", channel_name="security-incidents",
                                         severities="critical", delivery="daily", digest_time="09:00",
                                         last_digest_at=TUESDAY_0900_PARIS))
        db.session.commit()
        fire(paris, "critical", "Customer PII sent to an external model")

    def two_workers_at(moment):
        barrier = threading.Barrier(2)

        def dispatcher_round():
            with app.app_context():
                barrier.wait()
                dispatch_due()
                db.session.remove()

        with at(moment):
            rounds = [threading.Thread(target=dispatcher_round) for _ in range(2)]
            [t.start() for t in rounds]
            [t.join() for t in rounds]
            run_worker()
            run_worker()

    for day in (1, 2):
        two_workers_at(TUESDAY_0900_PARIS + dt.timedelta(days=day, seconds=5))
        two_workers_at(TUESDAY_0900_PARIS + dt.timedelta(days=day, minutes=30))
    wednesday, thursday = slack.messages("C1")
    assert wednesday["text"] == "Daily alert digest — #security-incidents: 1 alert, 1 still open"
    assert thursday["text"] == "Daily alert digest — #security-incidents: no alerts"
    assert "No critical alerts fired in this period." in text_of(thursday)
    assert [m.key.rsplit(":", 2)[0] for m in digests()] == [f"digest:{m.route_id}" for m in digests()]
    assert len({m.key for m in digests()}) == 2


def test_a_weekly_digest_is_set_on_the_alert_channels_page_and_arrives_on_its_day(
        paris, admin, member, channels, client, login, slack, run_worker):
    with at(TUESDAY_0900_PARIS):
        route = AlertChannelRoute(workspace_id=channels.id, channel_id="C1", channel_name="security-incidents",
                                  severities="high,critical")
        db.session.add(route)
        db.session.commit()
        login(admin)
        page = client.get(f"/integrations/slack/alert-channels?edit={route.id}").get_data(as_text=True)
        answer = client.post(f"/integrations/slack/alert-channels/{route.id}", data={
            "csrf_token": csrf_token_from(page), "severities": ["high", "critical"], "delivery": "weekly",
            "digest_time": "17:30", "digest_weekday": "4"}, follow_redirects=True)
        shown = answer.get_data(as_text=True)
        assert "#security-incidents now receives high and critical alerts in a weekly digest on Friday at 17:30." \
            in shown
        assert "Weekly digest on Friday at 17:30" in shown
        assert (fresh(route).delivery, route.digest_time, route.digest_weekday) == ("weekly", "17:30", 4)
        fire(paris, "high", "AWS key in a prompt")
        run_worker()
    assert slack.messages("C1") == []
    thursday_1730 = dt.datetime(2026, 12, 3, 16, 30, tzinfo=UTC)
    with at(thursday_1730 + dt.timedelta(minutes=1)):
        run_worker()
    assert slack.messages("C1") == []
    with at(thursday_1730 + dt.timedelta(days=1, minutes=1)):
        run_worker()
    [digest] = slack.messages("C1")
    assert digest["text"] == "Weekly alert digest — #security-incidents: 1 alert, 1 still open"
    assert "Nov 27, 2026 17:30 CET – Dec 4, 2026 17:30 CET" in text_of(digest)


def test_a_bad_digest_setting_is_refused_with_what_would_work(paris, channels, api, client, login, admin):
    refused = api("post", "/alert-channels", json={"channel_id": "C1", "severities": ["high"], "delivery": "hourly"})
    assert refused.status_code == 400 and "delivery must be realtime, daily or weekly" in refused.get_data(as_text=True)
    refused = api("post", "/alert-channels", json={"channel_id": "C1", "severities": ["high"], "delivery": "daily",
                                                   "digest_time": "25:00"})
    assert refused.status_code == 400
    assert 'digest_time must be a local time as HH:MM (24-hour), such as \\"09:00\\"' in refused.get_data(as_text=True)
    created = api("post", "/alert-channels", json={"channel_id": "C1", "severities": ["high"]})
    assert created.json["delivery"] == "realtime"
    refused = api("put", f"/alert-channels/{created.json['id']}", json={"delivery": "weekly", "digest_weekday": 7})
    assert refused.status_code == 400 and "digest_weekday must be a whole number from 0 (Monday) to 6 (Sunday)" in \
        refused.get_data(as_text=True)
    changed = api("put", f"/alert-channels/{created.json['id']}", json={"delivery": "weekly", "digest_weekday": 6})
    assert (changed.json["delivery"], changed.json["digest_time"], changed.json["digest_weekday"],
            changed.json["severities"]) == ("weekly", "09:00", 6, ["high"])
    login(admin)
    page = client.get(f"/integrations/slack/alert-channels?edit={created.json['id']}").get_data(as_text=True)
    answer = client.post(f"/integrations/slack/alert-channels/{created.json['id']}", data={
        "csrf_token": csrf_token_from(page), "severities": ["high"], "delivery": "daily", "digest_time": "9h"})
    assert answer.status_code == 400
    assert "The digest time must be a local time as HH:MM (24-hour), such as 09:00" in answer.get_data(as_text=True)


def test_a_channel_switched_back_to_real_time_gets_each_alert_again(paris, channels, api, slack, run_worker):
    created = api("post", "/alert-channels", json={"channel_id": "C1", "severities": ["high"], "delivery": "daily"})
    fire(paris, "high", "AWS key in a prompt")
    run_worker()
    assert slack.messages("C1") == []
    api("put", f"/alert-channels/{created.json['id']}", json={"delivery": "realtime"})
    fire(paris, "high", "Another AWS key")
    run_worker()
    [card] = slack.messages("C1")
    assert "Another AWS key" in text_of(card)


def test_digest_times_follow_the_local_clock_across_a_daylight_saving_change():
    from app.services.digests import DigestSchedule

    daily = DigestSchedule("daily", "09:00", None, "America/New_York")
    # 2026-03-08: clocks go forward in New York; 09:00 is 14:00 UTC before and 13:00 UTC after.
    end = daily.latest_end(dt.datetime(2026, 3, 8, 13, 30, tzinfo=UTC))
    assert end == dt.datetime(2026, 3, 8, 13, 0, tzinfo=UTC)
    assert daily.start_of(end) == dt.datetime(2026, 3, 7, 14, 0, tzinfo=UTC)
    assert daily.latest_end(dt.datetime(2026, 3, 8, 12, 59, tzinfo=UTC)) == dt.datetime(2026, 3, 7, 14, 0, tzinfo=UTC)
    weekly = DigestSchedule("weekly", "17:30", 4, "Europe/Paris")  # Fridays
    friday = dt.datetime(2026, 12, 4, 16, 30, tzinfo=UTC)
    assert weekly.latest_end(friday + dt.timedelta(days=6)) == friday
    assert weekly.latest_end(friday - dt.timedelta(seconds=1)) == friday - dt.timedelta(days=7)
    assert weekly.end_of(weekly.start_of(friday)) == friday
