"""POST /api/v1/usage and GET /api/v1/usage/summary as an API client sees them."""
from __future__ import annotations

import datetime as dt
import json
import secrets
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import ApiKey, UsageRecord
from app.models.types import utcnow
from app.services.accounts import create_api_key, create_organization, create_user
from app.services.periods import current_period, period_for, period_key
from app.services.usage import usage_summary

ALICE = "alice@globex.example"
BOB = "bob@globex.example"


def iso(moment: dt.datetime) -> str:
    """An ISO 8601 UTC timestamp with a Z, as clients send it."""
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def this_period_moment(tz: str = "UTC") -> dt.datetime:
    """A moment safely inside the current billing period and in the past."""
    start = current_period(tz).starts_at
    return start + (utcnow() - start) / 2


def event(event_id, user_email=ALICE, provider="openai", model="gpt-4o", input_tokens=100,
          output_tokens=50, cost_usd="0.01", occurred_at=None, **extra) -> dict:
    """A valid usage event, with any field overridden."""
    return {"id": event_id, "user_email": user_email, "provider": provider, "model": model,
            "input_tokens": input_tokens, "output_tokens": output_tokens, "cost_usd": cost_usd,
            "occurred_at": occurred_at or iso(this_period_moment()), **extra}


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def people(org):
    """Alice and Bob, members of Globex (no passwords: the API never signs people in)."""
    return create_user(org, ALICE, "Alice Smith", "member"), create_user(org, BOB, "Bob Jones", "member")


@pytest.fixture
def initech(app):
    """A second organization, with one person and its own API key: (org, user, key)."""
    other = create_organization("Initech", Decimal("500"), 80, "UTC")
    peter = create_user(other, "peter@initech.example", "Peter Gibbons", "member", None)
    return other, peter, create_api_key(other, "initech")[1]


