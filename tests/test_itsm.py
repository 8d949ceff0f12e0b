"""ServiceNow and Jira clients (app/itsm) against recorded request and response shapes; no database needed."""
from __future__ import annotations

import base64
import datetime as dt
import email.utils
import json
import re
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from app.itsm import ItsmError, TicketRef, TicketRequest, client_for, retry_delay

SN = "https://acme.service-now.com"
JIRA_CLOUD = "https://acme.atlassian.net"
JIRA_SERVER = "https://jira.acme.example"
GROUP_SYS_ID = "287ebd7da9fe198100f92cc8d1d2154e"
INCIDENT_SYS_ID = "c537bae64f411200adf9f8e18110c76e"
SECRETS = ("s3cret-password", "oauth-token-xyz", "atlassian-api-token", "jira-pat-123")

REQUEST = TicketRequest(
    correlation_key="toktra-alert-42",
    summary="Budget exceeded: OpenAI spend 130% of monthly budget",
    description="Provider: OpenAI\nSpend: $1,300 of $1,000\n\nFirst seen: 2026-03-01 09:00 UTC",
    link="https://toktra.example/alerts/42",
    severity="high",
)


def connector(kind, credentials, base_url=None, project=None, issue_type=None):
    """A stand-in for an ItsmConnector row."""
    base_url = base_url or {"servicenow": SN, "jira_cloud": JIRA_CLOUD, "jira_server": JIRA_SERVER}[kind]
    raw = credentials if isinstance(credentials, str) else json.dumps(credentials)
    return SimpleNamespace(kind=kind, base_url=base_url, credentials=raw, project=project, issue_type=issue_type,
                           active=True)


def servicenow(project=None, token=False):
    creds = {"token": "oauth-token-xyz"} if token else {"username": "toktra.bot", "password": "s3cret-password"}
    return client_for(connector("servicenow", creds, project=project))


def jira_cloud(issue_type=None):
    return client_for(connector("jira_cloud", {"email": "ada@acme.example", "api_token": "atlassian-api-token"},
                                project="OPS", issue_type=issue_type))


def jira_server(issue_type=None):
    return client_for(connector("jira_server", {"token": "jira-pat-123"}, project="OPS", issue_type=issue_type))


def sent_json(call) -> dict:
    return json.loads(call.request.body)


def sent_query(call) -> dict:
    """The request's query parameters, one value each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def basic_auth(call) -> str:
    scheme, _, value = call.request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(value).decode()


@pytest.fixture
def mock_http():
    """Every HTTP request must match a registered response, and every registered response must be used."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def assert_no_secrets(error: ItsmError):
    for secret in SECRETS:
        assert secret not in error.message


# ---------------------------------------------------------------------------------------------- ServiceNow


def test_servicenow_create_resolves_group_and_posts_incident_with_basic_auth(mock_http):
    mock_http.get(f"{SN}/api/now/table/sys_user_group",
                  json={"result": [{"sys_id": GROUP_SYS_ID, "name": "Network Ops"}]})
    mock_http.post(f"{SN}/api/now/table/incident", status=201,
                   headers={"Location": f"{SN}/api/now/table/incident/{INCIDENT_SYS_ID}"},
                   json={"result": {"sys_id": INCIDENT_SYS_ID, "number": "INC0010002"}})

    ref = servicenow(project="Network Ops").create_ticket(REQUEST)

    assert ref == TicketRef(key="INC0010002", url=f"{SN}/nav_to.do?uri=incident.do?sys_id={INCIDENT_SYS_ID}",
                            external_id=INCIDENT_SYS_ID)
    lookup, post = mock_http.calls
    assert sent_query(lookup) == {"sysparm_query": "name=Network Ops", "sysparm_fields": "sys_id,name",
                                  "sysparm_limit": "1"}
    assert sent_query(post) == {"sysparm_exclude_reference_link": "true", "sysparm_fields": "sys_id,number"}
    assert sent_json(post) == {
        "short_description": REQUEST.summary,
        "description": REQUEST.description + "\n\nAlert in Toktra: https://toktra.example/alerts/42",
        "urgency": "2",
        "impact": "2",
        "assignment_group": GROUP_SYS_ID,
        "correlation_id": "toktra-alert-42",
        "correlation_display": "Toktra",
    }
    assert post.request.headers["Content-Type"] == "application/json"
    assert post.request.headers["Accept"] == "application/json"
    assert basic_auth(post) == "toktra.bot:s3cret-password"
    assert post.request.req_kwargs["timeout"] == (10, 10)


