"""An alert's life on every surface: Resolve/Reopen, Snooze (announced again once), reminders, /toktra-alerts
status, the API and the dashboard; through the emulator and a real worker, time moved by a controlled clock."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import Alert, AlertChannelRoute, OutboxMessage
from app.models.types import utcnow
from app.services.alert_lifecycle import snooze_end
from app.services.alerts import acknowledge_alert, fire_alert
from app.slack.actions import ACKNOWLEDGE_ALERT, REOPEN_ALERT, RESOLVE_ALERT, SNOOZE_ALERT
from tests.conftest import csrf_token_from, fresh


@pytest.fixture
def routes(slack, workspace, member, admin):
    """#security (C1, reminders every 30 minutes) and #all-alerts (C2, no reminders); Alice is U0001, Ada U0002."""
    made = {}
    for channel_id, name, minutes in (("C1", "security", 30), ("C2", "all-alerts", None)):
        slack.add_channel(channel_id, name)
        made[channel_id] = AlertChannelRoute(workspace_id=workspace.id, channel_id=channel_id, channel_name=name,
                                             severities="low,medium,high,critical", remind_after_minutes=minutes)
        db.session.add(made[channel_id])
    db.session.commit()
    slack.add_user("U0001", member.email, "alice")
    slack.add_user("U0002", admin.email, "ada")
    return made


@pytest.fixture
def fired(org, routes, run_worker):
    """A high alert posted to C1 and C2."""
    alert = fire_alert(org, "high", "Secrets in prompts", "API key in a prompt", dedup_key="key-1").alert
    run_worker()
    return alert


def card(slack, channel):
    [shown] = [m for m in slack.channel_messages(channel) if not m.get("thread_ts")]
    return shown


def thread_texts(slack, channel):
    return [m["text"] for m in slack.thread(channel, card(slack, channel)["ts"])]


def element(message, action_id):
    return next(e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == action_id)


def in_a_while(minutes):
    return time_machine.travel(utcnow() + dt.timedelta(minutes=minutes), tick=True)


# --- Resolve / Reopen ---------------------------------------------------------------------------

def test_resolve_on_a_channel_card_updates_every_copy_and_tells_each_thread_once(signed, slack, fired, run_worker):
    shown = card(slack, "C1")
    signed.action(RESOLVE_ALERT, element(shown, RESOLVE_ALERT)["value"], user_id="U0001", channel_id="C1",
                  message_ts=shown["ts"], response_url=slack.response_url("resolve"))
    run_worker()
    for channel in ("C1", "C2"):
        body = json.dumps(card(slack, channel)["blocks"], ensure_ascii=False)
        assert "☑️ Resolved by Alice Smith at <!date^" in body
        assert REOPEN_ALERT in body and RESOLVE_ALERT not in body and ACKNOWLEDGE_ALERT not in body
        assert SNOOZE_ALERT not in body
        assert thread_texts(slack, channel) == ["☑️ Resolved by Alice Smith"]
    assert fresh(fired).status == "resolved"

    signed.action(RESOLVE_ALERT, element(shown, RESOLVE_ALERT)["value"], user_id="U0002",
                  response_url=slack.response_url("late"))
    run_worker()
    [told] = slack.responses("late")
    assert told["text"].startswith("This alert was already resolved by Alice Smith at ")
    assert thread_texts(slack, "C1") == ["☑️ Resolved by Alice Smith"]