def post_events(api, events):
    response = api("post", "/usage", json={"events": events})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def summary(api, user_email=None):
    query = {"user_email": user_email} if user_email else {}
    response = api("get", "/usage/summary", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# --- authentication ---------------------------------------------------------------------------

ENDPOINTS = [("post", "/usage", {"events": []}), ("get", "/usage/summary", None),
             ("get", "/budget", None), ("put", "/budget", {"alert_threshold_pct": 90})]


def assert_unauthorized(response, words):
    assert response.status_code == 401
    assert response.is_json
    body = response.get_json()
    assert body["error"]["status"] == 401
    assert words in body["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("method,path,body", ENDPOINTS)
def test_calling_without_an_authorization_header_is_refused_with_401(client, org, method, path, body):
    response = client.open(f"/api/v1{path}", method=method.upper(), json=body)
    assert_unauthorized(response, "Authorization: Bearer <key>")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Token abc", "Bearer", "Bearer    ", "tok_x"])
def test_a_header_without_the_bearer_scheme_and_a_key_is_refused(client, api_key, header):
    response = client.get("/api/v1/usage/summary", headers={"Authorization": header})
    assert_unauthorized(response, "Authorization: Bearer <key>")


@pytest.mark.parametrize("key", ["not-a-key", "tok_short_abc", "tok_", "tok_deadbeef", "🙂"])
def test_a_malformed_key_is_refused(client, api_key, key):
    response = client.get("/api/v1/usage/summary", headers=bearer(key))
    assert_unauthorized(response, "not valid or has been revoked")


def test_an_unknown_key_is_refused(client, api_key):
    unknown = f"tok_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    assert_unauthorized(client.get("/api/v1/budget", headers=bearer(unknown)), "not valid")


def test_a_key_with_a_real_prefix_but_the_wrong_secret_is_refused(client, api_key):
    forged = api_key.rsplit("_", 1)[0] + "_" + secrets.token_urlsafe(32)
    assert_unauthorized(client.get("/api/v1/budget", headers=bearer(forged)), "not valid")


@pytest.mark.parametrize("method,path,body", ENDPOINTS)
def test_a_revoked_key_is_refused(client, org, api_key, method, path, body):
    row = db.session.scalar(sa.select(ApiKey).where(ApiKey.org_id == org.id))
    row.revoked_at = utcnow()
    db.session.commit()
    response = client.open(f"/api/v1{path}", method=method.upper(), json=body, headers=bearer(api_key))
    assert_unauthorized(response, "revoked")


def test_the_bearer_scheme_is_case_insensitive(client, api_key):
    response = client.get("/api/v1/budget", headers={"Authorization": f"bearer {api_key}"})
    assert response.status_code == 200


def test_a_key_of_one_organization_never_sees_another_organizations_usage(api, client, people, initech):
    _, peter, initech_key = initech
    post_events(api, [event("e1", cost_usd="5.00")])

    # Initech cannot read Globex people's usage, nor post usage for them.
    response = client.get("/api/v1/usage/summary", query_string={"user_email": ALICE}, headers=bearer(initech_key))
    assert response.status_code == 404
    posted = client.post("/api/v1/usage", json={"events": [event("e9")]}, headers=bearer(initech_key)).get_json()
    assert posted["accepted"] == 0
    assert "no user with email" in posted["rejected"][0]["errors"][0]

    # Its own org-wide summary and budget show only its own numbers.
    theirs = client.get("/api/v1/usage/summary", headers=bearer(initech_key)).get_json()
    assert theirs["providers"] == [] and theirs["total"]["cost_usd"] == "0.00"
    budget = client.get("/api/v1/budget", headers=bearer(initech_key)).get_json()
    assert budget["monthly_limit_usd"] == "500.00" and budget["spent_usd"] == "0.00"

    # Globex cannot see Initech's person either.
    assert api("get", "/usage/summary", query_string={"user_email": peter.email}).status_code == 404


def test_event_ids_are_per_organization(api, client, people, initech):
    _, peter, initech_key = initech
    assert post_events(api, [event("shared-id")])["accepted"] == 1
    response = client.post("/api/v1/usage", headers=bearer(initech_key),
                           json={"events": [event("shared-id", user_email=peter.email, cost_usd="2.50")]})
    assert response.get_json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    theirs = client.get("/api/v1/usage/summary", headers=bearer(initech_key)).get_json()
    assert theirs["total"]["cost_usd"] == "2.50"
    assert summary(api)["total"]["cost_usd"] == "0.01"


# --- validation -------------------------------------------------------------------------------

FUTURE = iso(utcnow() + dt.timedelta(days=3))

BAD_VALUES = [
    # field, bad value (MISSING drops the field), words the reason must contain
    ("id", "MISSING", "id must be"),
    ("id", "", "id must be"),
    ("id", "   ", "id must be"),
    ("id", 123, "id must be"),
    ("id", None, "id must be"),
    ("id", "x" * 201, "at most 200"),
    ("user_email", "MISSING", "user_email"),
    ("user_email", "not-an-email", "user_email"),
    ("user_email", 42, "user_email"),
    ("user_email", "nobody@globex.example", "no user with email nobody@globex.example"),
    ("user_email", "peter@initech.example", "no user with email peter@initech.example"),
    ("provider", "MISSING", "provider"),
    ("provider", "", "provider"),
    ("provider", "!!!", "provider"),
    ("provider", 7, "provider"),
    ("model", "MISSING", "model"),
    ("model", "", "model"),
    ("model", "m" * 201, "model"),
    ("model", ["gpt-4o"], "model"),
    ("input_tokens", "MISSING", "input_tokens"),
    ("input_tokens", -1, "input_tokens"),
    ("input_tokens", True, "input_tokens"),
    ("input_tokens", 1.5, "input_tokens"),
    ("input_tokens", 100.0, "input_tokens"),
    ("input_tokens", "100", "input_tokens"),
    ("input_tokens", None, "input_tokens"),
    ("input_tokens", 10**13, "input_tokens"),
    ("output_tokens", -5, "output_tokens"),
    ("output_tokens", False, "output_tokens"),
    ("output_tokens", 2.5, "output_tokens"),
    ("output_tokens", "MISSING", "output_tokens"),
    ("cost_usd", "MISSING", "cost_usd"),
    ("cost_usd", 0.01, "cost_usd must be a decimal string"),
    ("cost_usd", 1, "cost_usd must be a decimal string"),
    ("cost_usd", None, "cost_usd must be a decimal string"),
    ("cost_usd", "0.0000001", "at most 6 decimals"),
    ("cost_usd", "1.0000000000000000000000000000001", "at most 6 decimals"),
    ("cost_usd", "-0.01", "non-negative"),
    ("cost_usd", "abc", "cost_usd"),
    ("cost_usd", "", "cost_usd"),
    ("cost_usd", "NaN", "cost_usd"),
    ("cost_usd", "Infinity", "cost_usd"),
    ("cost_usd", "1e999999", "cost_usd"),
    ("occurred_at", "MISSING", "occurred_at"),
    ("occurred_at", "2025-01-15T09:30:00", "must include a timezone"),
    ("occurred_at", "yesterday", "occurred_at must be an ISO 8601 timestamp"),
    ("occurred_at", "", "occurred_at must be an ISO 8601 timestamp"),
    ("occurred_at", 1736933400, "occurred_at must be an ISO 8601 timestamp"),
    ("occurred_at", "2025-13-45T99:00:00Z", "occurred_at must be an ISO 8601 timestamp"),
    ("occurred_at", FUTURE, "in the future"),
    ("occurred_at", "9999-12-31T23:59:59Z", "in the future"),
    ("occurred_at", "0001-01-01T00:00:00+01:00", "occurred_at"),
]


def test_each_bad_field_rejects_its_event_with_a_reason_and_the_valid_ones_are_kept(api, people, initech):
    # One batch: a valid event, then every bad value in its own event, then another valid event.
    batch = [event("good-first", cost_usd="1.25")]
    for n, (field, value, _) in enumerate(BAD_VALUES):
        bad = event(f"bad-{n}")
        if value == "MISSING":
            del bad[field]
        else:
            bad[field] = value
        batch.append(bad)
    batch.append(event("good-last", cost_usd="0.75"))

    result = post_events(api, batch)

    assert result["accepted"] == 2
    assert result["duplicates"] == 0
    rejected = {item["index"]: item for item in result["rejected"]}
    assert sorted(rejected) == list(range(1, len(BAD_VALUES) + 1))
    for n, (field, value, words) in enumerate(BAD_VALUES):
        item = rejected[n + 1]
        case = f"{field}={value!r:.60}"
        assert len(item["errors"]) == 1, (case, item["errors"])
        assert words in item["errors"][0], (case, item["errors"])
        assert item["errors"][0].startswith(field) or field == "user_email", (case, item["errors"])
        if isinstance(batch[n + 1].get("id"), str):
            assert item["id"] == batch[n + 1]["id"], case
        else:
            assert "id" not in item, case
    assert summary(api)["total"]["cost_usd"] == "2.00"


def test_an_event_with_several_bad_fields_gets_one_reason_per_field(api, people):
    bad = {"id": "", "user_email": "nope", "provider": "", "model": "", "input_tokens": -1,
           "output_tokens": "x", "cost_usd": 0.5, "occurred_at": "soon"}
    result = post_events(api, [bad])
    errors = result["rejected"][0]["errors"]
    assert len(errors) == 8
    for name in ("id", "user_email", "provider", "model", "input_tokens", "output_tokens", "cost_usd", "occurred_at"):
        assert any(e.startswith(name) for e in errors), (name, errors)
    assert "id" not in result["rejected"][0] or result["rejected"][0]["id"] == ""


@pytest.mark.parametrize("item", [42, "event", None, ["a"], True])
def test_an_event_that_is_not_an_object_is_rejected_by_index(api, people, item):
    result = post_events(api, [event("ok"), item])
    assert result["accepted"] == 1
    assert result["rejected"] == [{"index": 1, "errors": ["each event must be a JSON object"]}]


def test_values_clients_commonly_send_are_accepted(api, people):
    offset = this_period_moment().astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))).isoformat()
    result = post_events(api, [
        event("a", user_email=ALICE.upper(), provider="OpenAI", cost_usd="0"),
        event("b", provider="anthropic", cost_usd="12", occurred_at=offset, input_tokens=0, output_tokens=0),
        event("c", provider="openai", cost_usd=" 0.123456 "),
    ])
    assert result == {"accepted": 3, "duplicates": 0, "rejected": []}
    stored = db.session.scalars(sa.select(UsageRecord).order_by(UsageRecord.event_id)).all()
    assert [(r.event_id, r.provider, r.cost_usd) for r in stored] == [
        ("a", "openai", Decimal("0")), ("b", "anthropic", Decimal("12")), ("c", "openai", Decimal("0.123456"))]
    assert stored[1].occurred_at == dt.datetime.fromisoformat(offset)


