"""Installing Toktra in Slack: admin-only OAuth, state checks, encrypted tokens, several workspaces."""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import OAuthState, SlackWorkspace
from app.slack.ingress.oauth import DEFAULT_SCOPES

BASE = "https://localhost"  # the state cookie is Secure, so the browser talks HTTPS


@pytest.fixture
def oauth(app, slack):
    """OAuth mode with the emulator's client id and secret."""
    app.config.update(SLACK_CLIENT_ID=slack.client_id, SLACK_CLIENT_SECRET=slack.client_secret)
    return slack


@pytest.fixture
def signed_in(client, login, admin):
    """The admin's browser, signed in over HTTPS."""
    from tests.conftest import csrf_token_from

    token = csrf_token_from(client.get("/login", base_url=BASE).get_data(as_text=True))
    client.post("/login", base_url=BASE, headers={"Referer": f"{BASE}/login"},  # CSRF checks it on HTTPS
                data={"email": admin.email, "password": "correct horse battery", "csrf_token": token})
    return client


def start_install(client):
    """Click Install to Slack; return Slack's authorize URL query."""
    response = client.get("/integrations/slack/install", base_url=BASE)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "slack.com", "/oauth/v2/authorize")
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def callback(client, **params):
    return client.get("/integrations/slack/oauth/callback", base_url=BASE, query_string=params)


def workspaces():
    db.session.expire_all()
    return db.session.scalars(sa.select(SlackWorkspace).order_by(SlackWorkspace.id)).all()


def test_admins_see_the_install_button(oauth, signed_in):
    page = signed_in.get("/integrations/slack", base_url=BASE).get_data(as_text=True)
    assert "Install to Slack" in page
    assert "No Slack workspace is connected to Globex yet." in page


def test_install_redirects_to_slack_with_exactly_the_spec_scopes(oauth, signed_in, app):
    query = start_install(signed_in)
    assert query["client_id"] == oauth.client_id
    assert query["scope"].split(",") == DEFAULT_SCOPES
    assert query["redirect_uri"] == "http://toktra.test/integrations/slack/oauth/callback"
    assert len(query["state"]) >= 32


def test_operators_can_override_the_scopes(oauth, signed_in, app):
    app.config["SLACK_SCOPES"] = "chat:write,commands"
    assert start_install(signed_in)["scope"] == "chat:write,commands"


def test_a_full_install_stores_the_workspace_for_the_admins_org(oauth, signed_in, admin, org):
    team = oauth.add_team("T0042", "Initech")
    oauth.add_oauth_code("code-1", "T0042")
    state = start_install(signed_in)["state"]
    response = callback(signed_in, code="code-1", state=state)
    assert response.status_code == 200
    assert "Toktra is installed in Initech" in response.get_data(as_text=True)
    [row] = workspaces()
    assert (row.org_id, row.team_id, row.team_name, row.installed_by_id) == (org.id, "T0042", "Initech", admin.id)
    assert row.bot_user_id == team.bot_user_id and row.bot_id == team.bot_id and row.active
    assert row.bot_token == team.bot_token
    assert "chat:write" in row.scopes.split(",")
    page = signed_in.get("/integrations/slack", base_url=BASE).get_data(as_text=True)
    assert "Initech" in page and "Ada Admin" in page and "Active" in page


def test_the_bot_token_is_not_stored_in_plaintext(oauth, signed_in):
    team = oauth.add_team("T0042", "Initech")
    oauth.add_oauth_code("code-1", "T0042")
    callback(signed_in, code="code-1", state=start_install(signed_in)["state"])
    with db.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT * FROM slack_workspaces").mappings().one()
    assert team.bot_token not in " ".join(str(v) for v in raw.values())
    assert raw["bot_token"].startswith("gAAAA")  # a Fernet token