def test_servicenow_oauth_token_severity_mapping_and_group_sys_id_used_as_is(mock_http):
    mock_http.post(f"{SN}/api/now/table/incident", status=201,
                   json={"result": {"sys_id": INCIDENT_SYS_ID, "number": "INC0010003"}})
    critical = TicketRequest("toktra-alert-7", "Key leaked", "line", "https://toktra.example/alerts/7", "critical")

    ref = servicenow(project=GROUP_SYS_ID, token=True).create_ticket(critical)

    assert ref.key == "INC0010003"
    (post,) = mock_http.calls
    assert post.request.headers["Authorization"] == "Bearer oauth-token-xyz"
    body = sent_json(post)
    assert (body["urgency"], body["impact"], body["assignment_group"]) == ("1", "1", GROUP_SYS_ID)


@pytest.mark.parametrize("severity", ["medium", "low"])
def test_servicenow_lower_severities_and_no_assignment_group(mock_http, severity):
    mock_http.post(f"{SN}/api/now/table/incident", status=201,
                   json={"result": {"sys_id": INCIDENT_SYS_ID, "number": "INC0010004"}})
    request = TicketRequest("toktra-alert-8", "s", "d", "https://toktra.example/alerts/8", severity)

    servicenow().create_ticket(request)

    body = sent_json(mock_http.calls[0])
    assert (body["urgency"], body["impact"]) == ("3", "3")
    assert "assignment_group" not in body


def test_servicenow_find_ticket_hit(mock_http):
    mock_http.get(f"{SN}/api/now/table/incident", json={"result": [
        {"sys_id": INCIDENT_SYS_ID, "number": "INC0010002", "correlation_id": "toktra-alert-42"}]})

    ref = servicenow().find_ticket("toktra-alert-42")

    assert ref == TicketRef("INC0010002", f"{SN}/nav_to.do?uri=incident.do?sys_id={INCIDENT_SYS_ID}", INCIDENT_SYS_ID)
    assert sent_query(mock_http.calls[0]) == {"sysparm_query": "correlation_id=toktra-alert-42",
                                              "sysparm_fields": "sys_id,number,correlation_id",
                                              "sysparm_limit": "1"}


@pytest.mark.parametrize("result", [
    [],  # no such incident
    [{"sys_id": INCIDENT_SYS_ID, "number": "INC0000001", "correlation_id": ""}],  # query ignored by the instance
])
def test_servicenow_find_ticket_miss(mock_http, result):
    mock_http.get(f"{SN}/api/now/table/incident", json={"result": result})
    assert servicenow().find_ticket("toktra-alert-42") is None


def test_servicenow_test_connection_ok(mock_http):
    mock_http.get(f"{SN}/api/now/table/incident", json={"result": [{"sys_id": INCIDENT_SYS_ID}]})
    mock_http.get(f"{SN}/api/now/table/sys_user_group",
                  json={"result": [{"sys_id": GROUP_SYS_ID, "name": "Network Ops"}]})

    message = servicenow(project="Network Ops").test_connection()

    assert message == ("Connected to ServiceNow at acme.service-now.com as toktra.bot; "
                       "incidents go to assignment group Network Ops.")
    assert sent_query(mock_http.calls[0]) == {"sysparm_limit": "1", "sysparm_fields": "sys_id"}


def test_servicenow_test_connection_unknown_group(mock_http):
    mock_http.get(f"{SN}/api/now/table/incident", json={"result": []})
    mock_http.get(f"{SN}/api/now/table/sys_user_group", json={"result": []})

    with pytest.raises(ItsmError) as exc:
        servicenow(project="Nope").test_connection()

    assert exc.value.message == ("ServiceNow has no assignment group named 'Nope'; "
                                 "check the connector's assignment group.")
    assert not exc.value.retryable


def test_servicenow_test_connection_bad_credentials(mock_http):
    mock_http.get(f"{SN}/api/now/table/incident", status=401, json={
        "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
        "status": "failure"})

    with pytest.raises(ItsmError) as exc:
        servicenow().test_connection()

    assert exc.value.message == "ServiceNow rejected the credentials (401): check the username and password."
    assert (exc.value.retryable, exc.value.retry_after, exc.value.status) == (False, None, 401)
    assert_no_secrets(exc.value)