def test_a_body_that_is_not_json_gets_415(api, people):
    response = api("post", "/usage", data="events=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "application/json" in response.get_json()["error"]["message"]
    assert api("post", "/usage", data=b"{}").status_code == 415  # no content type at all


@pytest.mark.parametrize("raw", ["[]", "[{}]", '"events"', "42", "null", "{not json", ""])
def test_a_json_body_that_is_not_an_object_gets_400(api, people, raw):
    response = api("post", "/usage", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "The body must be a JSON object."


@pytest.mark.parametrize("body", [{}, {"event": []}, {"events": {}}, {"events": "e1"}, {"events": None}])
def test_a_body_without_an_events_array_gets_400(api, people, body):
    response = api("post", "/usage", json=body)
    assert response.status_code == 400
    assert '"events" array' in response.get_json()["error"]["message"]


def test_an_empty_batch_is_fine(api, people):
    assert post_events(api, []) == {"accepted": 0, "duplicates": 0, "rejected": []}


def test_a_batch_over_the_limit_gets_413_and_stores_nothing(app, api, people):
    limit = app.config["USAGE_BATCH_MAX_EVENTS"]
    assert limit == 5000
    response = api("post", "/usage", json={"events": [event(f"e{n}") for n in range(limit + 1)]})
    assert response.status_code == 413
    message = response.get_json()["error"]["message"]
    assert "at most 5000 events" in message and "5001" in message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UsageRecord)) == 0


