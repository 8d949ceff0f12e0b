"""Integrations → ITSM: the admin page for ServiceNow and Jira connectors, and the test-connection job."""
from __future__ import annotations

import json
import re

import pytest
import responses
import sqlalchemy as sa

from app.extensions import db
from app.models import ItsmConnector
from tests.conftest import csrf_token_from, fresh

PAGE = "/integrations/itsm"
JIRA = "https://acme.atlassian.net"
SECRETS = ("s3cret-password", "oauth-token-xyz", "atlassian-api-token", "jira-pat-123")

SERVICENOW_FORM = {"name": "", "base_url": "https://acme.service-now.com/", "auth": "basic",
                   "username": "toktra.bot", "password": "s3cret-password", "token": "",
                   "assignment_group": "Security Operations"}
JIRA_CLOUD_FORM = {"name": "Security tickets", "base_url": JIRA, "email": "ada@acme.example",
                   "api_token": "atlassian-api-token", "project": "ops", "issue_type": ""}
JIRA_SERVER_FORM = {"name": "", "base_url": "https://jira.acme.example/jira", "token": "jira-pat-123",
                    "project": "OPS", "issue_type": "Bug"}


@pytest.fixture
def signed_in(client, login, admin):
    login(admin)
    return client


def post(client, path, data, source=PAGE):
    """POST a form with the CSRF token a browser would send."""
    token = csrf_token_from(client.get(source).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def connectors() -> list[ItsmConnector]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(ItsmConnector).order_by(ItsmConnector.id)))


def raw_table() -> str:
    """Every column of every connector row as the database stores it."""
    rows = db.session.execute(sa.text("SELECT * FROM itsm_connectors")).all()
    return json.dumps([[str(v) for v in row] for row in rows])


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").replace("&#34;", '"').split())


def add(client, kind, form):
    return post(client, f"{PAGE}/new/{kind}", form, source=f"{PAGE}/new/{kind}")


def jira_connector(org, **overrides) -> ItsmConnector:
    values = {"org_id": org.id, "kind": "jira_cloud", "name": "Jira OPS", "base_url": JIRA, "project": "OPS",
              "issue_type": "Task",
              "credentials": json.dumps({"email": "ada@acme.example", "api_token": "atlassian-api-token"}),
              **overrides}
    connector = ItsmConnector(**values)
    db.session.add(connector)
    db.session.commit()
    return connector


# --------------------------------------------------------------------------------------------- access


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in (PAGE, f"{PAGE}/new/jira_cloud"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ["member", "manager"])
def test_only_admins_can_see_or_change_connectors(client, login, make_user, org, role):
    connector = jira_connector(org)
    login(make_user(f"{role}@globex.example", role=role))
    for path in (PAGE, f"{PAGE}/new/jira_cloud", f"{PAGE}/{connector.id}/edit"):
        assert client.get(path).status_code == 403, path
    token = csrf_token_from(client.get("/settings").get_data(as_text=True))
    for action in ("test", "deactivate", "activate", "delete", "edit"):
        path = f"{PAGE}/{connector.id}/{action}"
        assert client.post(path, data={"csrf_token": token, **JIRA_CLOUD_FORM}).status_code == 403, path
    assert client.post(f"{PAGE}/new/jira_cloud", data={"csrf_token": token, **JIRA_CLOUD_FORM}).status_code == 403
    assert "ITSM" not in client.get("/").get_data(as_text=True)
    assert len(connectors()) == 1 and fresh(connector).active


def test_the_page_is_in_the_navigation_and_starts_empty(signed_in):
    html = signed_in.get(PAGE).get_data(as_text=True)
    nav = html.split('<nav class="nav"', 1)[1].split("</nav>", 1)[0]
    assert f'<a href="{PAGE}" class="active">ITSM</a>' in nav
    assert "No ITSM connector yet" in html
    for kind in ("servicenow", "jira_cloud", "jira_server"):
        assert f'href="{PAGE}/new/{kind}"' in html
    assert signed_in.get(f"{PAGE}/new/zendesk").status_code == 404


