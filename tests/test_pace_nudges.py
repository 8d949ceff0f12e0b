"""Personal pace nudges: a DM once per period to someone spending far above their usual, with an opt-out."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine

from app.extensions import db
from app.models import User

UTC = dt.timezone.utc
# Noon on 15 January 2025: 14.5 of January's 31 days have passed.
NOW = dt.datetime(2025, 1, 15, 12, tzinfo=UTC)


def event(email: str, cost: str, event_id: str, at: dt.datetime | None = None) -> dict:
    moment = at or dt.datetime.now(UTC) - dt.timedelta(minutes=1)
    return {"id": event_id, "user_email": email, "provider": "openai", "model": "gpt-4o", "input_tokens": 10,
            "output_tokens": 10, "cost_usd": cost, "occurred_at": moment.isoformat()}


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def history(api, clock, member):
    """Alice spent $40, $50 and $60 in October to December 2024: her usual month is $50."""
    events = [event(member.email, cost, f"h{month}", dt.datetime(2024, month, 10, tzinfo=UTC))
              for month, cost in ((10, "40"), (11, "50"), (12, "60"))]
    assert api("post", "/usage", json={"events": events}).json["accepted"] == 3
    return member


@pytest.fixture
def alice_in_slack(slack, workspace, member):
    slack.add_user("U0ALICE", member.email, "alice")
    return "U0ALICE"


def dm_of(slack, user_id):
    channels = {c.response["channel"]["id"] for c in slack.calls_to("conversations.open")
                if c.params.get("users") == user_id}
    return [m for channel in channels for m in slack.messages(channel)]


def text_of(message: dict) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def test_a_person_far_above_their_usual_pace_is_nudged_once_per_period(
        api, history, alice_in_slack, slack, run_worker, clock):
    # $20 by the 15th is on pace for $42.76: below her usual $50, no nudge.
    api("post", "/usage", json={"events": [event(history.email, "20", "j1")]})
    run_worker()
    assert dm_of(slack, alice_in_slack) == []
    # $80 is on pace for $171.03: 1.5x her usual and $20 more.
    api("post", "/usage", json={"events": [event(history.email, "60", "j2")]})
    run_worker()
    [nudge] = dm_of(slack, alice_in_slack)
    text = text_of(nudge)
    assert "$80.00" in text and "$171.03" in text and "$50.00" in text and "January 2025" in text
    assert "/toktra-usage" in text and "http://toktra.test" in text
    assert "at least 1.5× your usual month and $20 more" in text
    # More spend this month: no second nudge.
    clock.shift(3600)
    api("post", "/usage", json={"events": [event(history.email, "100", "j3")]})
    run_worker()
    assert len(dm_of(slack, alice_in_slack)) == 1
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_nudged_again_next_period_but_not_without_history(api, history, alice_in_slack, make_user, slack,
                                                          run_worker, clock):
    newcomer = make_user("bob@globex.example", "Bob")
    slack.add_user("U0BOB", newcomer.email, "bob")
    api("post", "/usage", json={"events": [event(history.email, "80", "j1"), event(newcomer.email, "500", "b1")]})
    run_worker()
    assert len(dm_of(slack, alice_in_slack)) == 1
    assert dm_of(slack, "U0BOB") == []  # no previous month to compare with, and no allowance
    clock.move_to(dt.datetime(2025, 2, 20, 12, tzinfo=UTC))
    api("post", "/usage", json={"events": [event(history.email, "200", "f1")]})
    run_worker()
    january, february = dm_of(slack, alice_in_slack)
    assert "February 2025" in text_of(february)


def test_an_allowance_set_by_an_admin_is_the_measure(api, history, alice_in_slack, slack, run_worker):
    history.monthly_allowance_usd = 150
    db.session.commit()
    api("post", "/usage", json={"events": [event(history.email, "80", "j1")]})  # on pace for $171.03 > $150
    run_worker()
    [nudge] = dm_of(slack, alice_in_slack)
    assert "your monthly allowance of *$150.00*" in text_of(nudge)


def test_stop_these_nudges_turns_them_off_and_says_so_in_the_dm(
        api, history, alice_in_slack, slack, signed, run_worker, clock):
    api("post", "/usage", json={"events": [event(history.email, "80", "j1")]})
    run_worker()
    [nudge] = dm_of(slack, alice_in_slack)
    [actions] = [b for b in nudge["blocks"] if b["type"] == "actions"]
    button = actions["elements"][0]
    assert (button["action_id"], button["text"]["text"]) == ("nudges_off", "Stop these nudges")
    clicked = signed.action("nudges_off", button["value"], user_id=alice_in_slack, channel_id=nudge["channel"],
                            message_ts=nudge["ts"])
    assert clicked.status_code == 200
    run_worker()
    [nudge] = dm_of(slack, alice_in_slack)
    assert "You turned these nudges off" in text_of(nudge)
    assert not [b for b in nudge["blocks"] if b["type"] == "actions"]
    assert db.session.get(User, history.id).pace_nudges is False
    # Next month, far above again: no nudge.
    clock.move_to(dt.datetime(2025, 2, 20, 12, tzinfo=UTC))
    api("post", "/usage", json={"events": [event(history.email, "500", "f1")]})
    run_worker()
    assert len(dm_of(slack, alice_in_slack)) == 1


def test_admins_can_turn_nudges_off_for_the_organization(api, history, alice_in_slack, slack, run_worker):
    answer = api("put", "/budget", json={"pace_nudges_enabled": False})
    assert answer.status_code == 200 and answer.json["pace_nudges_enabled"] is False
    api("post", "/usage", json={"events": [event(history.email, "80", "j1")]})
    run_worker()
    assert dm_of(slack, alice_in_slack) == []
    assert api("put", "/budget", json={"pace_nudges_enabled": "no"}).status_code == 400
    assert api("put", "/budget", json={"pace_nudges_enabled": True}).json["pace_nudges_enabled"] is True
    api("post", "/usage", json={"events": [event(history.email, "5", "j2")]})
    run_worker()
    assert len(dm_of(slack, alice_in_slack)) == 1


def test_the_settings_page_switches_nudges_and_sets_allowances(client, login, admin, member, org):
    from tests.conftest import csrf_token_from

    login(admin)
    html = client.get("/settings").get_data(as_text=True)
    assert "at least 1.5× their usual month and $20 more" in html
    token = csrf_token_from(html)
    client.post("/settings/pace-nudges", data={"csrf_token": token})  # the box unchecked
    assert db.session.get(type(org), org.id).pace_nudges_enabled is False
    client.post("/settings/pace-nudges", data={"csrf_token": token, "enabled": "y"})
    db.session.expire_all()
    assert org.pace_nudges_enabled is True

    bad = client.post("/settings/allowances", data={"csrf_token": token, "email": member.email, "amount": "lots"})
    assert bad.status_code == 400 and "Enter an amount in dollars such as 150" in bad.get_data(as_text=True)
    unknown = client.post("/settings/allowances", data={"csrf_token": token, "email": "x@y.example", "amount": "5"})
    assert "No one with email x@y.example in Globex." in unknown.get_data(as_text=True)
    saved = client.post("/settings/allowances", data={"csrf_token": token, "email": member.email, "amount": "150"},
                        follow_redirects=True)
    assert "Alice Smith&#39;s monthly allowance is $150.00." in saved.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, member.id).monthly_allowance_usd == 150

    client.post("/settings/my-pace-nudges", data={"csrf_token": token, "on": "0"})
    db.session.expire_all()
    assert db.session.get(User, admin.id).pace_nudges is False
    assert "Your own nudges are <strong>off</strong>" in client.get("/settings").get_data(as_text=True)


def test_allowances_through_the_api(api, member):
    assert api("get", "/budget/allowances").json == {"allowances": []}
    saved = api("put", "/budget/allowances", json={"user_email": member.email, "monthly_allowance_usd": "150"})
    assert saved.status_code == 200
    assert saved.json == {"user_email": member.email, "name": "Alice Smith", "monthly_allowance_usd": "150.00"}
    assert api("get", "/budget/allowances").json["allowances"] == [saved.json]
    bad = api("put", "/budget/allowances", json={"user_email": member.email, "monthly_allowance_usd": "1.234"})
    assert bad.status_code == 400 and "at most 2 decimals" in bad.json["error"]["message"]
    unknown = api("put", "/budget/allowances", json={"user_email": "x@y.example", "monthly_allowance_usd": 5})
    assert unknown.status_code == 404 and "No user with email x@y.example" in unknown.json["error"]["message"]
    cleared = api("put", "/budget/allowances", json={"user_email": member.email, "monthly_allowance_usd": None})
    assert cleared.json["monthly_allowance_usd"] is None
    assert api("get", "/budget/allowances").json == {"allowances": []}