def test_the_batch_limit_follows_configuration(app, api, people):
    app.config["USAGE_BATCH_MAX_EVENTS"] = 3
    assert api("post", "/usage", json={"events": [event(f"e{n}") for n in range(3)]}).status_code == 200
    response = api("post", "/usage", json={"events": [event(f"f{n}") for n in range(4)]})
    assert response.status_code == 413
    assert "at most 3 events" in response.get_json()["error"]["message"]


def test_a_wrong_method_gets_a_json_405(api, people):
    response = api("delete", "/usage")
    assert response.status_code == 405
    assert response.get_json()["error"]["status"] == 405


# --- idempotency ------------------------------------------------------------------------------

def test_posting_the_same_batch_twice_changes_nothing(api, people):
    batch = [event("e1", cost_usd="1.10"), event("e2", user_email=BOB, provider="anthropic", cost_usd="2.20"),
             event("e3", cost_usd="3.30")]
    assert post_events(api, batch) == {"accepted": 3, "duplicates": 0, "rejected": []}
    before = summary(api)

    assert post_events(api, batch) == {"accepted": 0, "duplicates": 3, "rejected": []}
    assert summary(api) == before
    assert before["total"]["cost_usd"] == "6.60"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UsageRecord)) == 3


def test_a_resent_batch_with_some_new_events_stores_only_the_new_ones(api, people):
    post_events(api, [event("e1"), event("e2")])
    assert post_events(api, [event("e2"), event("e3"), event("e1")]) == {"accepted": 1, "duplicates": 2, "rejected": []}
    assert summary(api)["total"]["total_tokens"] == 3 * 150


