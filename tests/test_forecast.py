"""The budget forecast: synthetic spend curves with known answers, and where people see it."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from app.services.forecast import project
from app.services.periods import period_for

JAN = period_for("2025-01", "UTC")


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2025, 1, day, hour, tzinfo=dt.timezone.utc)


def days(*costs) -> dict[dt.date, Decimal]:
    return {dt.date(2025, 1, n + 1): Decimal(c) for n, c in enumerate(costs)}


def test_a_steady_pace_projects_a_straight_line_and_the_day_it_passes_the_limit():
    # $400 a day for 10 days; it is noon on the 11th and $200 has been spent today.
    forecast = project(Decimal("4200"), Decimal("10000"), days(*[400] * 10, 200), JAN, "UTC", at(11))
    assert forecast.daily_pace_usd == Decimal("400.00")
    assert forecast.projected_usd == Decimal("4200") + Decimal("400") * Decimal("20.5")  # 20.5 days left
    assert forecast.projected_pct == Decimal("124.0")
    assert forecast.exceeds_on == dt.date(2025, 1, 26)  # $5,800 more at $400 a day: 14.5 days after noon on the 11th
    assert forecast.in_words() == "on pace for $12,400 (124%) by 31 Jan"


def test_a_one_day_spike_does_not_move_the_pace():
    spike = [100] * 9 + [5000]
    forecast = project(Decimal("5900"), Decimal("10000"), days(*spike), JAN, "UTC", at(11, 0))
    assert forecast.daily_pace_usd == Decimal("100.00")
    assert forecast.exceeds_on is None and forecast.projected_usd == Decimal("8000.00")


def test_the_pace_follows_the_last_seven_days_when_spend_speeds_up():
    rising = [50] * 10 + [300] * 7
    forecast = project(Decimal("2600"), Decimal("10000"), days(*rising), JAN, "UTC", at(18, 0))
    assert forecast.daily_pace_usd == Decimal("300.00")
    assert forecast.projected_usd == Decimal("2600") + Decimal("300") * 14


def test_no_forecast_before_the_first_complete_day_and_no_exceed_date_once_over():
    assert project(Decimal("10"), Decimal("100"), {}, JAN, "UTC", at(1, 20)) is None
    over = project(Decimal("12000"), Decimal("10000"), days(*[1000] * 12), JAN, "UTC", at(13, 0))
    assert over.exceeds_on is None and over.projected_pct == Decimal("310.0")


def test_days_are_counted_in_the_organizations_timezone():
    tokyo = period_for("2025-01", "Asia/Tokyo")
    # 23:00 UTC on 10 Jan is 08:00 on the 11th in Tokyo: ten complete days there.
    forecast = project(Decimal("1000"), None, {dt.date(2025, 1, n): Decimal(100) for n in range(1, 11)}, tokyo,
                       "Asia/Tokyo", dt.datetime(2025, 1, 10, 23, tzinfo=dt.timezone.utc))
    assert forecast.daily_pace_usd == Decimal("100.00") and forecast.projected_pct is None


@pytest.fixture
def spending(api, member):
    """Noon on 11 January 2025 (the tests' clock), after $500 a day from the 3rd to the 10th, no budget alert."""
    import time_machine

    from tests.test_alerts import usage

    with time_machine.travel(dt.datetime(2025, 1, 11, 12, tzinfo=dt.timezone.utc), tick=True):
        api("put", "/budget", json={"monthly_limit_usd": "1000000"})
        events = []
        for day in range(3, 11):
            event = usage(member.email, "500", day)
            event["occurred_at"] = f"2025-01-{day:02d}T10:00:00Z"
            events.append(event)
        assert api("post", "/usage", json={"events": events}).json["accepted"] == 8
        yield


def test_the_api_and_the_budget_card_show_the_forecast(api, spending, signed, slack, run_worker, org, admin):
    from app.extensions import db
    from app.models import SlackWorkspace

    forecast = api("get", "/budget").json["forecast"]
    # Pace $500 (the median of 4–10 Jan); 20.5 days left: $4,000 + $10,250.
    assert forecast == {"daily_pace_usd": "500.00", "projected_usd": "14250.00", "projected_pct": "1.4",
                        "by": "2025-01-31", "exceeds_on": None, "summary": "on pace for $14,250 (1%) by 31 Jan"}
    team = slack.add_team("T0001", "Acme")
    db.session.add(SlackWorkspace(org_id=org.id, team_id="T0001", team_name="Acme", bot_token=team.bot_token,
                                  bot_user_id=team.bot_user_id, scopes="", installed_by_id=admin.id))
    db.session.commit()
    slack.add_user("U0002", admin.email, "ada")
    signed.command("/toktra-budget", user_id="U0002", response_url=slack.response_url("budget"))
    run_worker()
    [card] = slack.responses("budget")
    assert "on pace for $14,250 (1%) by 31 Jan" in json.dumps(card["blocks"])


def test_a_projection_past_the_budget_alerts_once_per_period(api, spending):
    assert api("get", "/alerts").json["alerts"] == []
    api("put", "/budget", json={"monthly_limit_usd": "12000", "alert_thresholds": [100]})
    api("put", "/budget", json={"monthly_limit_usd": "11000"})
    [projected] = api("get", "/alerts").json["alerts"]
    # $8,000 more at $500 a day: 16 days after noon on the 11th.
    assert projected["title"] == "Globex is projected to exceed the monthly budget on 27 Jan"
    assert projected["severity"] == "medium"
    assert "at $500.00 a day (the median of the last 7 days)" in projected["details"]


def test_the_dashboard_overview_shows_the_forecast(api, spending, client, login, admin):
    login(admin)
    page = client.get("/").get_data(as_text=True)
    assert "Forecast: on pace for $14,250 (1%) by 31 Jan" in page