def test_servicenow_expired_oauth_token(mock_http):
    mock_http.get(f"{SN}/api/now/table/incident", status=401, json={
        "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
        "status": "failure"})

    with pytest.raises(ItsmError) as exc:
        servicenow(token=True).find_ticket("toktra-alert-42")

    assert exc.value.message == "ServiceNow rejected the credentials (401): the OAuth token is invalid or has expired."


def test_servicenow_400_includes_message_and_detail(mock_http):
    mock_http.post(f"{SN}/api/now/table/incident", status=400, json={
        "error": {"message": "Exception while reading request", "detail": "The payload is not valid JSON."},
        "status": "failure"})

    with pytest.raises(ItsmError) as exc:
        servicenow().create_ticket(REQUEST)

    assert exc.value.message == ("ServiceNow rejected the request (400): Exception while reading request — "
                                 "The payload is not valid JSON.")
    assert not exc.value.retryable


def test_servicenow_403_from_acl_or_data_policy(mock_http):
    mock_http.post(f"{SN}/api/now/table/incident", status=403, json={
        "error": {"message": "Operation Failed", "detail": "Data Policy Exception: Category is mandatory"},
        "status": "failure"})

    with pytest.raises(ItsmError) as exc:
        servicenow().create_ticket(REQUEST)

    assert exc.value.message == ("ServiceNow refused access (403): the account lacks permission: "
                                 "Operation Failed — Data Policy Exception: Category is mandatory.")
    assert not exc.value.retryable


def test_servicenow_404_names_the_instance(mock_http):
    mock_http.post(f"{SN}/api/now/table/incident", status=404, json={
        "error": {"message": "Invalid table incident", "detail": None}, "status": "failure"})

    with pytest.raises(ItsmError) as exc:
        servicenow().create_ticket(REQUEST)

    assert exc.value.message.startswith("ServiceNow answered 404: the Table API was not found at acme.service-now.com")
    assert not exc.value.retryable


def test_servicenow_429_uses_rate_limit_reset_unix_time(mock_http):
    reset = int(dt.datetime.now(dt.timezone.utc).timestamp()) + 120
    mock_http.post(f"{SN}/api/now/table/incident", status=429,
                   headers={"X-RateLimit-Limit": "10", "X-RateLimit-Reset": str(reset),
                            "X-RateLimit-Rule": "a0f2e8f1db102200a9f9f8c4ce96193f"},
                   json={"error": {"message": "Rate limit exceeded",
                                   "detail": "Rate limit of 10 requests per hour for Table API exceeded"},
                         "status": "failure"})

    with pytest.raises(ItsmError) as exc:
        servicenow().create_ticket(REQUEST)

    assert exc.value.retryable
    assert 115 <= exc.value.retry_after <= 121
    assert exc.value.message.startswith("ServiceNow is rate limiting requests (429); try again in ")


def test_servicenow_web_page_instead_of_api(mock_http):
    # A hibernating developer instance answers 200 with an HTML page.
    mock_http.get(f"{SN}/api/now/table/incident", body="<html><body>Instance hibernating</body></html>",
                  content_type="text/html")

    with pytest.raises(ItsmError) as exc:
        servicenow().test_connection()

    assert "did not answer like the ServiceNow Table API" in exc.value.message
    assert not exc.value.retryable


# ---------------------------------------------------------------------------------------------- Jira Cloud


def test_jira_cloud_create_sends_adf_labels_and_basic_auth(mock_http):
    mock_http.post(f"{JIRA_CLOUD}/rest/api/3/issue", status=201, json={
        "id": "10000", "key": "OPS-123", "self": f"{JIRA_CLOUD}/rest/api/3/issue/10000"})

    ref = jira_cloud().create_ticket(REQUEST)

    assert ref == TicketRef(key="OPS-123", url=f"{JIRA_CLOUD}/browse/OPS-123", external_id="10000")
    (post,) = mock_http.calls
    assert sent_json(post) == {"fields": {
        "project": {"key": "OPS"},
        "issuetype": {"name": "Task"},
        "summary": REQUEST.summary,
        "description": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Provider: OpenAI"}]},
            {"type": "paragraph", "content": [{"type": "text", "text": "Spend: $1,300 of $1,000"}]},
            {"type": "paragraph", "content": [{"type": "text", "text": "First seen: 2026-03-01 09:00 UTC"}]},
            {"type": "paragraph", "content": [{"type": "text", "text": "View the alert in Toktra", "marks": [
                {"type": "link", "attrs": {"href": "https://toktra.example/alerts/42"}}]}]},
        ]},
        "labels": ["toktra", "toktra-alert-42"],
    }}
    assert basic_auth(post) == "ada@acme.example:atlassian-api-token"
    assert post.request.req_kwargs["timeout"] == (10, 10)