def test_reopen_brings_the_card_back_and_a_resolved_dedup_key_fires_a_new_alert(signed, slack, fired, run_worker,
                                                                                org, api):
    signed.action(RESOLVE_ALERT, json.dumps({"alert": fired.id}), user_id="U0001", response_url=slack.response_url("r"))
    run_worker()
    signed.action(REOPEN_ALERT, element(card(slack, "C2"), REOPEN_ALERT)["value"], user_id="U0002",
                  response_url=slack.response_url("o"))
    run_worker()
    body = json.dumps(card(slack, "C2")["blocks"], ensure_ascii=False)
    assert "Status: Open" in body and ACKNOWLEDGE_ALERT in body and RESOLVE_ALERT in body
    assert thread_texts(slack, "C2") == ["☑️ Resolved by Alice Smith", "🔁 Reopened by Ada Admin"]

    # Resolved again, the same dedup key fires a new alert; the old one can't be reopened beside it.
    signed.action(RESOLVE_ALERT, json.dumps({"alert": fired.id}), user_id="U0001", response_url=slack.response_url("r2"))
    run_worker()
    again = api("post", "/alerts", json={"severity": "high", "policy": "Secrets in prompts", "title": "Again",
                                         "dedup_key": "key-1"})
    assert again.status_code == 201 and again.json["alert"]["id"] != fired.id
    signed.action(REOPEN_ALERT, json.dumps({"alert": fired.id}), user_id="U0002", response_url=slack.response_url("o2"))
    run_worker()
    [refused] = slack.responses("o2")
    assert refused["text"] == (f"This alert can't be reopened: a newer alert for the same thing is open "
                               f"(#{again.json['alert']['id']}); act on that one instead.")
    assert fresh(fired).status == "resolved"


def test_resolve_on_a_toktra_alerts_list_replaces_it_and_the_list_hides_resolved_alerts(signed, slack, fired,
                                                                                         run_worker):
    signed.command("/toktra-alerts", "", user_id="U0002", response_url=slack.response_url("list"))
    run_worker()
    [listing] = slack.responses("list")
    signed.action(RESOLVE_ALERT, element(listing, RESOLVE_ALERT)["value"], user_id="U0002", is_ephemeral=True,
                  response_url=slack.response_url("list"))
    run_worker()
    replaced = slack.responses("list")[-1]
    assert replaced["replace_original"] is True
    assert "API key in a prompt" not in json.dumps(replaced["blocks"])  # by default the list leaves resolved out
    signed.command("/toktra-alerts", "status:resolved", user_id="U0002", response_url=slack.response_url("resolved"))
    bad = signed.command("/toktra-alerts", "status:done", user_id="U0002", response_url=slack.response_url("bad"))
    run_worker()
    [resolved] = slack.responses("resolved")
    assert "☑️ Resolved by Ada Admin" in json.dumps(resolved["blocks"], ensure_ascii=False)
    assert REOPEN_ALERT in json.dumps(resolved["blocks"])
    assert "`status:done`: status must be one of open, acknowledged, resolved or all." in bad.get_data(as_text=True)


def test_the_system_that_raised_an_alert_resolves_it_through_the_api(api, slack, fired, run_worker, org):
    answer = api("post", f"/alerts/{fired.id}/resolve")
    assert answer.status_code == 200 and answer.json["resolved_now"] is True
    assert answer.json["alert"]["status"] == "resolved" and answer.json["alert"]["resolved_by"] is None
    again = api("post", f"/alerts/{fired.id}/resolve")
    assert again.status_code == 200 and again.json["resolved_now"] is False
    assert api("post", "/alerts/999999/resolve").status_code == 404
    run_worker()
    for channel in ("C1", "C2"):
        assert "☑️ Resolved by Toktra" in json.dumps(card(slack, channel)["blocks"], ensure_ascii=False)
        [told] = thread_texts(slack, channel)
        assert told.startswith("☑️ Resolved by Toktra — through the API (key “")
    assert [a["id"] for a in api("get", "/alerts?status=resolved").json["alerts"]] == [fired.id]


def test_the_dashboard_alerts_page_acts_with_csrf(client, login, member, slack, fired, run_worker):
    login(member)
    page = client.get("/alerts").get_data(as_text=True)
    token = csrf_token_from(page)
    assert client.post(f"/alerts/{fired.id}/resolve", data={}).status_code == 400  # no CSRF token
    assert client.post(f"/alerts/{fired.id}/acknowledge", data={"csrf_token": token}).status_code == 302
    assert client.post(f"/alerts/{fired.id}/snooze", data={"csrf_token": token, "snooze": "4h"}).status_code == 302
    assert client.post(f"/alerts/{fired.id}/snooze", data={"csrf_token": token, "snooze": "1y"}).status_code == 302
    assert "Choose how long to snooze" in client.get("/alerts").get_data(as_text=True)
    assert client.post(f"/alerts/{fired.id}/resolve", data={"csrf_token": token}).status_code == 302
    page = client.get("/alerts?status=resolved").get_data(as_text=True)
    assert "Resolved by Alice Smith" in page and "Reopen" in page
    assert client.post(f"/alerts/{fired.id}/reopen", data={"csrf_token": token}).status_code == 302
    assert fresh(fired).status == "open"
    run_worker()
    assert [t.split(" until ")[0] for t in thread_texts(slack, "C1")] == [
        "✅ Acknowledged by Alice Smith", "💤 Snoozed by Alice Smith", "☑️ Resolved by Alice Smith",
        "🔁 Reopened by Alice Smith"]