def test_a_second_workspace_adds_a_row_and_a_reinstall_updates_it(oauth, signed_in):
    oauth.add_team("T0042", "Initech")
    oauth.add_team("T0043", "Initrode")
    for n, team_id in enumerate(["T0042", "T0043", "T0042"]):
        oauth.add_oauth_code(f"code-{n}", team_id)
        assert callback(signed_in, code=f"code-{n}", state=start_install(signed_in)["state"]).status_code == 200
    assert [w.team_id for w in workspaces()] == ["T0042", "T0043"]


def test_a_reused_state_is_refused_and_writes_nothing(oauth, signed_in):
    oauth.add_team("T0042", "Initech")
    oauth.add_oauth_code("code-1", "T0042")
    oauth.add_oauth_code("code-2", "T0042")
    state = start_install(signed_in)["state"]
    callback(signed_in, code="code-1", state=state)
    db.session.execute(sa.delete(SlackWorkspace))
    db.session.commit()
    response = callback(signed_in, code="code-2", state=state)
    assert response.status_code == 400
    assert "expired or has already been used" in response.get_data(as_text=True)
    assert workspaces() == []


def test_a_forged_or_missing_state_is_refused(oauth, signed_in):
    oauth.add_team("T0042", "Initech")
    oauth.add_oauth_code("code-1", "T0042")
    start_install(signed_in)
    for params in ({"code": "code-1", "state": "forged-state"}, {"code": "code-1"}):
        response = callback(signed_in, **params)
        assert response.status_code == 400
        assert "Slack was not installed" in response.get_data(as_text=True)
    assert workspaces() == []
    assert oauth.calls_to("oauth.v2.access") == []


def test_an_expired_state_is_refused(oauth, signed_in):
    oauth.add_team("T0042", "Initech")
    oauth.add_oauth_code("code-1", "T0042")
    state = start_install(signed_in)["state"]
    db.session.execute(sa.update(OAuthState).values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    db.session.commit()
    response = callback(signed_in, code="code-1", state=state)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert workspaces() == []


def test_a_state_from_another_browser_is_refused(oauth, signed_in, app):
    oauth.add_team("T0042", "Initech")
    oauth.add_oauth_code("code-1", "T0042")
    state = start_install(signed_in)["state"]
    other_browser = app.test_client()
    response = callback(other_browser, code="code-1", state=state)
    assert response.status_code == 400
    assert "started in another browser" in response.get_data(as_text=True)
    assert workspaces() == []


def test_a_denied_authorization_says_so_and_writes_nothing(oauth, signed_in):
    state = start_install(signed_in)["state"]
    response = callback(signed_in, error="access_denied", state=state)
    assert response.status_code == 200
    assert "cancelled in Slack" in response.get_data(as_text=True)
    assert workspaces() == []


def test_a_bad_code_is_refused(oauth, signed_in):
    response = callback(signed_in, code="never-issued", state=start_install(signed_in)["state"])
    assert response.status_code == 400
    assert "did not accept the authorization code" in response.get_data(as_text=True)
    assert workspaces() == []


def test_a_workspace_of_another_organization_is_not_taken_over(oauth, signed_in, make_user):
    from app.services.accounts import create_organization

    other_org = create_organization("Umbrella")
    db.session.add(SlackWorkspace(org_id=other_org.id, team_id="T0042", team_name="Initech", scopes=""))
    db.session.commit()
    oauth.add_team("T0042", "Initech")
    oauth.add_oauth_code("code-1", "T0042")
    response = callback(signed_in, code="code-1", state=start_install(signed_in)["state"])
    assert response.status_code == 409
    assert "already connected to another Toktra organization" in response.get_data(as_text=True)
    [row] = workspaces()
    assert row.org_id == other_org.id


def test_members_cannot_install(oauth, client, login, member):
    login(member)
    response = client.get("/integrations/slack/install")
    assert response.status_code == 403
    assert "Install to Slack" not in client.get("/integrations/slack").get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(oauth, client):
    response = client.get("/integrations/slack/install")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_without_oauth_credentials_the_page_says_what_to_set(slack, signed_in):
    response = signed_in.get("/integrations/slack/install", base_url=BASE)
    assert response.status_code == 503
    assert "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET" in response.get_data(as_text=True)