def test_jira_cloud_summary_is_one_line_and_capped():
    long = TicketRequest("toktra-alert-9", "a\nb " + "x" * 400, "d", "https://toktra.example/alerts/9", "low")
    with responses.RequestsMock() as rsps:
        rsps.post(f"{JIRA_CLOUD}/rest/api/3/issue", status=201, json={"id": "1", "key": "OPS-1", "self": "x"})
        jira_cloud(issue_type="Bug").create_ticket(long)
        fields = sent_json(rsps.calls[0])["fields"]
    assert fields["issuetype"] == {"name": "Bug"}
    assert len(fields["summary"]) == 255 and "\n" not in fields["summary"] and fields["summary"].startswith("a b x")


def test_jira_cloud_find_ticket_hit(mock_http):
    mock_http.get(f"{JIRA_CLOUD}/rest/api/3/search/jql", json={
        "issues": [{"expand": "", "id": "10000", "self": f"{JIRA_CLOUD}/rest/api/3/issue/10000", "key": "OPS-123"}],
        "isLast": True})

    ref = jira_cloud().find_ticket("toktra-alert-42")

    assert ref == TicketRef("OPS-123", f"{JIRA_CLOUD}/browse/OPS-123", "10000")
    assert sent_query(mock_http.calls[0]) == {"jql": 'project = "OPS" AND labels = "toktra-alert-42"',
                                              "fields": "key", "maxResults": "1"}


def test_jira_cloud_find_ticket_miss(mock_http):
    mock_http.get(f"{JIRA_CLOUD}/rest/api/3/search/jql", json={"issues": [], "isLast": True})
    assert jira_cloud().find_ticket("toktra-alert-42") is None


def test_jira_cloud_test_connection_ok(mock_http):
    mock_http.get(f"{JIRA_CLOUD}/rest/api/3/myself", json={
        "accountId": "5b10a2844c20165700ede21g", "displayName": "Ada Lovelace", "active": True})
    mock_http.get(f"{JIRA_CLOUD}/rest/api/3/project/OPS", json={
        "id": "10000", "key": "OPS", "name": "Operations",
        "issueTypes": [{"id": "10001", "name": "Task", "subtask": False}, {"id": "10002", "name": "Bug"}]})

    assert jira_cloud().test_connection() == "Connected to Jira project OPS as Ada Lovelace."


def test_jira_cloud_test_connection_unknown_issue_type(mock_http):
    mock_http.get(f"{JIRA_CLOUD}/rest/api/3/myself", json={"displayName": "Ada Lovelace"})
    mock_http.get(f"{JIRA_CLOUD}/rest/api/3/project/OPS", json={
        "key": "OPS", "issueTypes": [{"name": "Task"}, {"name": "Bug"}]})

    with pytest.raises(ItsmError) as exc:
        jira_cloud(issue_type="Incident").test_connection()

    assert exc.value.message == "Jira project OPS has no issue type 'Incident'; available: Task, Bug."


def test_jira_cloud_test_connection_project_404_mentions_credentials(mock_http):
    mock_http.get(f"{JIRA_CLOUD}/rest/api/3/myself", json={"displayName": "Ada Lovelace"})
    mock_http.get(f"{JIRA_CLOUD}/rest/api/3/project/OPS", status=404, json={
        "errorMessages": ["No project could be found with key 'OPS'."], "errors": {}})

    with pytest.raises(ItsmError) as exc:
        jira_cloud().test_connection()

    assert exc.value.message == ("Jira answered 404: project OPS or the Jira API was not found at acme.atlassian.net; "
                                 "check the site URL and project key (Jira also answers 404 when the credentials "
                                 "are wrong).")
    assert (exc.value.retryable, exc.value.status) == (False, 404)