# --- Snooze ---------------------------------------------------------------------------------------

def test_snooze_ends_with_one_announcement_in_each_thread_and_channel(signed, slack, fired, run_worker):
    menu = element(card(slack, "C1"), SNOOZE_ALERT)
    [one_hour] = [o for o in menu["options"] if o["text"]["text"] == "Snooze 1 hour"]
    signed.choose(SNOOZE_ALERT, one_hour, user_id="U0001", channel_id="C1", response_url=slack.response_url("s"))
    run_worker()
    until = int(fresh(fired).snoozed_until.timestamp())
    for channel in ("C1", "C2"):
        assert f"💤 Snoozed until <!date^{until}^" in json.dumps(card(slack, channel)["blocks"], ensure_ascii=False)
        [told] = thread_texts(slack, channel)
        assert told.startswith(f"💤 Snoozed by Alice Smith until <!date^{until}^")
    with in_a_while(59):
        run_worker()
    assert all(len(thread_texts(slack, c)) == 1 for c in ("C1", "C2"))  # not yet
    with in_a_while(61):
        run_worker()
        run_worker()
    for channel in ("C1", "C2"):
        announced = [m for m in slack.channel_messages(channel) if m.get("reply_broadcast")]
        assert [m["text"].split(" (fired")[0] for m in announced] == [
            "⏰ Snooze over: 🟠 *API key in a prompt* is still open"]
        assert len(thread_texts(slack, channel)) == 2
        assert "Snoozed until" not in json.dumps(card(slack, channel)["blocks"], ensure_ascii=False)
    updates = [c.params["channel"] for c in slack.calls_to("chat.update")]
    assert sorted(updates) == ["C1", "C1", "C2", "C2"]  # each card: once snoozed, once the snooze is over


def test_a_snooze_resolved_meanwhile_is_not_announced(signed, slack, fired, run_worker, member):
    value = element(card(slack, "C1"), SNOOZE_ALERT)["options"][0]
    signed.choose(SNOOZE_ALERT, value, user_id="U0001", response_url=slack.response_url("s"))
    run_worker()
    signed.action(RESOLVE_ALERT, json.dumps({"alert": fired.id}), user_id="U0001", response_url=slack.response_url("r"))
    run_worker()
    with in_a_while(120):
        run_worker()
    assert not [m for c in ("C1", "C2") for m in slack.channel_messages(c) if m.get("reply_broadcast")]
    skipped = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "alert_unsnooze")).all()
    assert [(m.state, m.last_error) for m in skipped] == [
        ("skipped", "Not needed: the alert was resolved while snoozed.")] * 2


def test_snoozing_again_announces_only_the_last_snooze(signed, slack, fired, run_worker, member):
    from app.services.alert_lifecycle import snooze_alert

    snooze_alert(fired.id, member, "1h")
    snooze_alert(fired.id, member, "4h")
    run_worker()
    with in_a_while(70):
        run_worker()
    assert not [m for m in slack.channel_messages("C2") if m.get("reply_broadcast")]
    with in_a_while(250):
        run_worker()
    assert len([m for m in slack.channel_messages("C2") if m.get("reply_broadcast")]) == 1


def test_until_tomorrow_is_nine_in_the_morning_in_the_organizations_timezone():
    late_evening = dt.datetime(2026, 3, 28, 22, 30, tzinfo=dt.timezone.utc)  # 23:30 in Paris, before DST starts
    assert snooze_end("tomorrow", late_evening, "Europe/Paris") == dt.datetime(2026, 3, 29, 7, 0, tzinfo=dt.timezone.utc)
    assert snooze_end("1d", late_evening, "UTC") == late_evening + dt.timedelta(days=1)


