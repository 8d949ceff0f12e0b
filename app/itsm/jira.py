"""Jira issues: Cloud (REST v3, email + API token) and Server/Data Center (REST v2, personal access token)."""
from __future__ import annotations

import re
from urllib.parse import quote, urlparse

import requests

from app.itsm import ItsmError, TicketRef, TicketRequest, TicketStatus, check_correlation_key, json_body, one_line, \
    require, send, status_error

SYSTEM = "Jira"
SUMMARY_LIMIT = 255
DESCRIPTION_LIMIT = 30_000  # Jira rejects text fields over 32,767 characters
LINK_TEXT = "View the alert in Toktra"
ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,49}-[1-9][0-9]{0,17}")


class JiraClient:
    """Opens and finds issues in one Jira project; Cloud uses REST v3 and ADF, Server/DC REST v2 and wiki text."""

    def __init__(self, base_url: str, credentials: dict, *, project: str, issue_type: str | None, cloud: bool):
        self.base_url = base_url
        self.host = urlparse(base_url).hostname
        self.project = project
        self.issue_type = (issue_type or "").strip() or "Task"
        self.cloud = cloud
        self.api = base_url + ("/rest/api/3" if cloud else "/rest/api/2")
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        if cloud:
            email, api_token = require(credentials, "Jira Cloud", "email", "api_token")
            self.session.auth = (email, api_token)
            self.auth_hint = "check the email and API token"
        else:
            (token,) = require(credentials, "Jira Server", "token")
            self.session.headers["Authorization"] = f"Bearer {token}"
            self.auth_hint = "check the personal access token"

    def test_connection(self) -> str:
        """Check the credentials (/myself), the project and its issue type; return a success message."""
        me = self._call("GET", "/myself")
        project = self._call("GET", f"/project/{quote(self.project, safe='')}")
        issue_types = [t.get("name") for t in project.get("issueTypes") or [] if isinstance(t, dict)]
        if issue_types and self.issue_type not in issue_types:
            raise ItsmError(f"Jira project {self.project} has no issue type {self.issue_type!r}; "
                            f"available: {', '.join(map(str, issue_types))}.")
        who = me.get("displayName") or me.get("name") or "an unnamed user"
        return f"Connected to Jira project {self.project} as {who}."

    def find_ticket(self, correlation_key: str) -> TicketRef | None:
        """The project's issue labelled correlation_key, or None."""
        check_correlation_key(correlation_key)
        jql = f'project = "{_jql_escape(self.project)}" AND labels = "{correlation_key}"'
        body = self._call("GET", "/search/jql" if self.cloud else "/search",
                          params={"jql": jql, "fields": "key", "maxResults": "1"})
        issues = body.get("issues")
        if not isinstance(issues, list) or not issues:
            return None
        return self._ref(issues[0])

    def create_ticket(self, request: TicketRequest) -> TicketRef:
        """Create an issue for request, labelled "toktra" and its correlation key; return its key and URL."""
        text = request.description.rstrip()[:DESCRIPTION_LIMIT]
        if self.cloud:
            description = adf_document(text, request.link)
        else:
            description = f"{text}\n\n[{LINK_TEXT}|{request.link}]"  # wiki markup link
        fields = {
            "project": {"key": self.project},
            "issuetype": {"name": self.issue_type},
            "summary": one_line(request.summary, SUMMARY_LIMIT),
            "description": description,
            "labels": ["toktra", request.correlation_key],
        }
        return self._ref(self._call("POST", "/issue", json={"fields": fields}))

    def fetch_ticket(self, key: str) -> TicketStatus:
        """The issue and its status: fields.status.name, closed when fields.status.statusCategory.key is "done"."""
        if not ISSUE_KEY.fullmatch(key or ""):
            raise ItsmError(f"{key!r} is not a Jira issue key; a key looks like OPS-123.")
        response = send(self.session, "GET", f"{self.api}/issue/{quote(key, safe='')}", system=SYSTEM,
                        params={"fields": "status"})
        if response.status_code == 404:
            raise ItsmError(f"Jira at {self.host} has no issue {key} that this connector's account can see.",
                            status=404)
        issue = self._checked(response)
        status = (issue.get("fields") or {}).get("status")
        if not isinstance(status, dict) or not isinstance(status.get("name"), str):
            raise ItsmError(f"Jira answered without the status of {key}.")
        category = (status.get("statusCategory") or {}).get("key")
        return TicketStatus(ref=self._ref(issue), status=status["name"], closed=category == "done")

    def _ref(self, issue) -> TicketRef:
        if not isinstance(issue, dict) or not issue.get("key") or not issue.get("id"):
            raise ItsmError("Jira answered without the issue's id and key.")
        return TicketRef(key=issue["key"], url=f"{self.base_url}/browse/{issue['key']}", external_id=str(issue["id"]))

    def _call(self, method: str, path: str, **kwargs) -> dict:
        """The JSON object a REST call returns; ItsmError for any failure."""
        return self._checked(send(self.session, method, self.api + path, system=SYSTEM, **kwargs))

    def _checked(self, response) -> dict:
        """The JSON object of a successful answer; ItsmError for any other."""
        body = json_body(response)
        if not 200 <= response.status_code < 300:
            raise status_error(SYSTEM, response, _error_detail(body), auth_hint=self.auth_hint,
                               not_found_hint=f"project {self.project} or the Jira API was not found at {self.host}; "
                                              "check the site URL and project key (Jira also answers 404 when the "
                                              "credentials are wrong)")
        if body is None:
            raise ItsmError(f"{self.host} did not answer like the Jira REST API; check the site URL.")
        return body


def adf_document(text: str, link: str) -> dict:
    """An Atlassian Document Format doc: one paragraph per non-blank line, then a paragraph linking to the alert."""
    paragraphs = [{"type": "paragraph", "content": [{"type": "text", "text": line.rstrip()}]}
                  for line in text.splitlines() if line.strip()]
    paragraphs.append({"type": "paragraph", "content": [
        {"type": "text", "text": LINK_TEXT, "marks": [{"type": "link", "attrs": {"href": link}}]},
    ]})
    return {"type": "doc", "version": 1, "content": paragraphs}


def _jql_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _error_detail(body: dict | None) -> str:
    """Jira's ErrorCollection text: {"errorMessages": [...], "errors": {field: message}}."""
    body = body or {}
    messages = [str(m) for m in body.get("errorMessages") or [] if m]
    errors = body.get("errors")
    if isinstance(errors, dict):
        messages += [f"{field}: {message}" for field, message in errors.items()]
    return "; ".join(messages)