def test_jira_cloud_test_connection_bad_credentials(mock_http):
    mock_http.get(f"{JIRA_CLOUD}/rest/api/3/myself", status=401,
                  body="Client must be authenticated to access this resource.", content_type="text/html")

    with pytest.raises(ItsmError) as exc:
        jira_cloud().test_connection()

    assert exc.value.message == "Jira rejected the credentials (401): check the email and API token."
    assert_no_secrets(exc.value)


# ---------------------------------------------------------------------------------------------- Jira Server / DC


def test_jira_server_create_sends_wiki_description_and_bearer_pat(mock_http):
    mock_http.post(f"{JIRA_SERVER}/rest/api/2/issue", status=201, json={
        "id": "20001", "key": "OPS-7", "self": f"{JIRA_SERVER}/rest/api/2/issue/20001"})

    ref = jira_server(issue_type="Bug").create_ticket(REQUEST)

    assert ref == TicketRef("OPS-7", f"{JIRA_SERVER}/browse/OPS-7", "20001")
    (post,) = mock_http.calls
    assert post.request.headers["Authorization"] == "Bearer jira-pat-123"
    assert sent_json(post) == {"fields": {
        "project": {"key": "OPS"},
        "issuetype": {"name": "Bug"},
        "summary": REQUEST.summary,
        "description": REQUEST.description + "\n\n[View the alert in Toktra|https://toktra.example/alerts/42]",
        "labels": ["toktra", "toktra-alert-42"],
    }}


def test_jira_server_find_ticket_uses_v2_search(mock_http):
    mock_http.get(f"{JIRA_SERVER}/rest/api/2/search", json={
        "startAt": 0, "maxResults": 1, "total": 1,
        "issues": [{"id": "20001", "key": "OPS-7", "self": f"{JIRA_SERVER}/rest/api/2/issue/20001"}]})

    assert jira_server().find_ticket("toktra-alert-42") == TicketRef("OPS-7", f"{JIRA_SERVER}/browse/OPS-7", "20001")
    call = mock_http.calls[0]
    assert sent_query(call)["jql"] == 'project = "OPS" AND labels = "toktra-alert-42"'
    assert call.request.headers["Authorization"] == "Bearer jira-pat-123"


def test_jira_server_find_ticket_miss_and_connection(mock_http):
    mock_http.get(f"{JIRA_SERVER}/rest/api/2/search", json={"startAt": 0, "maxResults": 1, "total": 0, "issues": []})
    mock_http.get(f"{JIRA_SERVER}/rest/api/2/myself", json={"name": "ada", "displayName": "Ada Lovelace"})
    mock_http.get(f"{JIRA_SERVER}/rest/api/2/project/OPS", json={"key": "OPS", "issueTypes": [{"name": "Task"}]})

    client = jira_server()
    assert client.find_ticket("toktra-alert-42") is None
    assert client.test_connection() == "Connected to Jira project OPS as Ada Lovelace."


def test_jira_server_bad_token(mock_http):
    mock_http.get(f"{JIRA_SERVER}/rest/api/2/myself", status=401, json={
        "errorMessages": ["You are not authenticated. Authentication required to perform this operation."],
        "errors": {}})

    with pytest.raises(ItsmError) as exc:
        jira_server().test_connection()

    assert exc.value.message == "Jira rejected the credentials (401): check the personal access token."


# ---------------------------------------------------------------------------------------------- error classes