# ------------------------------------------------------------------------------------------------ add


def test_add_a_servicenow_connector_with_username_and_password(signed_in):
    html = signed_in.get(f"{PAGE}/new/servicenow").get_data(as_text=True)
    for field in ("base_url", "username", "password", "token", "assignment_group"):
        assert f'name="{field}"' in html, field
    assert 'name="project"' not in html and 'name="api_token"' not in html

    response = add(signed_in, "servicenow", SERVICENOW_FORM)

    assert response.status_code == 303
    (c,) = connectors()
    assert (c.kind, c.name, c.base_url, c.project, c.issue_type, c.active) == (
        "servicenow", "ServiceNow Security Operations", "https://acme.service-now.com", "Security Operations",
        None, True)
    assert json.loads(c.credentials) == {"username": "toktra.bot", "password": "s3cret-password"}
    assert "s3cret-password" not in raw_table()
    html = signed_in.get(PAGE).get_data(as_text=True)
    assert "s3cret-password" not in html
    assert "Added ServiceNow Security Operations. Click Test connection to check it." in html
    row = html.split(f'id="connector-{c.id}"', 1)[1].split("</tr>", 1)[0]
    assert "ServiceNow" in row and "https://acme.service-now.com" in row and "Security Operations" in row
    assert "Active" in row and "Not tested yet" in row


def test_add_a_servicenow_connector_with_an_oauth_token(signed_in):
    form = {**SERVICENOW_FORM, "auth": "oauth", "username": "", "password": "", "token": "oauth-token-xyz",
            "assignment_group": ""}
    assert add(signed_in, "servicenow", form).status_code == 303
    (c,) = connectors()
    assert json.loads(c.credentials) == {"token": "oauth-token-xyz"}
    assert (c.name, c.project) == ("ServiceNow", None)
    assert "oauth-token-xyz" not in raw_table()


def test_add_a_jira_cloud_connector(signed_in):
    html = signed_in.get(f"{PAGE}/new/jira_cloud").get_data(as_text=True)
    assert 'name="issue_type" value="Task"' in html  # the default issue type
    assert 'name="email"' in html and 'name="api_token"' in html and 'name="username"' not in html

    assert add(signed_in, "jira_cloud", JIRA_CLOUD_FORM).status_code == 303

    (c,) = connectors()
    assert (c.kind, c.name, c.base_url, c.project, c.issue_type) == (
        "jira_cloud", "Security tickets", JIRA, "OPS", "Task")
    assert json.loads(c.credentials) == {"email": "ada@acme.example", "api_token": "atlassian-api-token"}
    assert "atlassian-api-token" not in raw_table()
    assert "atlassian-api-token" not in signed_in.get(PAGE).get_data(as_text=True)


def test_add_a_jira_server_connector(signed_in):
    assert add(signed_in, "jira_server", JIRA_SERVER_FORM).status_code == 303
    (c,) = connectors()
    assert (c.kind, c.name, c.base_url, c.project, c.issue_type) == (
        "jira_server", "Jira Server OPS", "https://jira.acme.example/jira", "OPS", "Bug")
    assert json.loads(c.credentials) == {"token": "jira-pat-123"}
    assert "jira-pat-123" not in raw_table()