# --- Reminders ------------------------------------------------------------------------------------

def reminders(slack, channel):
    return [m for m in slack.channel_messages(channel) if m.get("reply_broadcast") and "Reminder" in m["text"]]


def test_reminders_come_once_per_interval_where_asked_and_stop_on_acknowledge(slack, fired, run_worker, member):
    from app.services.delivery_health import live_state_counts

    with in_a_while(20):
        assert live_state_counts()[1] == 0  # a reminder due later is not a late message
    with in_a_while(29):
        run_worker()
    assert reminders(slack, "C1") == []
    with in_a_while(31):
        run_worker()
        run_worker()
    [first] = reminders(slack, "C1")
    assert first["text"].startswith("⏰ Reminder: 🟠 *API key in a prompt* is still not acknowledged (fired <!date^")
    assert first["thread_ts"] == card(slack, "C1")["ts"]
    assert reminders(slack, "C2") == []  # that channel asked for none
    with in_a_while(61):
        run_worker()
    assert len(reminders(slack, "C1")) == 2
    with in_a_while(62):
        acknowledge_alert(fired.id, member)
        run_worker()
    with in_a_while(200):
        run_worker()
    assert len(reminders(slack, "C1")) == 2
    assert thread_texts(slack, "C1")[-1] == "✅ Acknowledged by Alice Smith"
    states = db.session.scalars(sa.select(OutboxMessage.state).where(OutboxMessage.kind == "alert_reminder")
                                .order_by(OutboxMessage.id)).all()
    assert states == ["sent", "sent", "skipped"]


def test_reminders_and_a_snooze_end_join_the_timeline_on_the_api_and_the_dashboard(
        api, client, login, slack, fired, run_worker, member):
    from app.services.alert_lifecycle import snooze_alert

    with in_a_while(31):
        run_worker()
        run_worker()
    with in_a_while(32):
        snooze_alert(fired.id, member, "1h")
        run_worker()
    with in_a_while(61):
        run_worker()  # the second reminder is skipped: snoozed
    with in_a_while(93):
        run_worker()
        run_worker()
    assert len(reminders(slack, "C1")) == 1
    for channel in ("C1", "C2"):  # the snooze's end was announced in both channels; the timeline says it once
        assert len([m for m in slack.channel_messages(channel) if "Snooze over" in m["text"]]) == 1
    answer = api("get", f"/alerts/{fired.id}/events")
    assert answer.status_code == 200, answer.json
    events = answer.json["events"]
    assert [(e["event"], e["summary"].split(" until ")[0], e["actor"]) for e in events] == [
        ("reminder", "Reminder sent in #security", None),
        ("snoozed", "Snoozed by Alice Smith", member.email),
        ("unsnoozed", "Snooze ended: announced again", None),
    ]
    assert events[1]["summary"].startswith("Snoozed by Alice Smith until ") and "<!date" not in events[1]["summary"]
    # Each was told once in Slack already: no second reply in any thread.
    assert thread_texts(slack, "C1")[0].startswith("⏰ Reminder:") and len(thread_texts(slack, "C1")) == 3
    assert len(thread_texts(slack, "C2")) == 2  # "Snoozed by…" and "Snooze over…"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.kind == "alert_reply")) == 2  # the snooze's, in C1 and C2
    login(member)
    page = client.get("/alerts").get_data(as_text=True)
    assert "Timeline (3)" in page
    assert "Reminder sent in #security" in page and "Snooze ended: announced again" in page
    assert api("get", "/alerts/999999/events").status_code == 404


def test_a_snooze_stops_reminders_until_it_ends(slack, fired, run_worker, member):
    from app.services.alert_lifecycle import snooze_alert

    snooze_alert(fired.id, member, "1h")
    run_worker()
    with in_a_while(45):
        run_worker()
    assert reminders(slack, "C1") == []
    with in_a_while(65):
        run_worker()
        run_worker()
    with in_a_while(95):
        run_worker()
    assert len(reminders(slack, "C1")) == 1  # the 90-minute one, after the snooze's announcement