@pytest.mark.parametrize(("status", "body", "headers", "message", "retryable", "retry_after"), [
    (400, {"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}}, {},
     "Jira rejected the request (400): summary: You must specify a summary of the issue.", False, None),
    (400, {"errorMessages": ["Field 'priority' cannot be set."], "errors": {"labels": "Labels cannot contain spaces."}},
     {}, "Jira rejected the request (400): Field 'priority' cannot be set.; labels: Labels cannot contain spaces.",
     False, None),
    (401, None, {}, "Jira rejected the credentials (401): check the email and API token.", False, None),
    (403, {"errorMessages": ["You do not have permission to create issues in this project."], "errors": {}}, {},
     "Jira refused access (403): the account lacks permission: "
     "You do not have permission to create issues in this project.", False, None),
    (429, None, {"Retry-After": "17", "X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0"},
     "Jira is rate limiting requests (429); try again in 17 s.", True, 17),
    (429, None, {}, "Jira is rate limiting requests (429); try again in 60 s.", True, 60),
    (503, None, {}, "Jira is unavailable (503); try again in 30 s.", True, 30),
    (503, {"errorMessages": ["Service Unavailable"]}, {"Retry-After": "5"},
     "Jira is unavailable (503): Service Unavailable; try again in 5 s.", True, 5),
    (502, None, {}, "Jira is unavailable (502); try again in 30 s.", True, 30),
    (302, None, {"Location": "https://id.atlassian.com/login"},
     "Jira redirected the request (302) to https://id.atlassian.com/login; check the base URL.", False, None),
])
def test_jira_create_error_classes(mock_http, status, body, headers, message, retryable, retry_after):
    kwargs = {"json": body} if body is not None else {"body": ""}
    mock_http.post(f"{JIRA_CLOUD}/rest/api/3/issue", status=status, headers=headers, **kwargs)

    with pytest.raises(ItsmError) as exc:
        jira_cloud().create_ticket(REQUEST)

    assert exc.value.message == message
    assert str(exc.value) == exc.value.message
    assert (exc.value.retryable, exc.value.retry_after, exc.value.status) == (retryable, retry_after, status)
    assert len(mock_http.calls) == 1  # no automatic retries
    assert_no_secrets(exc.value)


def test_jira_404_on_create(mock_http):
    mock_http.post(f"{JIRA_CLOUD}/rest/api/3/issue", status=404, json={"errorMessages": ["Not found"], "errors": {}})

    with pytest.raises(ItsmError) as exc:
        jira_cloud().create_ticket(REQUEST)

    assert exc.value.message.startswith("Jira answered 404: project OPS")
    assert "credentials are wrong" in exc.value.message
    assert not exc.value.retryable


def test_jira_429_with_iso_rate_limit_reset(mock_http):
    reset = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=90)).isoformat(timespec="seconds")
    mock_http.get(f"{JIRA_CLOUD}/rest/api/3/search/jql", status=429,
                  headers={"X-RateLimit-Reset": reset, "RateLimit-Reason": "jira-burst-based"}, body="")

    with pytest.raises(ItsmError) as exc:
        jira_cloud().find_ticket("toktra-alert-42")

    assert exc.value.retryable and 85 <= exc.value.retry_after <= 91


@pytest.mark.parametrize(("exception", "message"), [
    (requests.exceptions.ConnectTimeout("timed out"), "Jira at acme.atlassian.net did not connect within 10 s."),
    (requests.exceptions.ReadTimeout("timed out"),
     "Jira at acme.atlassian.net did not answer within 10 s. "
     "The ticket may have been created; look it up before creating it again."),
    (requests.exceptions.ConnectionError("Connection refused"), "Could not connect to Jira at acme.atlassian.net."),
])
def test_jira_network_failures_are_retryable(mock_http, exception, message):
    mock_http.post(f"{JIRA_CLOUD}/rest/api/3/issue", body=exception)

    with pytest.raises(ItsmError) as exc:
        jira_cloud().create_ticket(REQUEST)

    assert exc.value.message == message
    assert (exc.value.retryable, exc.value.retry_after, exc.value.status) == (True, 30, None)


def test_servicenow_connect_timeout(mock_http):
    mock_http.get(f"{SN}/api/now/table/incident", body=requests.exceptions.ConnectTimeout("timed out"))

    with pytest.raises(ItsmError) as exc:
        servicenow().find_ticket("toktra-alert-42")

    assert exc.value.message == "ServiceNow at acme.service-now.com did not connect within 10 s."
    assert (exc.value.retryable, exc.value.retry_after) == (True, 30)


def test_credentials_in_the_base_url_stay_out_of_messages(mock_http):
    mock_http.get(re.compile(r".*/api/now/table/incident"), body=requests.exceptions.ConnectTimeout("timed out"))
    client = client_for(connector("servicenow", {"token": "oauth-token-xyz"},
                                  base_url="https://toktra.bot:s3cret-password@acme.service-now.com"))

    with pytest.raises(ItsmError) as exc:
        client.test_connection()

    assert exc.value.message == "ServiceNow at acme.service-now.com did not connect within 10 s."