@pytest.mark.parametrize("kind, form, field, message", [
    ("jira_cloud", {**JIRA_CLOUD_FORM, "base_url": ""}, "base_url",
     "Enter the site URL, such as https://acme.atlassian.net."),
    ("jira_cloud", {**JIRA_CLOUD_FORM, "base_url": "acme.atlassian.net"}, "base_url",
     "Enter the full site URL, starting with https://."),
    ("jira_cloud", {**JIRA_CLOUD_FORM, "base_url": "https://ada:pw@acme.atlassian.net"}, "base_url",
     "Put the credentials in their own fields, not in the site URL."),
    ("jira_cloud", {**JIRA_CLOUD_FORM, "email": "not-an-email"}, "email",
     "Enter the Atlassian account's email address."),
    ("jira_cloud", {**JIRA_CLOUD_FORM, "api_token": ""}, "api_token", "Enter the API token."),
    ("jira_cloud", {**JIRA_CLOUD_FORM, "project": ""}, "project",
     "Enter the key of the Jira project tickets go to, such as OPS."),
    ("jira_cloud", {**JIRA_CLOUD_FORM, "project": "my project"}, "project",
     "Enter the project's key, such as OPS: letters, digits and _, starting with a letter."),
    ("jira_server", {**JIRA_SERVER_FORM, "token": ""}, "token", "Enter a personal access token."),
    ("servicenow", {**SERVICENOW_FORM, "username": ""}, "username",
     "Enter the ServiceNow username Toktra signs in as."),
    ("servicenow", {**SERVICENOW_FORM, "password": ""}, "password", "Enter the password."),
    ("servicenow", {**SERVICENOW_FORM, "auth": "oauth"}, "token", "Enter the OAuth token."),
])
def test_mistakes_are_explained_next_to_the_field(signed_in, kind, form, field, message):
    response = add(signed_in, kind, form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    after_field = html.split(f'name="{field}"', 1)[1].split("<label", 1)[0]
    assert message in text_of(after_field)
    assert connectors() == []
    for secret in SECRETS:  # what was typed into a secret field is not sent back either
        assert f'value="{secret}"' not in html


def test_https_is_required_in_production(app, signed_in):
    app.config["TOKTRA_ENV"] = "production"
    response = add(signed_in, "jira_cloud", {**JIRA_CLOUD_FORM, "base_url": "http://acme.atlassian.net"})
    assert response.status_code == 400
    assert "The site URL must start with https:// so that credentials are sent encrypted." in \
        text_of(response.get_data(as_text=True))
    assert connectors() == []

    app.config["TOKTRA_ENV"] = "development"
    assert add(signed_in, "jira_cloud", {**JIRA_CLOUD_FORM, "base_url": "http://jira.local:8080"}).status_code == 303
    assert connectors()[0].base_url == "http://jira.local:8080"


# ----------------------------------------------------------------------------------------------- edit


def test_edit_shows_no_secret_and_a_blank_secret_keeps_the_stored_one(signed_in):
    add(signed_in, "jira_cloud", JIRA_CLOUD_FORM)
    (c,) = connectors()
    edit = f"{PAGE}/{c.id}/edit"

    html = signed_in.get(edit).get_data(as_text=True)
    assert "atlassian-api-token" not in html
    assert re.search(r'<input type="password" id="api_token" name="api_token" value=""', html)
    assert "Leave blank to keep the stored api token." in html
    assert 'value="ada@acme.example"' in html and 'value="OPS"' in html  # non-secret fields are filled in

    response = post(signed_in, edit, {**JIRA_CLOUD_FORM, "api_token": "", "issue_type": "Bug",
                                      "name": "Jira Ops"}, source=edit)

    assert response.status_code == 303
    c = fresh(c)
    assert (c.name, c.issue_type) == ("Jira Ops", "Bug")
    assert json.loads(c.credentials) == {"email": "ada@acme.example", "api_token": "atlassian-api-token"}

    # A new secret replaces the stored one.
    post(signed_in, edit, {**JIRA_CLOUD_FORM, "api_token": "rotated-token"}, source=edit)
    assert json.loads(fresh(c).credentials)["api_token"] == "rotated-token"


def test_a_stored_secret_never_follows_a_changed_url_or_account(signed_in):
    add(signed_in, "jira_cloud", JIRA_CLOUD_FORM)
    add(signed_in, "servicenow", SERVICENOW_FORM)
    jira, snow = connectors()

    response = post(signed_in, f"{PAGE}/{jira.id}/edit", {**JIRA_CLOUD_FORM, "base_url": "https://evil.example",
                                                           "api_token": ""}, source=f"{PAGE}/{jira.id}/edit")
    assert response.status_code == 400
    assert "Enter the API token again: the URL changed." in text_of(response.get_data(as_text=True))
    response = post(signed_in, f"{PAGE}/{jira.id}/edit", {**JIRA_CLOUD_FORM, "email": "eve@acme.example",
                                                           "api_token": ""}, source=f"{PAGE}/{jira.id}/edit")
    assert response.status_code == 400
    assert "Enter the API token for the new email." in text_of(response.get_data(as_text=True))
    assert fresh(jira).base_url == JIRA

    # ServiceNow: switching to a token needs the token; keeping basic auth keeps the password.
    edit = f"{PAGE}/{snow.id}/edit"
    html = signed_in.get(edit).get_data(as_text=True)
    assert 'value="toktra.bot"' in html and "s3cret-password" not in html
    response = post(signed_in, edit, {**SERVICENOW_FORM, "auth": "oauth", "password": ""}, source=edit)
    assert response.status_code == 400
    assert post(signed_in, edit, {**SERVICENOW_FORM, "password": "", "assignment_group": ""},
                source=edit).status_code == 303
    snow = fresh(snow)
    assert json.loads(snow.credentials) == {"username": "toktra.bot", "password": "s3cret-password"}
    assert snow.project is None


def test_connectors_of_another_organization_are_out_of_reach(signed_in):
    from decimal import Decimal

    from app.services.accounts import create_organization

    other = create_organization("Initech", Decimal("100"), 80, "UTC")
    theirs = jira_connector(other, name="Initech Jira")
    assert "Initech Jira" not in signed_in.get(PAGE).get_data(as_text=True)
    assert signed_in.get(f"{PAGE}/{theirs.id}/edit").status_code == 404
    for action in ("test", "deactivate", "delete"):
        assert post(signed_in, f"{PAGE}/{theirs.id}/{action}", {}).status_code == 404
    assert fresh(theirs).active


# ------------------------------------------------------------------------------------- test connection


def test_test_connection_runs_as_a_job_and_the_page_shows_the_result(signed_in, org, queue, run_worker):
    connector = jira_connector(org)

    with responses.RequestsMock(assert_all_requests_are_fired=True) as http:
        response = post(signed_in, f"{PAGE}/{connector.id}/test", {})
        assert response.status_code == 303
        (job,) = queue.jobs
        assert (job.func_name, job.kwargs) == ("jobs.itsm.test_connector", {"connector_id": connector.id})
        html = signed_in.get(PAGE).get_data(as_text=True)
        assert "Testing the connection to Jira OPS…" in html
        assert "Testing…" in html
        assert len(http.calls) == 0  # the web process never calls Jira

        http.get(f"{JIRA}/rest/api/3/myself", json={
            "accountId": "5b10a2844c20165700ede21g", "displayName": "Ada Lovelace", "active": True})
        http.get(f"{JIRA}/rest/api/3/project/OPS", json={
            "id": "10000", "key": "OPS", "name": "Operations",
            "issueTypes": [{"id": "10001", "name": "Task", "subtask": False}, {"id": "10002", "name": "Bug"}]})
        run_worker()

    connector = fresh(connector)
    assert (connector.last_test_ok, connector.last_test_result) == (
        True, "Connected to Jira project OPS as Ada Lovelace.")
    assert connector.last_test_at is not None
    row = signed_in.get(PAGE).get_data(as_text=True).split(f'id="connector-{connector.id}"', 1)[1].split("</tr>")[0]
    assert '<span class="badge badge-ok">OK</span>' in row
    assert "Connected to Jira project OPS as Ada Lovelace." in row
    assert "Testing…" not in row


def test_a_failing_test_is_shown_in_words(signed_in, org, queue, run_worker):
    connector = jira_connector(org)
    post(signed_in, f"{PAGE}/{connector.id}/test", {})

    with responses.RequestsMock(assert_all_requests_are_fired=True) as http:
        http.get(f"{JIRA}/rest/api/3/myself", status=401,
                 body="Client must be authenticated to access this resource.", content_type="text/html")
        run_worker()

    row = signed_in.get(PAGE).get_data(as_text=True).split(f'id="connector-{connector.id}"', 1)[1].split("</tr>")[0]
    assert '<span class="badge badge-bad">Failed</span>' in row
    assert "Jira rejected the credentials (401): check the email and API token." in row
    assert "atlassian-api-token" not in row
    assert fresh(connector).last_test_ok is False


def test_the_job_records_a_connector_it_cannot_even_build_a_client_for(app, org):
    from jobs.itsm import test_connector

    connector = jira_connector(org, credentials="not json")
    assert test_connector(connector.id) == ("The Jira Cloud connector's credentials are not a valid JSON object; "
                                           "enter them again.")
    assert fresh(connector).last_test_ok is False
    assert test_connector(999) == "connector gone"


def test_a_down_queue_is_explained_not_a_500(app, signed_in, org):
    connector = jira_connector(org)
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there: Redis is down
    app.extensions.pop("toktra.redis.fast", None)
    assert post(signed_in, f"{PAGE}/{connector.id}/test", {}).status_code == 303
    assert ("Toktra&#39;s job queue is unreachable right now, so Jira OPS was not tested. Try again in a minute."
            in signed_in.get(PAGE).get_data(as_text=True))


def test_editing_the_settings_clears_the_old_test_result(signed_in, org):
    from app.models.types import utcnow

    connector = jira_connector(org, last_test_ok=True, last_test_at=utcnow(),
                               last_test_result="Connected to Jira project OPS as Ada Lovelace.")
    edit = f"{PAGE}/{connector.id}/edit"
    post(signed_in, edit, {**JIRA_CLOUD_FORM, "name": "Renamed", "project": "OPS", "issue_type": "Task",
                           "api_token": ""}, source=edit)
    assert fresh(connector).last_test_ok is True  # a new name does not change what was tested
    post(signed_in, edit, {**JIRA_CLOUD_FORM, "project": "SEC", "api_token": ""}, source=edit)
    connector = fresh(connector)
    assert (connector.project, connector.last_test_ok, connector.last_test_result) == ("SEC", None, None)


# ------------------------------------------------------------------------------- activate and delete


def test_deactivate_activate_and_delete(signed_in, org):
    connector = jira_connector(org)

    assert signed_in.post(f"{PAGE}/{connector.id}/deactivate").status_code == 400  # no CSRF token
    assert fresh(connector).active

    assert post(signed_in, f"{PAGE}/{connector.id}/deactivate", {}).status_code == 303
    assert fresh(connector).active is False
    html = signed_in.get(PAGE).get_data(as_text=True)
    assert "Jira OPS is inactive: no new tickets are opened there." in html
    assert '<span class="badge badge-bad">Inactive</span>' in html and ">Activate</button>" in html

    assert post(signed_in, f"{PAGE}/{connector.id}/activate", {}).status_code == 303
    assert fresh(connector).active is True

    html = signed_in.get(PAGE).get_data(as_text=True)
    assert 'data-confirm="Delete Jira OPS and its stored credentials?"' in html
    connector_id = connector.id
    assert post(signed_in, f"{PAGE}/{connector_id}/delete", {}).status_code == 303
    assert connectors() == []
    assert "Deleted Jira OPS and its stored credentials." in signed_in.get(PAGE).get_data(as_text=True)
    assert post(signed_in, f"{PAGE}/{connector_id}/delete", {}).status_code == 404
