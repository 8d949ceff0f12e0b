"""The living budget card: one card per period in the budget channel, edited in place at most once a minute."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine

from app.slack.client.channels import store_channels

UTC = dt.timezone.utc
START = dt.datetime(2025, 1, 15, 12, tzinfo=UTC)


def spend(email: str, cost: str, event_id: str) -> dict:
    """One usage event a minute ago (the tests' clock)."""
    moment = (dt.datetime.now(UTC) - dt.timedelta(minutes=1)).isoformat()
    return {"id": event_id, "user_email": email, "provider": "openai", "model": "gpt-4o", "input_tokens": 10,
            "output_tokens": 10, "cost_usd": cost, "occurred_at": moment}


@pytest.fixture
def clock():
    """The tests' clock, from noon on 15 January 2025; clock.shift(seconds) moves it."""
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


@pytest.fixture
def budget_channel(slack, workspace, redis_conn):
    """#budget (C0BUDGET) in the workspace, in the channel list Toktra keeps."""
    slack.add_channel("C0BUDGET", "budget")
    store_channels(workspace.id, [{"id": "C0BUDGET", "name": "budget", "is_private": False}])
    return "C0BUDGET"


def card_text(message: dict) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def updates(slack, channel: str) -> list:
    return [c for c in slack.calls_to("chat.update") if c.params["channel"] == channel]


def test_choosing_the_channel_posts_the_card_which_is_then_edited_at_most_once_a_minute(
        api, clock, budget_channel, member, slack, run_worker):
    chosen = api("put", "/budget", json={"channel": "#budget"})
    assert chosen.status_code == 200, chosen.json
    assert chosen.json["channel"] == {"team_id": "T0001", "channel_id": "C0BUDGET", "channel_name": "budget"}
    run_worker()
    [card] = slack.channel_messages("C0BUDGET")
    assert "Budget Status" in card_text(card) and "$0 (0.0%)" in card_text(card)

    clock.shift(10)
    api("post", "/usage", json={"events": [spend(member.email, "1000", "e1")]})
    run_worker()
    clock.shift(20)
    api("post", "/usage", json={"events": [spend(member.email, "500", "e2")]})
    run_worker()
    assert updates(slack, "C0BUDGET") == []  # within the minute: the edit waits

    clock.shift(31)  # a minute after the post: one edit, with the latest figures
    run_worker()
    [edit] = updates(slack, "C0BUDGET")
    [card] = slack.channel_messages("C0BUDGET")
    assert edit.params["ts"] == card["ts"]
    assert "$1,500 (15.0%)" in card_text(card)
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_new_period_starts_a_new_card(api, clock, budget_channel, member, slack, run_worker):
    api("put", "/budget", json={"channel": "C0BUDGET"})
    api("post", "/usage", json={"events": [spend(member.email, "2500", "jan")]})
    run_worker()
    [january] = slack.channel_messages("C0BUDGET")
    assert "$2,500 (25.0%)" in card_text(january) and "January 2025" in card_text(january)

    clock.move_to(dt.datetime(2025, 2, 1, 9, tzinfo=UTC))
    api("post", "/usage", json={"events": [spend(member.email, "300", "feb")]})
    run_worker()
    january, february = slack.channel_messages("C0BUDGET")
    assert "$300 (3.0%)" in card_text(february) and "February 2025" in card_text(february)
    assert "$2,500 (25.0%)" in card_text(january)  # last month's card keeps last month's figures
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_the_card_offers_more_budget_once_spend_passes_the_first_threshold(
        api, clock, budget_channel, member, slack, run_worker, org):
    api("put", "/budget", json={"channel": "#budget"})
    run_worker()
    assert "request_more_budget" not in card_text(slack.channel_messages("C0BUDGET")[0])
    api("post", "/usage", json={"events": [spend(member.email, "8100", "big")]})  # 81% > 80%
    clock.shift(61)
    run_worker()
    [card] = slack.channel_messages("C0BUDGET")
    [actions] = [b for b in card["blocks"] if b["type"] == "actions"]
    assert actions["elements"][0]["action_id"] == "request_more_budget"
    assert actions["elements"][0]["value"] == str(org.id)
    assert "🔴" not in card_text(card) and "🟠" in card_text(card)


def test_stopping_the_card_and_an_unknown_channel(api, clock, budget_channel, member):
    missing = api("put", "/budget", json={"channel": "#nope"})
    assert missing.status_code == 404
    assert "no channel named #nope that Toktra can post to in Acme" in missing.json["error"]["message"]
    assert api("put", "/budget", json={"channel": "budget"}).json["channel"]["channel_id"] == "C0BUDGET"
    kept = api("put", "/budget", json={"monthly_limit_usd": "20000"})  # channel left out: kept
    assert kept.json["channel"]["channel_id"] == "C0BUDGET"
    assert api("put", "/budget", json={"channel": None}).json["channel"] is None
    assert api("get", "/budget").json["channel"] is None
    assert api("put", "/budget", json={"channel": ""}).status_code == 400


def test_each_threshold_crossing_is_told_once_in_the_cards_thread(api, clock, budget_channel, member, slack,
                                                                  run_worker):
    api("put", "/budget", json={"channel": "#budget", "alert_thresholds": [50, 80]})
    run_worker()
    [card] = slack.channel_messages("C0BUDGET")
    api("post", "/usage", json={"events": [spend(member.email, "8500", "e1")]})  # 85%: 50% and 80% at once
    run_worker()
    api("post", "/usage", json={"events": [spend(member.email, "100", "e2")]})  # 86%: nothing new crossed
    run_worker()
    clock.shift(61)
    api("post", "/usage", json={"events": [spend(member.email, "1500", "e3")]})  # 101%
    run_worker()
    replies = [m["text"] for m in slack.thread("C0BUDGET", card["ts"])]
    assert len(replies) == 3
    assert replies[0].startswith("🟢 Crossed 50% of the monthly budget: $5,000 of $10,000, at <!date^")
    assert replies[1].startswith("🟠 Crossed 80% of the monthly budget: $8,000 of $10,000, at <!date^")
    assert replies[2].startswith("🔴 Crossed the monthly budget ($10,000) at <!date^")
    [card] = slack.channel_messages("C0BUDGET")  # the replies stay in the thread; the card shows the latest figures
    assert "$10,100 (101.0%)" in card_text(card)


def test_an_admin_chooses_the_budget_channel_on_the_alert_channels_page(
        client, login, admin, clock, budget_channel, slack, run_worker):
    from tests.conftest import csrf_token_from

    page = "/integrations/slack/alert-channels"
    login(admin)
    html = client.get(page).get_data(as_text=True)
    assert "No budget channel yet." in html and 'id="budget_channel_id"' in html
    token = csrf_token_from(html)
    refused = client.post("/integrations/slack/budget-channel", data={"channel_name": "#nope", "csrf_token": token})
    assert refused.status_code == 400
    assert "No channel named #nope that Toktra can post to in Acme" in refused.get_data(as_text=True)
    chosen = client.post("/integrations/slack/budget-channel", data={"channel_id": "C0BUDGET", "csrf_token": token},
                         follow_redirects=True)
    assert "The budget card is posted in #budget and kept up to date there." in chosen.get_data(as_text=True)
    assert "Posting to <strong>#budget</strong>" in chosen.get_data(as_text=True)
    run_worker()
    [card] = slack.channel_messages("C0BUDGET")  # posted on choosing, before any spend this period
    assert "Budget Status" in card_text(card)
    stopped = client.post("/integrations/slack/budget-channel/remove", data={"csrf_token": token},
                          follow_redirects=True)
    assert "Toktra no longer posts the budget card." in stopped.get_data(as_text=True)
    assert "No budget channel yet." in stopped.get_data(as_text=True)


def test_the_forecast_passing_the_budget_is_told_in_the_thread(api, budget_channel, member, slack, run_worker):
    with time_machine.travel(dt.datetime(2025, 1, 11, 12, tzinfo=UTC), tick=True):
        api("put", "/budget", json={"monthly_limit_usd": "1000000", "channel": "#budget"})
        events = [dict(spend(member.email, "500", f"d{day}"), occurred_at=f"2025-01-{day:02d}T10:00:00Z")
                  for day in range(3, 11)]
        api("post", "/usage", json={"events": events})
        api("put", "/budget", json={"monthly_limit_usd": "11000"})  # $4,000 spent, $500 a day: past it on 27 Jan
        run_worker()
        [card] = slack.channel_messages("C0BUDGET")
        [reply] = slack.thread("C0BUDGET", card["ts"])
        # $7,000 to go at $500 a day (the median of the last 7 days): 14 days after noon on the 11th.
        assert reply["text"] == "📈 Projected to exceed the budget on 25 Jan (on pace for $14,250 (130%) by 31 Jan)."
        [alert] = api("get", "/alerts").json["alerts"]
        assert alert["title"] == "Globex is projected to exceed the monthly budget on 25 Jan"


def test_a_card_toktra_cannot_post_is_shown_to_the_admin_and_retried_when_the_channel_is_chosen_again(
        api, client, login, admin, clock, workspace, slack, member, run_worker):
    from tests.conftest import csrf_token_from

    finance = slack.add_channel("C0FINANCE", "finance", bot_member=False)
    store_channels(workspace.id, [{"id": "C0FINANCE", "name": "finance", "is_private": False}])
    api("put", "/budget", json={"channel": "#finance"})
    run_worker()
    api("post", "/usage", json={"events": [spend(member.email, "100", "e1")]})  # spend does not retry a failed card
    run_worker()
    assert len(slack.calls_to("chat.postMessage")) == 1 and slack.channel_messages("C0FINANCE") == []
    login(admin)
    html = client.get("/integrations/slack/alert-channels").get_data(as_text=True)
    assert "Toktra is not in this channel: invite @Toktra to it." in html
    finance.bot_member = True  # someone invites @Toktra
    client.post("/integrations/slack/budget-channel",
                data={"channel_id": "C0FINANCE", "csrf_token": csrf_token_from(html)})
    run_worker()
    [card] = slack.channel_messages("C0FINANCE")
    assert "$100 (1.0%)" in card_text(card)
