"""The app factory and configuration: what a missing or wrong setting does."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from app import create_app
from app.config import ConfigError, load_config, normalize_database_url

PRODUCTION_ENV = {
    "TOKTRA_ENV": "production",
    "DATABASE_URL": "postgres://u:p@db.example:5432/toktra",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "SECRET_KEY": "s3cret",
    "TOKTRA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "PUBLIC_BASE_URL": "https://toktra.example.com/",
    "SLACK_SIGNING_SECRET": "signing",
    "SLACK_CLIENT_ID": "123.456",
    "SLACK_CLIENT_SECRET": "client-secret",
}


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL", "SECRET_KEY", "TOKTRA_ENCRYPTION_KEY",
                                     "PUBLIC_BASE_URL", "SLACK_SIGNING_SECRET"])
def test_production_refuses_to_start_without_a_secret_and_names_it(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        load_config(env)


def test_production_needs_either_oauth_credentials_or_a_bot_token():
    env = {k: v for k, v in PRODUCTION_ENV.items() if not k.startswith("SLACK_CLIENT")}
    with pytest.raises(ConfigError, match="SLACK_CLIENT_ID and SLACK_CLIENT_SECRET .* or SLACK_BOT_TOKEN"):
        load_config(env)
    assert load_config(env | {"SLACK_BOT_TOKEN": "xoxb-1"})["SLACK_BOT_TOKEN"] == "xoxb-1"


def test_production_config_is_complete_and_secure():
    config = load_config(PRODUCTION_ENV)
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example:5432/toktra"
    assert config["PUBLIC_BASE_URL"] == "https://toktra.example.com"
    assert config["SLACK_API_URL"] == "https://slack.com/api/"
    assert config["SESSION_COOKIE_SECURE"] and config["SESSION_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["REMEMBER_COOKIE_SECURE"]


def test_the_factory_reads_the_environment_when_it_is_called(monkeypatch):
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SECRET_KEY")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()
    monkeypatch.setenv("SECRET_KEY", "now-set")
    assert create_app().config["SECRET_KEY"] == "now-set"


def test_an_unusable_encryption_key_is_refused_with_how_to_make_one(monkeypatch):
    monkeypatch.setenv("TOKTRA_ENV", "development")
    with pytest.raises(ConfigError, match="TOKTRA_ENCRYPTION_KEY is not set.*Fernet.generate_key"):
        create_app({"SECRET_KEY": "x", "TOKTRA_ENCRYPTION_KEY": ""})
    with pytest.raises(ConfigError, match="Fernet keys"):
        create_app({"SECRET_KEY": "x", "TOKTRA_ENCRYPTION_KEY": "not-a-key"})


def test_a_bad_environment_name_or_number_is_explained():
    with pytest.raises(ConfigError, match="TOKTRA_ENV must be production, development or test"):
        load_config({"TOKTRA_ENV": "prod"})
    with pytest.raises(ConfigError, match="USAGE_BATCH_MAX_EVENTS must be a whole number"):
        load_config({"TOKTRA_ENV": "test", "USAGE_BATCH_MAX_EVENTS": "lots"})


@pytest.mark.parametrize("url, expected", [
    ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:///toktra.db", "sqlite:///toktra.db"),
])
def test_heroku_style_database_urls_are_accepted(url, expected):
    assert normalize_database_url(url) == expected


def test_slack_api_url_can_point_elsewhere():
    config = load_config({"TOKTRA_ENV": "test", "SLACK_API_URL": "http://127.0.0.1:3999/"})
    assert config["SLACK_API_URL"] == "http://127.0.0.1:3999/"
