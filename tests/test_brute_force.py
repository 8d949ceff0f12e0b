"""Brute force: refused sign-ins and refused API keys are limited per address and per account, with 429 and Retry-After.

The limits are made small here so they are hit deterministically; only refused credentials count.
"""
from __future__ import annotations

import html
import secrets

import pytest

from app.services.accounts import create_api_key
from tests.conftest import TEST_PASSWORD, csrf_token_from

HERE, ELSEWHERE = {"REMOTE_ADDR": "127.0.0.2"}, {"REMOTE_ADDR": "127.0.0.3"}


def sign_in(client, email, password, environ=HERE):
    token = csrf_token_from(client.get("/login", environ_base=environ).get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base=environ)


def assert_retry_after(response, window_seconds=900):
    assert 1 <= int(response.headers["Retry-After"]) <= window_seconds + 1  # the window's end, rounded up


def test_successful_sign_ins_never_count(app, client, member):
    app.config["SIGN_IN_FAILURES_PER_ADDRESS"] = "2 per 15 minutes"
    app.config["SIGN_IN_FAILURES_PER_ACCOUNT"] = "2 per 15 minutes"
    for _ in range(5):
        assert sign_in(app.test_client(), member.email, TEST_PASSWORD).status_code == 302


def test_too_many_refused_sign_ins_from_one_address_get_429_with_retry_after(app, client, member, admin):
    app.config["SIGN_IN_FAILURES_PER_ADDRESS"] = "3 per 15 minutes"
    for email in ("a@globex.example", "b@globex.example", member.email):
        assert sign_in(client, email, "wrong password").status_code == 401
    refused = sign_in(client, admin.email, TEST_PASSWORD)  # even right credentials wait now
    assert refused.status_code == 429
    assert_retry_after(refused)
    page = html.unescape(refused.get_data(as_text=True))
    assert "Too many failed attempts from here; wait 15 minutes and try again." in page
    assert sign_in(client, admin.email, TEST_PASSWORD, ELSEWHERE).status_code == 302


def test_too_many_refused_sign_ins_for_one_account_get_429_from_any_address(app, client, member, admin):
    app.config["SIGN_IN_FAILURES_PER_ACCOUNT"] = "2 per 15 minutes"
    assert sign_in(client, member.email, "guess 1").status_code == 401
    assert sign_in(client, member.email.upper(), "guess 2", ELSEWHERE).status_code == 401
    refused = sign_in(client, member.email, TEST_PASSWORD, {"REMOTE_ADDR": "127.0.0.4"})
    assert refused.status_code == 429
    assert_retry_after(refused)
    assert sign_in(client, admin.email, TEST_PASSWORD, {"REMOTE_ADDR": "127.0.0.4"}).status_code == 302


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def forged(key):
    """A key with the real public prefix and a guessed secret."""
    return key.rsplit("_", 1)[0] + "_" + secrets.token_urlsafe(32)


def test_too_many_refused_api_keys_from_one_address_get_a_json_429(app, client, api_key):
    app.config["API_KEY_FAILURES_PER_ADDRESS"] = "3 per 15 minutes"
    for _ in range(3):
        guess = f"tok_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
        assert client.get("/api/v1/budget", headers=bearer(guess), environ_base=HERE).status_code == 401
    refused = client.get("/api/v1/budget", headers=bearer(api_key), environ_base=HERE)
    assert refused.status_code == 429
    assert_retry_after(refused)
    error = refused.get_json()["error"]
    assert error["status"] == 429
    assert error["message"].startswith("Too many failed attempts from here; wait 15 minutes and try again.")
    assert client.get("/api/v1/budget", headers=bearer(api_key), environ_base=ELSEWHERE).status_code == 200


def test_too_many_guesses_at_one_api_key_get_429_from_any_address_while_other_keys_work(app, client, org, api_key):
    app.config["API_KEY_FAILURES_PER_KEY"] = "2 per 15 minutes"
    for n in range(2):
        environ = {"REMOTE_ADDR": f"127.0.1.{n + 1}"}
        assert client.get("/api/v1/budget", headers=bearer(forged(api_key)), environ_base=environ).status_code == 401
    refused = client.get("/api/v1/budget", headers=bearer(api_key), environ_base=ELSEWHERE)
    assert refused.status_code == 429
    assert_retry_after(refused)
    other_key = create_api_key(org, "other")[1]
    assert client.get("/api/v1/budget", headers=bearer(other_key), environ_base=ELSEWHERE).status_code == 200


def test_requests_with_a_good_key_never_count(app, client, api_key):
    app.config["API_KEY_FAILURES_PER_ADDRESS"] = "2 per 15 minutes"
    app.config["API_KEY_FAILURES_PER_KEY"] = "2 per 15 minutes"
    for _ in range(6):
        assert client.get("/api/v1/budget", headers=bearer(api_key), environ_base=HERE).status_code == 200
    # A refused body is not a refused key.
    for _ in range(3):
        assert client.put("/api/v1/budget", headers=bearer(api_key), json={"x": 1}, environ_base=HERE).status_code == 400


@pytest.mark.parametrize("name", ["SIGN_IN_FAILURES_PER_ACCOUNT", "API_KEY_FAILURES_PER_KEY"])
def test_a_limit_setting_that_does_not_parse_stops_start_up_naming_it(name, encryption_key, migrated_database):
    from app import create_app
    from app.config import ConfigError
    from tests.conftest import make_overrides

    with pytest.raises(ConfigError, match=f"{name} must be a limit such as '10 per 15 minutes', got 'often'"):
        create_app(make_overrides(migrated_database, encryption_key, **{name: "often"}))


def test_with_redis_down_sign_in_still_works_without_limits(migrated_database, encryption_key, member):
    from app import create_app
    from tests.conftest import FreshContextClient, make_overrides

    app = create_app(make_overrides(migrated_database, encryption_key, REDIS_URL="redis://127.0.0.1:1/0",
                                    SIGN_IN_FAILURES_PER_ADDRESS="1 per 15 minutes"))
    app.test_client_class = FreshContextClient
    client = app.test_client()
    for _ in range(3):
        assert sign_in(client, member.email, "wrong password").status_code == 401
    assert sign_in(client, member.email, TEST_PASSWORD).status_code == 302


def test_behind_a_router_each_client_is_limited_by_its_own_forwarded_address(migrated_database, encryption_key,
                                                                              api_key):
    from app import create_app
    from tests.conftest import FreshContextClient, make_overrides

    app = create_app(make_overrides(migrated_database, encryption_key, TRUSTED_PROXY_HOPS=1,
                                    API_KEY_FAILURES_PER_ADDRESS="2 per 15 minutes"))
    app.test_client_class = FreshContextClient
    client = app.test_client()

    def call(key, client_address):
        return client.get("/api/v1/budget", headers={**bearer(key), "X-Forwarded-For": client_address},
                          environ_base={"REMOTE_ADDR": "127.0.0.9"})  # every request arrives from the router

    for _ in range(2):
        assert call("tok_deadbeef_guess", "198.51.100.7").status_code == 401
    assert call(api_key, "198.51.100.7").status_code == 429
    assert call(api_key, "203.0.113.5").status_code == 200