def test_a_severity_can_have_its_own_reminder_interval(slack, org, workspace, run_worker, member):
    slack.add_channel("C3", "oncall")
    db.session.add(AlertChannelRoute(workspace_id=workspace.id, channel_id="C3", channel_name="oncall",
                                     severities="high,critical", remind_after_minutes=60,
                                     remind_after_by_severity={"critical": 15}))
    db.session.commit()
    fire_alert(org, "critical", "Model exfiltration", "Weights leaving the building", dedup_key="crit")
    fire_alert(org, "high", "Secrets in prompts", "API key in a prompt", dedup_key="high")
    run_worker()

    def reminded(title):
        return [m for m in reminders(slack, "C3") if f"*{title}*" in m["text"]]

    seen = []
    for minutes in (14, 16, 31, 46, 59, 61):
        with in_a_while(minutes):
            run_worker()
            run_worker()
        seen.append((minutes, len(reminded("Weights leaving the building")), len(reminded("API key in a prompt"))))
    # critical every 15 minutes (15, 30, 45, 60), high at the route's 60
    assert seen == [(14, 0, 0), (16, 1, 0), (31, 2, 0), (46, 3, 0), (59, 3, 0), (61, 4, 1)]


def test_a_longer_interval_set_meanwhile_carries_on_from_the_reminder_already_due(slack, org, workspace, run_worker):
    from app.services.alert_routes import update_route

    slack.add_channel("C3", "oncall")
    route = AlertChannelRoute(workspace_id=workspace.id, channel_id="C3", channel_name="oncall",
                              severities="critical", remind_after_by_severity={"critical": 15})
    db.session.add(route)
    db.session.commit()
    fire_alert(org, "critical", "Model exfiltration", "Weights leaving the building", dedup_key="crit")
    run_worker()
    with in_a_while(16):
        run_worker()
        update_route(route, None, remind_after_by_severity={"critical": 60})
    counts = []
    for minutes in (31, 59, 61):  # the 30-minute reminder was written already; then every 60 minutes
        with in_a_while(minutes):
            run_worker()
        counts.append(len(reminders(slack, "C3")))
    assert counts == [2, 2, 3]


def test_reminders_per_severity_are_checked_in_the_api(api, routes):
    route = routes["C2"]

    def put(by_severity, severities=("high", "critical")):
        return api("put", f"/alert-channels/{route.id}",
                   json={"severities": list(severities), "remind_after_by_severity": by_severity})

    unknown = put({"urgent": 5})
    assert unknown.status_code == 400 and "remind_after_by_severity: unknown severity urgent; choose from low, " \
        "medium, high, critical" in unknown.json["error"]["message"]
    not_received = put({"low": 5})
    assert not_received.status_code == 400 and "remind_after_by_severity names low, which this channel does not " \
        "receive; give intervals only for its severities (high, critical)" in not_received.json["error"]["message"]
    for bad in (0, 10081, "15", 1.5, True):
        answer = put({"critical": bad})
        assert answer.status_code == 400 and "remind_after_by_severity.critical must be a whole number of minutes " \
            "from 1 to 10080 (7 days), or null for no reminders of critical alerts" in answer.json["error"]["message"]
    assert put([15]).status_code == 400
    [listed] = [c for c in api("get", "/alert-channels").json["alert_channels"] if c["id"] == route.id]
    assert listed["remind_after_by_severity"] == {}

    ok = put({"critical": 15, "high": None})
    assert ok.status_code == 200 and ok.json["remind_after_by_severity"] == {"high": None, "critical": 15}
    kept = api("put", f"/alert-channels/{route.id}", json={"remind_after_minutes": 45})
    assert kept.json["remind_after_by_severity"] == {"high": None, "critical": 15}
    dropped = api("put", f"/alert-channels/{route.id}", json={"severities": ["critical"]})
    assert dropped.json["remind_after_by_severity"] == {"critical": 15}  # high is no longer received
    cleared = put(None, severities=["critical"])
    assert cleared.json["remind_after_by_severity"] == {}