def test_tls_failure_is_not_retryable(mock_http):
    mock_http.get(f"{SN}/api/now/table/incident", body=requests.exceptions.SSLError("certificate verify failed"))

    with pytest.raises(ItsmError) as exc:
        servicenow().test_connection()

    assert exc.value.message == "The TLS certificate of ServiceNow at acme.service-now.com could not be verified."
    assert not exc.value.retryable


def test_servicenow_503_with_retry_after_http_date(mock_http):
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=45)
    mock_http.post(f"{SN}/api/now/table/incident", status=503,
                   headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)},
                   body="<html>Service Unavailable</html>", content_type="text/html")

    with pytest.raises(ItsmError) as exc:
        servicenow().create_ticket(REQUEST)

    assert exc.value.retryable and 40 <= exc.value.retry_after <= 46
    assert exc.value.message.startswith("ServiceNow is unavailable (503); try again in ")


def test_retry_delay_fallbacks():
    assert retry_delay({}, 60) == 60
    assert retry_delay({"Retry-After": "0"}, 60) == 1
    assert retry_delay({"Retry-After": "soon"}, 60) == 60
    assert retry_delay({"X-RateLimit-Reset": "12"}, 60) == 12  # a small number is a delay, not a Unix time
    assert retry_delay({"X-RateLimit-Reset": "2000-01-01T00:00:00Z"}, 60) == 1  # already passed


# ---------------------------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(("kind", "credentials", "project", "message"), [
    ("servicenow", {}, None,
     "The ServiceNow connector's credentials need a username and password (or an OAuth token); enter them again."),
    ("servicenow", {"username": "toktra.bot", "password": ""}, None,
     "The ServiceNow connector's credentials need a username and password (or an OAuth token); enter them again."),
    ("jira_cloud", {"email": "ada@acme.example"}, "OPS",
     "The Jira Cloud connector's credentials lack api_token; enter them again."),
    ("jira_cloud", {"username": "ada", "password": "s3cret-password"}, "OPS",
     "The Jira Cloud connector's credentials lack email and api_token; enter them again."),
    ("jira_server", {"email": "ada@acme.example", "api_token": "atlassian-api-token"}, "OPS",
     "The Jira Server connector's credentials lack token; enter them again."),
    ("jira_server", '{"token": "jira-pat-123"', "OPS",
     "The Jira Server connector's credentials are not a valid JSON object; enter them again."),
    ("jira_cloud", '["atlassian-api-token"]', "OPS",
     "The Jira Cloud connector's credentials are not a valid JSON object; enter them again."),
    ("jira_server", {"token": "jira-pat-123"}, None, "The Jira Server connector needs a project key."),
    ("zendesk", {"token": "jira-pat-123"}, None, "Unknown ticketing system 'zendesk'."),
])
def test_client_for_rejects_incomplete_configuration(kind, credentials, project, message):
    raw = credentials if isinstance(credentials, str) else json.dumps(credentials)
    stand_in = SimpleNamespace(kind=kind, base_url="https://x.example", credentials=raw, project=project,
                               issue_type=None)

    with pytest.raises(ItsmError) as exc:
        client_for(stand_in)

    assert exc.value.message == message
    assert not exc.value.retryable and exc.value.retry_after is None
    assert_no_secrets(exc.value)


def test_client_for_requires_a_base_url():
    with pytest.raises(ItsmError, match="needs a base URL"):
        client_for(connector("servicenow", {"token": "t"}, base_url="acme.service-now.com"))


def test_client_for_strips_trailing_slash(mock_http):
    mock_http.post(f"{JIRA_CLOUD}/rest/api/3/issue", status=201, json={"id": "1", "key": "OPS-1", "self": "x"})
    client = client_for(connector("jira_cloud", {"email": "a@b.c", "api_token": "t"}, base_url=JIRA_CLOUD + "/",
                                  project="OPS"))
    assert client.create_ticket(REQUEST).url == f"{JIRA_CLOUD}/browse/OPS-1"


@pytest.mark.parametrize("key", ["", "has space", 'quote"', "a^b", "x" * 101])
def test_ticket_request_rejects_unsafe_correlation_keys(key):
    with pytest.raises(ValueError):
        TicketRequest(key, "s", "d", "https://toktra.example/alerts/1", "low")


def test_ticket_request_rejects_unknown_severity():
    with pytest.raises(ValueError):
        TicketRequest("toktra-alert-1", "s", "d", "https://toktra.example/alerts/1", "urgent")