def test_a_duplicate_id_inside_one_batch_counts_once(api, people):
    same = event("dup", input_tokens=1000, output_tokens=0, cost_usd="4.00")
    result = post_events(api, [same, dict(same), event("other", cost_usd="1.00"), dict(same)])
    assert result == {"accepted": 2, "duplicates": 2, "rejected": []}
    total = summary(api)["total"]
    assert total["cost_usd"] == "5.00"
    assert total["input_tokens"] == 1100


def test_a_rejected_event_can_be_fixed_and_resent(api, people):
    result = post_events(api, [event("e1", cost_usd="1.2345678")])
    assert result["accepted"] == 0 and result["rejected"][0]["id"] == "e1"
    assert post_events(api, [event("e1", cost_usd="1.234568")])["accepted"] == 1
    assert summary(api)["total"]["cost_usd"] == "1.234568"


# --- summary ----------------------------------------------------------------------------------

def test_the_summary_adds_up_exactly_per_provider_and_in_total(api, people):
    # Costs that a float would get wrong (0.1 + 0.2, 1.1 + 2.7), spread over people and models.
    post_events(api, [
        event("o1", provider="openai", model="gpt-4o", input_tokens=1_000_000, output_tokens=200_000, cost_usd="0.1"),
        event("o2", user_email=BOB, provider="openai", model="gpt-4o-mini", input_tokens=30_000, output_tokens=10_000,
              cost_usd="0.2"),
        event("o3", provider="OpenAI", model="gpt-4o", input_tokens=0, output_tokens=500, cost_usd="24.51"),
        event("a1", provider="anthropic", model="claude-sonnet-4", input_tokens=300_000, output_tokens=60_000,
              cost_usd="1.1"),
        event("a2", user_email=BOB, provider="anthropic", model="claude-haiku", input_tokens=20_000,
              output_tokens=200, cost_usd="2.70"),
    ])
    body = summary(api)
    period = current_period("UTC")
    assert body["period"] == {"key": period.key, "label": period.label,
                              "starts_at": period.starts_at.isoformat(), "ends_at": period.ends_at.isoformat()}
    assert body["user_email"] is None
    assert body["providers"] == [
        {"provider": "openai", "name": "OpenAI", "input_tokens": 1_030_000, "output_tokens": 210_500,
         "total_tokens": 1_240_500, "cost_usd": "24.81"},
        {"provider": "anthropic", "name": "Anthropic", "input_tokens": 320_000, "output_tokens": 60_200,
         "total_tokens": 380_200, "cost_usd": "3.80"},
    ]
    assert body["total"] == {"input_tokens": 1_350_000, "output_tokens": 270_700,
                             "total_tokens": 1_620_700, "cost_usd": "28.61"}


def test_providers_are_sorted_biggest_first_and_shown_by_their_proper_names(api, people):
    post_events(api, [
        event("g", provider="google", input_tokens=10, output_tokens=0),
        event("o", provider="openai", input_tokens=1_000, output_tokens=0),
        event("a", provider="Anthropic", input_tokens=5_000, output_tokens=0),
        event("z", provider="Azure OpenAI", input_tokens=3_000, output_tokens=0),
        event("x", provider="acme-llm", input_tokens=2_000, output_tokens=0),
    ])
    providers = summary(api)["providers"]
    assert [(p["provider"], p["name"]) for p in providers] == [
        ("anthropic", "Anthropic"), ("azure_openai", "Azure OpenAI"), ("acme_llm", "Acme Llm"),
        ("openai", "OpenAI"), ("google", "Google")]


def test_the_summary_money_is_a_string_keeping_every_micro_dollar(api, people):
    post_events(api, [event("a", cost_usd="0.000001"), event("b", cost_usd="0.0125"), event("c", cost_usd="1000")])
    body = summary(api)
    assert body["providers"][0]["cost_usd"] == "1000.012501"
    assert isinstance(body["total"]["cost_usd"], str)


def test_an_empty_period_shows_zeroes(api, people):
    body = summary(api)
    assert body["providers"] == []
    assert body["total"] == {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0, "cost_usd": "0.00"}


