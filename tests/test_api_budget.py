"""GET and PUT /api/v1/budget as an API client sees them."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.types import utcnow
from app.services.accounts import create_api_key, create_organization, create_user
from app.services.periods import current_period
from tests.conftest import fresh

EMAIL = "alice@globex.example"


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


@pytest.fixture
def spend(api, org):
    """Report usage costing each given amount (this period unless `when` is given) through the API."""
    create_user(org, EMAIL, "Alice Smith", "member")
    counter = iter(range(10_000))

    def report(*amounts: str, when: dt.datetime | None = None):
        start = current_period(org.timezone).starts_at
        moment = when or start + (utcnow() - start) / 2
        events = [{"id": f"e{next(counter)}", "user_email": EMAIL, "provider": "openai", "model": "gpt-4o",
                   "input_tokens": 1, "output_tokens": 1, "cost_usd": amount, "occurred_at": iso(moment)}
                  for amount in amounts]
        response = api("post", "/usage", json={"events": events})
        assert response.get_json()["accepted"] == len(amounts), response.get_json()

    return report


def get_budget(api) -> dict:
    response = api("get", "/budget")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def put_budget(api, body) -> dict:
    response = api("put", "/budget", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_reading_the_budget_shows_the_limit_threshold_spend_and_period(api, org):
    period = current_period("UTC")
    budget = get_budget(api)
    forecast = budget.pop("forecast")  # none on the month's first day; nothing spent, so no pace after it
    assert forecast is None or (forecast["daily_pace_usd"], forecast["exceeds_on"]) == ("0.00", None)
    assert budget == {
        "period": {"key": period.key, "label": period.label,
                   "starts_at": period.starts_at.isoformat(), "ends_at": period.ends_at.isoformat()},
        "monthly_limit_usd": "10000.00",
        "alert_threshold_pct": 80,
        "alert_thresholds": [80],
        "spent_usd": "0.00",
        "remaining_usd": "10000.00",
        "percent_used": "0.0",
        "channel": None,
        "pace_nudges_enabled": True,
    }


def test_spend_remaining_and_percent_follow_this_periods_usage_only(api, org, spend):
    spend("7000.00", "523.4", "0.05")
    spend("999.00", when=current_period("UTC").starts_at - dt.timedelta(hours=1))  # last month
    budget = get_budget(api)
    assert budget["spent_usd"] == "7523.45"
    assert budget["remaining_usd"] == "2476.55"
    assert budget["percent_used"] == "75.2"
    for name in ("monthly_limit_usd", "spent_usd", "remaining_usd", "percent_used"):
        assert isinstance(budget[name], str), name


@pytest.mark.parametrize("limit,spent,percent", [
    ("3.00", "2.00", "66.7"),
    ("1000", "0.50", "0.1"),     # 0.05 rounds half up
    ("1000", "0.40", "0.0"),
    ("250.00", "250.00", "100.0"),
    ("9999.99", "0.000001", "0.0"),
])
def test_percent_used_is_shown_to_one_decimal(api, org, spend, limit, spent, percent):
    put_budget(api, {"monthly_limit_usd": limit})
    spend(spent)
    assert get_budget(api)["percent_used"] == percent


def test_remaining_is_negative_when_over_budget(api, org, spend):
    put_budget(api, {"monthly_limit_usd": "100.00"})
    spend("100.00", "23.40")
    budget = get_budget(api)
    assert budget["spent_usd"] == "123.40"
    assert budget["remaining_usd"] == "-23.40"
    assert budget["percent_used"] == "123.4"


def test_spend_keeps_micro_dollars(api, org, spend):
    spend("0.000001", "0.0125")
    budget = get_budget(api)
    assert budget["spent_usd"] == "0.012501"
    assert Decimal(budget["remaining_usd"]) == Decimal("10000") - Decimal("0.012501")


def test_setting_only_the_limit_keeps_the_threshold(api, org):
    budget = put_budget(api, {"monthly_limit_usd": "2500.50"})
    assert budget["monthly_limit_usd"] == "2500.50"
    assert budget["alert_threshold_pct"] == 80
    assert budget["remaining_usd"] == "2500.50"
    assert fresh(org).monthly_budget_usd == Decimal("2500.50")
    assert get_budget(api) == budget


def test_setting_only_the_threshold_keeps_the_limit(api, org):
    budget = put_budget(api, {"alert_threshold_pct": 95})
    assert budget["alert_threshold_pct"] == 95
    assert budget["monthly_limit_usd"] == "10000.00"
    assert fresh(org).alert_threshold_pct == 95
    assert fresh(org).monthly_budget_usd == Decimal("10000")


def test_setting_both_at_once(api, org):
    budget = put_budget(api, {"monthly_limit_usd": 5000, "alert_threshold_pct": 1})
    assert (budget["monthly_limit_usd"], budget["alert_threshold_pct"]) == ("5000.00", 1)
    budget = put_budget(api, {"monthly_limit_usd": "0.10", "alert_threshold_pct": 100})
    assert (budget["monthly_limit_usd"], budget["alert_threshold_pct"]) == ("0.10", 100)


def test_an_empty_update_changes_nothing(api, org):
    before = get_budget(api)
    assert put_budget(api, {}) == before


def test_a_null_limit_clears_the_budget(api, org, spend):
    spend("12.34")
    budget = put_budget(api, {"monthly_limit_usd": None})
    assert budget["monthly_limit_usd"] is None
    assert budget["remaining_usd"] is None
    assert budget["percent_used"] is None
    assert budget["spent_usd"] == "12.34"
    assert budget["alert_threshold_pct"] == 80
    assert fresh(org).monthly_budget_usd is None
    assert get_budget(api) == budget
    # ... and a limit can be set again afterwards.
    assert put_budget(api, {"monthly_limit_usd": "20"})["remaining_usd"] == "7.66"


def test_a_zero_limit_means_every_cent_is_over_budget(api, org, spend):
    spend("1.50")
    budget = put_budget(api, {"monthly_limit_usd": "0"})
    assert budget["monthly_limit_usd"] == "0.00"
    assert budget["remaining_usd"] == "-1.50"
    assert budget["percent_used"] is None  # no percentage of nothing


BAD_LIMITS = ["abc", "-5", "-0.01", "10.001", 12.5, True, "NaN", "Infinity", "1e10", "2000000000", {}, ["10"]]


@pytest.mark.parametrize("value", BAD_LIMITS, ids=[repr(v) for v in BAD_LIMITS])
def test_a_bad_limit_is_refused_with_a_message_and_nothing_changes(api, org, value):
    response = api("put", "/budget", json={"monthly_limit_usd": value, "alert_threshold_pct": 50})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["status"] == 400
    assert error["message"].startswith("monthly_limit_usd must be")
    assert (fresh(org).monthly_budget_usd, org.alert_threshold_pct) == (Decimal("10000"), 80)


BAD_THRESHOLDS = [0, 101, -1, "abc", 50.5, 80.0, True, None, "", [80]]


@pytest.mark.parametrize("value", BAD_THRESHOLDS, ids=[repr(v) for v in BAD_THRESHOLDS])
def test_a_bad_threshold_is_refused_with_a_message_and_nothing_changes(api, org, value):
    response = api("put", "/budget", json={"monthly_limit_usd": "1.00", "alert_threshold_pct": value})
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "alert_threshold_pct must be a whole number from 1 to 100"
    assert (fresh(org).monthly_budget_usd, org.alert_threshold_pct) == (Decimal("10000"), 80)


def test_unknown_fields_are_refused_and_named(api, org):
    response = api("put", "/budget", json={"monthly_budget": "5", "threshold": 50, "alert_threshold_pct": 70})
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == (
        "Unknown field(s): monthly_budget, threshold. Accepted: monthly_limit_usd, alert_threshold_pct, alert_thresholds, channel, team_id, "
        "pace_nudges_enabled.")
    assert fresh(org).alert_threshold_pct == 80


def test_a_body_that_is_not_a_json_object_is_refused(api, org):
    response = api("put", "/budget", data="monthly_limit_usd=5", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    for raw in ("[]", "null", "{broken"):
        response = api("put", "/budget", data=raw, content_type="application/json")
        assert response.status_code == 400, raw
        assert response.get_json()["error"]["message"] == "The body must be a JSON object."


def test_the_budget_period_follows_the_organizations_timezone(client):
    tokyo = create_organization("Tokyo KK", Decimal("300"), 80, "Asia/Tokyo")
    key = create_api_key(tokyo, "k")[1]
    body = client.get("/api/v1/budget", headers={"Authorization": f"Bearer {key}"}).get_json()
    period = current_period("Asia/Tokyo")
    assert body["period"]["key"] == period.key
    assert body["period"]["starts_at"] == period.starts_at.isoformat()
    assert period.starts_at.hour == 15  # midnight in Tokyo is 15:00 UTC the day before
    assert body["monthly_limit_usd"] == "300.00"


def test_a_budget_change_is_only_for_the_keys_organization(api, org, client):
    other = create_organization("Initech", None, 60, "UTC")
    other_key = create_api_key(other, "k")[1]
    put_budget(api, {"monthly_limit_usd": "1.00", "alert_threshold_pct": 10})
    body = client.get("/api/v1/budget", headers={"Authorization": f"Bearer {other_key}"}).get_json()
    assert (body["monthly_limit_usd"], body["alert_threshold_pct"]) == (None, 60)
    assert body["percent_used"] is None and body["remaining_usd"] is None


def test_several_thresholds_each_fire_once_in_order_even_when_one_batch_jumps_them(api, org, member):
    from tests.test_alerts import usage

    response = api("put", "/budget", json={"alert_thresholds": [90, 50, 75, 75]})
    assert response.status_code == 200
    assert (response.json["alert_thresholds"], response.json["alert_threshold_pct"]) == ([50, 75, 90], 50)
    api("post", "/usage", json={"events": [usage(member.email, "8000", 1)]})  # 0% -> 80%: crosses 50 and 75
    titles = [a["title"] for a in reversed(api("get", "/alerts").json["alerts"])]
    assert titles == [f"Globex has spent {t}% of the monthly budget for {current_period('UTC').label}"
                      for t in (50, 75)]
    api("post", "/usage", json={"events": [usage(member.email, "10", 2)]})
    assert len(api("get", "/alerts").json["alerts"]) == 2  # nothing crossed twice
    api("post", "/usage", json={"events": [usage(member.email, "3000", 3)]})  # 110%: 90 and 100
    assert [a["severity"] for a in api("get", "/alerts").json["alerts"]] == ["critical", "high", "high", "high"]


def test_a_put_that_leaves_the_thresholds_out_keeps_them(api, org):
    api("put", "/budget", json={"alert_thresholds": [50, 90]})
    assert api("put", "/budget", json={"monthly_limit_usd": "2000"}).json["alert_thresholds"] == [50, 90]
    assert api("put", "/budget", json={"alert_threshold_pct": 70}).json["alert_thresholds"] == [70]


@pytest.mark.parametrize("thresholds", [[], [0], [101], ["٨٠"], [50] * 11 + [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "x"])
def test_bad_threshold_lists_are_refused_with_a_reason(api, org, thresholds):
    response = api("put", "/budget", json={"alert_thresholds": thresholds})
    assert response.status_code == 400
    assert "alert_thresholds must be" in response.json["error"]["message"]
    assert fresh(org).alert_thresholds is None


def test_racing_workers_fire_each_crossed_threshold_once(app, org, member):
    import threading

    from app.models import Alert, Organization
    from app.services.budget import update_budget
    from app.services.budget_policy import check_budget_thresholds
    from app.services.usage import ingest_usage
    from tests.test_alerts import usage

    update_budget(org, Decimal("10000"), [50, 75, 90])
    ingest_usage(org, [usage(member.email, "9500", 1)])
    org_id = org.id

    def check():
        with app.app_context():
            check_budget_thresholds(db.session.get(Organization, org_id))

    threads = [threading.Thread(target=check) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = sorted(db.session.scalars(sa.select(Alert.dedup_key)).all())
    period = current_period("UTC").key
    assert keys == sorted(f"budget:{period}:{t}" for t in (50, 75, 90))


def budget_titles(api) -> list[str]:
    """Every alert's title, oldest first."""
    return [a["title"] for a in reversed(api("get", "/alerts", query_string={"limit": 50}).json["alerts"])]