def test_reminder_minutes_are_checked_in_the_api(api, routes):
    route = routes["C2"]
    bad = api("put", f"/alert-channels/{route.id}", json={"severities": ["high"], "remind_after_minutes": 0})
    assert bad.status_code == 400 and "remind_after_minutes must be a whole number of minutes from 1 to 10080" \
        in bad.json["error"]["message"]
    ok = api("put", f"/alert-channels/{route.id}", json={"severities": ["high"], "remind_after_minutes": 15})
    assert ok.status_code == 200 and ok.json["remind_after_minutes"] == 15
    kept = api("put", f"/alert-channels/{route.id}", json={"severities": ["high", "critical"]})
    assert kept.json["remind_after_minutes"] == 15
    off = api("put", f"/alert-channels/{route.id}", json={"severities": ["high"], "remind_after_minutes": None})
    assert off.json["remind_after_minutes"] is None


def test_the_home_tab_shows_a_snooze_and_drops_an_alert_resolved_there(signed, slack, fired, run_worker, admin):
    from app.services.alert_lifecycle import snooze_alert

    signed.event({"type": "app_home_opened", "user": "U0002", "channel": "DU0002", "tab": "home",
                  "event_ts": "1700000000.000100"})
    snooze_alert(fired.id, admin, "4h")
    run_worker()
    home = slack.home_view("U0002")
    assert "💤 Snoozed until <!date^" in json.dumps(home["blocks"], ensure_ascii=False)
    signed.view_action(RESOLVE_ALERT, json.dumps({"alert": fired.id}), home, user_id="U0002")
    run_worker()
    assert "API key in a prompt" not in json.dumps(slack.home_view("U0002")["blocks"], ensure_ascii=False)
    assert thread_texts(slack, "C1")[-1] == "☑️ Resolved by Ada Admin"


def test_what_people_typed_cannot_mention_the_channel_in_a_broadcast(slack, org, routes, run_worker, member):
    from app.services.alert_lifecycle import snooze_alert

    alert = fire_alert(org, "high", "P", "Hey <!channel> & <https://evil.example|click>").alert
    acknowledge_alert(alert.id, member, "false_positive", "cc <!here>")
    run_worker()
    assert thread_texts(slack, "C2") == ["✅ Acknowledged by Alice Smith — False positive: “cc &lt;!here&gt;”"]
    from app.services.alert_lifecycle import reopen_alert, resolve_alert

    resolve_alert(alert.id, org.id, member)
    reopen_alert(alert.id, member)
    snooze_alert(alert.id, member, "1h")
    with in_a_while(61):
        run_worker()
    [announced] = [m for m in slack.channel_messages("C2") if m.get("reply_broadcast")]
    assert "Hey &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in announced["text"]
    assert "<!channel>" not in json.dumps(announced)


def test_acknowledging_a_resolved_alert_says_it_was_resolved(signed, slack, fired, run_worker):
    from app.slack.actions import ACKNOWLEDGE_WITH_REASON

    value = json.dumps({"alert": fired.id})
    signed.action(RESOLVE_ALERT, value, user_id="U0002", response_url=slack.response_url("r"))
    run_worker()
    signed.action(ACKNOWLEDGE_ALERT, value, user_id="U0001", response_url=slack.response_url("ack"))
    signed.action(ACKNOWLEDGE_WITH_REASON, value, user_id="U0001", response_url=slack.response_url("modal"))
    run_worker()
    for name in ("ack", "modal"):
        [told] = slack.responses(name)
        assert told["text"].startswith("This alert was already resolved by Ada Admin at <!date^")
    assert slack.modals() == []


def test_snooze_from_a_toktra_alerts_list_replaces_that_list(signed, slack, fired, run_worker):
    signed.command("/toktra-alerts", "severity:high", user_id="U0001", response_url=slack.response_url("list"))
    run_worker()
    [listing] = slack.responses("list")
    menu = element(listing, SNOOZE_ALERT)
    assert json.loads(menu["options"][3]["value"]) == {"alert": fired.id, "q": "severity:high", "page": 0,
                                                       "snooze": "tomorrow"}
    signed.choose(SNOOZE_ALERT, menu["options"][3], user_id="U0001", is_ephemeral=True,
                  response_url=slack.response_url("list"))
    run_worker()
    replaced = slack.responses("list")[-1]
    assert replaced["replace_original"] is True
    assert "💤 Snoozed until <!date^" in json.dumps(replaced["blocks"], ensure_ascii=False)
    assert thread_texts(slack, "C1")[0].startswith("💤 Snoozed by Alice Smith until <!date^")