def test_last_months_usage_is_not_in_the_summary(api, org, people):
    start = current_period("UTC").starts_at
    post_events(api, [
        event("last-month", occurred_at=iso(start - dt.timedelta(minutes=1)), cost_usd="100.00"),
        event("long-ago", occurred_at="2020-06-15T12:00:00Z", cost_usd="50.00"),
        event("first-second", occurred_at=iso(start), cost_usd="1.00"),
        event("now", cost_usd="2.00"),
    ])
    body = summary(api)
    assert body["total"]["cost_usd"] == "3.00"
    assert body["total"]["total_tokens"] == 300
    # The older events are stored, just in their own periods.
    previous = (start - dt.timedelta(days=1)).strftime("%Y-%m")
    assert usage_summary(org, period=period_for(previous, "UTC")).total.cost_usd == Decimal("100.00")


def test_one_persons_summary_shows_only_their_usage(api, people):
    post_events(api, [
        event("a1", user_email=ALICE, provider="openai", cost_usd="1.50", input_tokens=10, output_tokens=5),
        event("a2", user_email=ALICE, provider="anthropic", cost_usd="0.25", input_tokens=1, output_tokens=1),
        event("b1", user_email=BOB, provider="openai", cost_usd="7.00", input_tokens=1000, output_tokens=0),
    ])
    alice = summary(api, ALICE)
    assert alice["user_email"] == ALICE
    assert [(p["name"], p["total_tokens"], p["cost_usd"]) for p in alice["providers"]] == [
        ("OpenAI", 15, "1.50"), ("Anthropic", 2, "0.25")]
    assert alice["total"]["cost_usd"] == "1.75"
    assert summary(api, "  Bob@Globex.Example ")["total"]["cost_usd"] == "7.00"
    everyone = summary(api)
    assert everyone["user_email"] is None
    assert everyone["total"]["cost_usd"] == "8.75"


def test_a_person_with_no_usage_gets_an_empty_summary(api, people):
    post_events(api, [event("a1", user_email=ALICE)])
    assert summary(api, BOB)["providers"] == []


def test_an_unknown_user_email_gets_404(api, people):
    response = api("get", "/usage/summary", query_string={"user_email": "ghost@globex.example"})
    assert response.status_code == 404
    assert response.get_json()["error"] == {
        "status": 404, "message": "No user with email ghost@globex.example in this organization."}


def test_the_billing_period_follows_the_organizations_timezone(app, client):
    paris = create_organization("Paris SA", None, 80, "Europe/Paris")
    create_user(paris, "zoe@paris.example", "Zoe", "member", None)
    paris_key = create_api_key(paris, "paris")[1]

    # The example: 23:30 UTC on 31 January is 00:30 on 1 February in Paris.
    literal = {"id": "jan31", "user_email": "zoe@paris.example", "provider": "openai", "model": "gpt-4o",
               "input_tokens": 10, "output_tokens": 0, "cost_usd": "9.99", "occurred_at": "2025-01-31T23:30:00Z"}
    # Around the start of the current Paris month: 30 minutes before belongs to last month, after to this one.
    start = current_period("Europe/Paris").starts_at
    before = dict(literal, id="before", input_tokens=100, cost_usd="1.00",
                  occurred_at=iso(start - dt.timedelta(minutes=30)))
    after = dict(literal, id="after", input_tokens=1_000, cost_usd="2.00",
                 occurred_at=iso(start + dt.timedelta(minutes=30)))
    response = client.post("/api/v1/usage", headers=bearer(paris_key), json={"events": [literal, before, after]})
    assert response.get_json() == {"accepted": 3, "duplicates": 0, "rejected": []}

    assert period_key(dt.datetime(2025, 1, 31, 23, 30, tzinfo=dt.timezone.utc), "Europe/Paris") == "2025-02"
    assert usage_summary(paris, period=period_for("2025-02", "Europe/Paris")).total.cost_usd == Decimal("9.99")
    assert usage_summary(paris, period=period_for("2025-01", "Europe/Paris")).total.tokens == 0

    body = client.get("/api/v1/usage/summary", headers=bearer(paris_key)).get_json()
    period = current_period("Europe/Paris")
    assert body["period"]["key"] == period.key
    assert body["period"]["starts_at"] == period.starts_at.isoformat()
    assert period.starts_at.astimezone(dt.timezone.utc).hour in (22, 23)  # midnight in Paris
    assert body["total"]["cost_usd"] == "2.00"
    assert body["total"]["total_tokens"] == 1_000


