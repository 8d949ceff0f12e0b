"""`flask toktra create-org / create-user / create-api-key / seed-demo` as an operator uses them."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Alert, ApiKey, Organization, ReimbursementRequest, UsageRecord, User
from app.services.accounts import find_user
from app.services.periods import current_period, period_for
from app.services.usage import usage_summary
from tests.conftest import csrf_token_from

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def toktra(runner):
    """Run `flask toktra <args>` and return the click result."""

    def run(*args):
        return runner.invoke(args=["toktra", *args])

    return run


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def assert_usage_error(result, *words):
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


# --- create-org -------------------------------------------------------------------------------

def test_create_org_prints_the_new_organizations_id(toktra):
    result = toktra("create-org", "--name", "Initech")
    assert result.exit_code == 0, result.output
    org = db.session.get(Organization, int(result.output.strip()))
    assert result.output == f"{org.id}\n"
    assert (org.name, org.monthly_budget_usd, org.alert_threshold_pct, org.timezone) == ("Initech", None, 80, "UTC")


def test_create_org_with_budget_threshold_and_timezone(toktra):
    result = toktra("create-org", "--name", "Maison", "--monthly-budget", "12500.50",
                    "--alert-threshold", "75", "--timezone", "Europe/Paris")
    assert result.exit_code == 0, result.output
    org = db.session.get(Organization, int(result.output))
    assert org.monthly_budget_usd == Decimal("12500.50")
    assert org.alert_threshold_pct == 75
    assert org.timezone == "Europe/Paris"


@pytest.mark.parametrize("args,words", [
    (["--monthly-budget", "abc"], ["Invalid value for '--monthly-budget'", "decimal"]),
    (["--monthly-budget", "-5"], ["Invalid value for '--monthly-budget'", "between 0 and"]),
    (["--monthly-budget", "10.001"], ["Invalid value for '--monthly-budget'", "at most 2 decimals"]),
    (["--alert-threshold", "0"], ["Invalid value for '--alert-threshold'", "1 to 100"]),
    (["--alert-threshold", "101"], ["Invalid value for '--alert-threshold'", "1 to 100"]),
    (["--alert-threshold", "half"], ["Invalid value for '--alert-threshold'", "whole number"]),
    (["--alert-threshold", "50.5"], ["Invalid value for '--alert-threshold'", "whole number"]),
    (["--timezone", "Mars/Olympus_Mons"], ["unknown timezone 'Mars/Olympus_Mons'", "Europe/Paris"]),
    (["--timezone", "America"], ["unknown timezone 'America'"]),
    (["--timezone", ""], ["unknown timezone"]),
    (["--timezone", "../../etc/passwd"], ["unknown timezone"]),
])
def test_create_org_refuses_bad_values_with_a_clear_error(toktra, args, words):
    assert_usage_error(toktra("create-org", "--name", "Initech", *args), *words)
    assert count(Organization) == 0


def test_create_org_needs_a_name(toktra):
    assert_usage_error(toktra("create-org"), "Missing option '--name'")
    assert_usage_error(toktra("create-org", "--name", "   "), "needs a name")
    assert count(Organization) == 0


# --- create-user ------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["admin", "manager", "member"])
def test_create_user_with_each_role(toktra, org, role):
    result = toktra("create-user", "--org", str(org.id), "--email", f"{role}@globex.example",
                    "--name", f"The {role.title()}", "--role", role)
    assert result.exit_code == 0, result.output
    user = find_user(f"{role}@globex.example")
    assert result.output == f"Created {role} {role}@globex.example (id {user.id}) in Globex.\n"
    assert (user.org_id, user.role, user.name) == (org.id, role, f"The {role.title()}")
    assert user.password_hash is None  # no password given: cannot sign in to the dashboard


def test_create_user_finds_the_org_by_name_and_links_the_manager(toktra, org):
    assert toktra("create-user", "--org", "Globex", "--email", "boss@globex.example", "--name", "Bea Boss",
                  "--role", "manager").exit_code == 0
    result = toktra("create-user", "--org", "Globex", "--email", "Carl@Globex.Example", "--name", "Carl",
                    "--role", "member", "--manager", "BOSS@globex.example")
    assert result.exit_code == 0, result.output
    carl = find_user("carl@globex.example")
    assert carl.email == "carl@globex.example"
    assert carl.manager.email == "boss@globex.example"


def test_a_user_created_with_a_password_can_sign_in(toktra, org, login):
    result = toktra("create-user", "--org", "Globex", "--email", "dana@globex.example", "--name", "Dana",
                    "--role", "admin", "--password", "a long passphrase")
    assert result.exit_code == 0, result.output
    response = login("dana@globex.example", "a long passphrase")
    assert response.status_code == 302 and response.headers["Location"] == "/"


@pytest.mark.parametrize("args,words", [
    (["--org", "Nope"], ["Invalid value for --org", "no organization with id or name 'Nope'"]),
    (["--org", "999"], ["no organization with id or name '999'"]),
    (["--org", "99999999999999999999"], ["no organization with id or name '99999999999999999999'"]),
    (["--email", "not-an-email"], ["'not-an-email' is not a valid email address"]),
    (["--email", "alice@globex.example"], ["a user with email alice@globex.example already exists"]),
    (["--email", "ALICE@Globex.example"], ["a user with email alice@globex.example already exists"]),
    (["--role", "owner"], ["Invalid value for '--role'", "'admin', 'manager', 'member'"]),
    (["--manager", "ghost@globex.example"], ["no user with email ghost@globex.example in Globex to be the manager"]),
    (["--manager", "peter@initech.example"], ["no user with email peter@initech.example in Globex"]),
    (["--password", "short"], ["at least 8 characters"]),
])
def test_create_user_refuses_bad_input_with_a_clear_error(toktra, org, member, args, words):
    toktra("create-org", "--name", "Initech")
    assert toktra("create-user", "--org", "Initech", "--email", "peter@initech.example", "--name", "Peter",
                  "--role", "member").exit_code == 0
    before = count(User)
    options = {"--org": "Globex", "--email": "new@globex.example", "--name": "New Person", "--role": "member"}
    options.update(dict(zip(args[::2], args[1::2])))
    result = toktra("create-user", *[part for pair in options.items() for part in pair])
    assert_usage_error(result, *words)
    assert count(User) == before


def test_create_user_needs_its_required_options(toktra, org):
    assert_usage_error(toktra("create-user", "--org", "Globex", "--email", "x@globex.example", "--name", "X"),
                       "Missing option '--role'")


# --- create-api-key ---------------------------------------------------------------------------

def test_create_api_key_prints_a_key_once_and_stores_only_its_hash(toktra, org, client):
    result = toktra("create-api-key", "--org", "Globex", "--name", "billing export")
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    assert result.output == key + "\n"
    assert re.fullmatch(r"tok_[0-9a-f]{8}_[A-Za-z0-9_-]{40,}", key)
    secret = key.split("_", 2)[2]

    rows = db.session.execute(sa.text("SELECT * FROM api_keys")).mappings().all()
    assert len(rows) == 1
    row = rows[0]
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert row["name"] == "billing export" and row["org_id"] == org.id and row["revoked_at"] is None
    for column, value in row.items():
        assert key not in str(value), column
        assert secret not in str(value), column

    response = client.get("/api/v1/budget", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.get_json()["monthly_limit_usd"] == "10000.00"


def test_each_api_key_is_different_and_works_for_its_own_org(toktra, org, client):
    initech_id = toktra("create-org", "--name", "Initech", "--monthly-budget", "42").output.strip()
    first = toktra("create-api-key", "--org", str(org.id), "--name", "one").output.strip()
    second = toktra("create-api-key", "--org", initech_id, "--name", "two").output.strip()
    assert first != second
    budgets = [client.get("/api/v1/budget", headers={"Authorization": f"Bearer {k}"}).get_json()["monthly_limit_usd"]
               for k in (first, second)]
    assert budgets == ["10000.00", "42.00"]
    assert count(ApiKey) == 2


def test_create_api_key_for_an_unknown_org_is_refused(toktra, org):
    assert_usage_error(toktra("create-api-key", "--org", "Umbrella", "--name", "x"), "no organization")
    assert count(ApiKey) == 0


# --- seed-demo --------------------------------------------------------------------------------

SIGN_IN = re.compile(r"Sign in at (\S+)/login as (\S+) with password '([^']+)'\.")


def demo_counts() -> dict:
    return {model.__name__: count(model) for model in (Organization, User, UsageRecord, Alert, ReimbursementRequest)}


def test_seed_demo_builds_a_realistic_organization_and_prints_how_to_sign_in(toktra, client, login):
    result = toktra("seed-demo")
    assert result.exit_code == 0, result.output
    assert "Demo organization 'Acme Corp (demo)' created" in result.output
    base, email, password = SIGN_IN.search(result.output).groups()
    assert (base, password) == ("http://toktra.test", "toktra-demo")

    org = db.session.scalar(sa.select(Organization).where(Organization.name == "Acme Corp (demo)"))
    people = db.session.scalars(sa.select(User).where(User.org_id == org.id)).all()
    roles = sorted(u.role for u in people)
    assert roles.count("admin") == 1 and roles.count("manager") == 1 and roles.count("member") >= 2
    admin = next(u for u in people if u.role == "admin")
    manager = next(u for u in people if u.role == "manager")
    assert admin.email == email
    assert all(u.manager_id == manager.id for u in people if u.role == "member")

    this_month = current_period(org.timezone)
    last_key = (this_month.starts_at - dt.timedelta(days=1)).strftime("%Y-%m")
    for period in (this_month, period_for(last_key, org.timezone)):
        summary = usage_summary(org, period=period)
        assert {p.name for p in summary.providers} == {"OpenAI", "Anthropic"}, period.key
        assert summary.total.cost_usd > 0 and summary.total.tokens > 0
    assert db.session.scalar(sa.select(sa.func.max(UsageRecord.occurred_at))) <= dt.datetime.now(dt.timezone.utc)

    severities = db.session.scalars(sa.select(Alert.severity).where(Alert.org_id == org.id)).all()
    assert sorted(set(severities)) == ["critical", "high", "low", "medium"]
    requests = db.session.scalars(sa.select(ReimbursementRequest).where(ReimbursementRequest.org_id == org.id)).all()
    assert [r.status for r in requests] == ["pending"]
    assert requests[0].approver_id == manager.id

    response = login(email, password)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Priya Patel" in client.get("/").get_data(as_text=True)


def test_seed_demo_twice_leaves_the_demo_as_it_is(toktra, login):
    assert toktra("seed-demo").exit_code == 0
    before = demo_counts()
    again = toktra("seed-demo")
    assert again.exit_code == 0, again.output
    assert "already exists" in again.output and "left as it is" in again.output
    assert demo_counts() == before
    _, email, password = SIGN_IN.search(again.output).groups()
    assert login(email, password).status_code == 302


def test_seed_demo_with_a_chosen_password_signs_in_with_that_password(app, toktra, login):
    result = toktra("seed-demo", "--password", "open sesame 42")
    assert result.exit_code == 0, result.output
    _, email, password = SIGN_IN.search(result.output).groups()
    assert password == "open sesame 42"
    assert login(email, "toktra-demo").status_code == 401
    assert login(email, password).status_code == 302

    # Every demo account shares the password: a member signs in from another browser.
    browser = app.test_client()
    token = csrf_token_from(browser.get("/login").get_data(as_text=True))
    response = browser.post("/login", data={"email": "alice@acme.example", "password": password, "csrf_token": token})
    assert response.status_code == 302


def test_seed_demo_with_a_too_short_password_builds_nothing(toktra):
    assert_usage_error(toktra("seed-demo", "--password", "short"), "at least 8 characters")
    assert count(Organization) == 0
    result = toktra("seed-demo")
    assert "created" in result.output and count(User) == 5


def test_seed_demo_does_not_half_build_when_a_demo_email_is_taken(toktra, org, make_user):
    make_user("admin@acme.example", role="admin")
    assert_usage_error(toktra("seed-demo"), "admin@acme.example already exists")
    assert count(Organization) == 1


# --- the real command line ----------------------------------------------------------------------

def test_the_documented_command_line_works(app):
    env = {**os.environ, "TOKTRA_ENV": "test", "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "SECRET_KEY": "x" * 32, "TOKTRA_ENCRYPTION_KEY": app.config["TOKTRA_ENCRYPTION_KEY"],
           "REDIS_URL": app.config["REDIS_URL"]}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "toktra"]
    done = subprocess.run([*flask, "create-org", "--name", "Cli Corp", "--timezone", "Asia/Tokyo"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    org = db.session.get(Organization, int(done.stdout.strip()))
    assert (org.name, org.timezone) == ("Cli Corp", "Asia/Tokyo")
    help_text = subprocess.run([*flask, "--help"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    for command in ("create-org", "create-user", "create-api-key", "seed-demo"):
        assert command in help_text.stdout