def test_raising_the_limit_lets_the_thresholds_it_puts_out_of_reach_fire_again(api, org, member):
    from tests.test_alerts import usage

    label = current_period("UTC").label
    api("put", "/budget", json={"alert_thresholds": [50, 75, 90]})
    api("post", "/usage", json={"events": [usage(member.email, "9000", 1)]})  # 90%: 50, 75 and 90 fire
    for alert in api("get", "/alerts").json["alerts"]:  # dealt with: the limit is about to be raised
        assert api("post", f"/alerts/{alert['id']}/resolve").status_code == 200

    assert put_budget(api, {"monthly_limit_usd": "15000"})["percent_used"] == "60.0"  # 50% is still reached
    api("post", "/usage", json={"events": [usage(member.email, "2250", 2)]})  # 75% of the new limit
    api("post", "/usage", json={"events": [usage(member.email, "10", 3)]})
    api("post", "/usage", json={"events": [usage(member.email, "2240", 4)]})  # 90%
    api("post", "/usage", json={"events": [usage(member.email, "10", 5)]})
    assert budget_titles(api) == [f"Globex has spent {t}% of the monthly budget for {label}"
                                  for t in (50, 75, 90, 75, 90)]
    period = current_period("UTC").key
    assert db.session.scalars(sa.text("SELECT threshold FROM budget_crossings WHERE period = :p ORDER BY 1"),
                              {"p": period}).all() == [50, 75, 90]


def test_a_threshold_reached_again_while_its_alert_is_still_open_adds_no_second_alert(api, org, member):
    from tests.test_alerts import usage

    api("post", "/usage", json={"events": [usage(member.email, "8500", 1)]})  # 85%: the 80% alert, left open
    put_budget(api, {"monthly_limit_usd": "20000"})  # 42.5%
    api("post", "/usage", json={"events": [usage(member.email, "8000", 2)]})  # 82.5% again
    [alert] = api("get", "/alerts").json["alerts"]
    assert alert["status"] == "open"


def test_lowering_the_limit_forgets_nothing_and_fires_what_it_reaches(api, org, member):
    from tests.test_alerts import usage

    api("put", "/budget", json={"alert_thresholds": [50, 90]})
    api("post", "/usage", json={"events": [usage(member.email, "6000", 1)]})  # 60%: 50 fires
    put_budget(api, {"monthly_limit_usd": "6500"})  # 92.3%: 90 fires, 50 is not told again
    label = current_period("UTC").label
    assert budget_titles(api) == [f"Globex has spent {t}% of the monthly budget for {label}" for t in (50, 90)]