def test_the_same_instant_lands_in_different_periods_for_utc_and_paris_organizations(app, client):
    start = current_period("Europe/Paris").starts_at
    moment = start + dt.timedelta(minutes=30)  # e.g. 23:30 UTC on the last day of the UTC month
    for name, tz in (("Utc Ltd", "UTC"), ("Paris SA", "Europe/Paris")):
        org = create_organization(name, None, 80, tz)
        email = f"sam@{tz.replace('/', '-').lower()}.example"
        create_user(org, email, "Sam", "member", None)
        key = create_api_key(org, "k")[1]
        client.post("/api/v1/usage", headers=bearer(key), json={"events": [
            event("edge", user_email=email, cost_usd="3.00", occurred_at=iso(moment))]})
        expected = "3.00" if period_key(moment, tz) == current_period(tz).key else "0.00"
        body = client.get("/api/v1/usage/summary", headers=bearer(key)).get_json()
        assert body["total"]["cost_usd"] == expected, tz


def test_a_batch_of_five_thousand_events_is_accepted_in_one_request(api, people):
    base = this_period_moment()
    events, expected_cost, expected_tokens = [], {"openai": Decimal(0), "anthropic": Decimal(0)}, {"openai": 0, "anthropic": 0}
    for n in range(5000):
        provider = "openai" if n % 3 else "anthropic"
        cost = Decimal(n % 997 + 1) / Decimal(1_000_000) * 37  # up to 6 decimals, never floats
        events.append(event(f"bulk-{n:05d}", user_email=ALICE if n % 2 else BOB, provider=provider,
                            input_tokens=n, output_tokens=n % 50, cost_usd=str(cost),
                            occurred_at=iso(base - dt.timedelta(seconds=n))))
        expected_cost[provider] += cost
        expected_tokens[provider] += n + n % 50

    assert post_events(api, events) == {"accepted": 5000, "duplicates": 0, "rejected": []}

    body = summary(api)
    by_name = {p["provider"]: p for p in body["providers"]}
    for provider in ("openai", "anthropic"):
        assert Decimal(by_name[provider]["cost_usd"]) == expected_cost[provider]
        assert by_name[provider]["total_tokens"] == expected_tokens[provider]
    assert Decimal(body["total"]["cost_usd"]) == sum(expected_cost.values())
    assert body["total"]["total_tokens"] == sum(expected_tokens.values())

    assert post_events(api, events[:2500] + [event("one-more")]) == {"accepted": 1, "duplicates": 2500, "rejected": []}


def test_summary_and_ingest_never_answer_500_for_odd_input(api, people):
    odd = [
        {"events": [{"id": "x" * 10_000}]},
        {"events": [{"id": "e", "user_email": "a@b" * 500}]},
        {"events": [{"id": "e", "cost_usd": "9" * 5000}]},
        {"events": [{"id": "e", "occurred_at": "0001-01-01T00:00:00+14:00", "user_email": ALICE}]},
        {"events": [{"id": "e", "provider": "x" * 70}]},
        {"events": [[], {}, None]},
        {"events": [], "extra": {"nested": [1, 2]}},
    ]
    for body in odd:
        response = api("post", "/usage", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 200, (body, response.get_data(as_text=True))
    for email in ("%00", "'; DROP TABLE users; --"):
        assert api("get", "/usage/summary", query_string={"user_email": email}).status_code == 404
    too_long = api("get", "/usage/summary", query_string={"user_email": "x" * 5000})
    assert too_long.status_code == 400
    assert too_long.get_json()["error"]["message"] == "user_email is longer than 320 characters"
