"""ServiceNow incidents through the Table API (/api/now/table/incident)."""
from __future__ import annotations

import re
from urllib.parse import urlparse

import requests

from app.itsm import ItsmError, TicketRef, TicketRequest, TicketStatus, check_correlation_key, json_body, one_line, \
    send, status_error

SYSTEM = "ServiceNow"
INCIDENTS = "/api/now/table/incident"
GROUPS = "/api/now/table/sys_user_group"
SYS_ID = re.compile(r"[0-9a-f]{32}")
URGENCY = {"critical": "1", "high": "2", "medium": "3", "low": "3"}  # also used for impact
SHORT_DESCRIPTION_LIMIT = 160  # the incident form's short_description length
INCIDENT_NUMBER = re.compile(r"[A-Z]{2,10}[0-9]{4,20}")
CLOSED_STATES = {"6", "7", "8"}  # Resolved, Closed, Canceled (the incident table's state choices)


class ServiceNowClient:
    """Opens and finds incidents; authenticates with Basic (username/password) or an OAuth bearer token."""

    def __init__(self, base_url: str, credentials: dict, assignment_group: str | None = None):
        self.base_url = base_url
        self.host = urlparse(base_url).hostname
        self.assignment_group = assignment_group
        self._group_id: str | None = None
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        self.username = None
        token = credentials.get("token")
        if isinstance(token, str) and token.strip():
            self.session.headers["Authorization"] = f"Bearer {token.strip()}"
            self.auth_hint = "the OAuth token is invalid or has expired"
            return
        username, password = credentials.get("username"), credentials.get("password")
        if not all(isinstance(v, str) and v.strip() for v in (username, password)):
            raise ItsmError("The ServiceNow connector's credentials need a username and password "
                            "(or an OAuth token); enter them again.")
        self.username = username.strip()
        self.session.auth = (self.username, password)
        self.auth_hint = "check the username and password"

    def test_connection(self) -> str:
        """Read one incident (and resolve the assignment group, if set); return a success message."""
        self._call("GET", INCIDENTS, params={"sysparm_limit": "1", "sysparm_fields": "sys_id"})
        message = f"Connected to ServiceNow at {self.host}"
        if self.username:
            message += f" as {self.username}"
        if self.assignment_group:
            self._assignment_group_id()
            message += f"; incidents go to assignment group {self.assignment_group}"
        return message + "."

    def find_ticket(self, correlation_key: str) -> TicketRef | None:
        """The incident whose correlation_id is correlation_key, or None."""
        check_correlation_key(correlation_key)
        records = self._call("GET", INCIDENTS, params={
            "sysparm_query": f"correlation_id={correlation_key}",
            "sysparm_fields": "sys_id,number,correlation_id",
            "sysparm_limit": "1",
        })
        # ServiceNow may ignore a query on an unknown field and return any record, so check the match.
        for record in records if isinstance(records, list) else []:
            if isinstance(record, dict) and record.get("correlation_id") == correlation_key:
                return self._ref(record)
        return None

    def create_ticket(self, request: TicketRequest) -> TicketRef:
        """Insert an incident for request; return its number and URL."""
        fields = {
            "short_description": one_line(request.summary, SHORT_DESCRIPTION_LIMIT),
            "description": f"{request.description.rstrip()}\n\nAlert in Toktra: {request.link}",
            "urgency": URGENCY[request.severity],
            "impact": URGENCY[request.severity],
            "correlation_id": request.correlation_key,
            "correlation_display": "Toktra",
        }
        if self.assignment_group:
            fields["assignment_group"] = self._assignment_group_id()
        record = self._call("POST", INCIDENTS, json=fields, params={
            "sysparm_exclude_reference_link": "true",
            "sysparm_fields": "sys_id,number",
        })
        return self._ref(record)

    def fetch_ticket(self, key: str) -> TicketStatus:
        """The incident with this number (or sys_id) and its state, read with display values ("all")."""
        if SYS_ID.fullmatch(key or ""):
            query = f"sys_id={key}"
        elif INCIDENT_NUMBER.fullmatch(key or ""):
            query = f"number={key}"
        else:
            raise ItsmError(f"{key!r} is not a ServiceNow incident number; a number looks like INC0010002.")
        records = self._call("GET", INCIDENTS, params={
            "sysparm_query": query, "sysparm_fields": "number,state,sys_id", "sysparm_display_value": "all",
            "sysparm_limit": "1",
        })
        record = records[0] if isinstance(records, list) and records else None
        if not isinstance(record, dict):
            raise ItsmError(f"ServiceNow at {self.host} has no incident {key} that this connector's account can see.",
                            status=404)
        fields = {name: _field(record.get(name)) for name in ("number", "state", "sys_id")}
        state_value, state_name = fields["state"]
        if not state_value:
            raise ItsmError(f"ServiceNow answered without the state of {key}.")
        ref = self._ref({"number": fields["number"][0], "sys_id": fields["sys_id"][0]})
        return TicketStatus(ref=ref, status=state_name or state_value, closed=state_value in CLOSED_STATES)

    def _assignment_group_id(self) -> str:
        """The sys_id of the assignment group (the connector may hold its name or its sys_id)."""
        if self._group_id is None:
            if SYS_ID.fullmatch(self.assignment_group):
                self._group_id = self.assignment_group
            else:
                groups = self._call("GET", GROUPS, params={
                    "sysparm_query": f"name={self.assignment_group}",
                    "sysparm_fields": "sys_id,name",
                    "sysparm_limit": "1",
                })
                group = groups[0] if isinstance(groups, list) and groups else {}
                if not isinstance(group, dict) or not group.get("sys_id"):
                    raise ItsmError(f"ServiceNow has no assignment group named {self.assignment_group!r}; "
                                    "check the connector's assignment group.")
                self._group_id = group["sys_id"]
        return self._group_id

    def _ref(self, record) -> TicketRef:
        if not isinstance(record, dict) or not record.get("sys_id") or not record.get("number"):
            raise ItsmError("ServiceNow answered without the incident's sys_id and number.")
        sys_id = record["sys_id"]
        return TicketRef(key=record["number"], url=f"{self.base_url}/nav_to.do?uri=incident.do?sys_id={sys_id}",
                         external_id=sys_id)

    def _call(self, method: str, path: str, **kwargs):
        """The `result` of a Table API call; ItsmError for any failure."""
        response = send(self.session, method, self.base_url + path, system=SYSTEM, **kwargs)
        body = json_body(response)
        if not 200 <= response.status_code < 300:
            raise status_error(SYSTEM, response, _error_detail(body), auth_hint=self.auth_hint,
                               not_found_hint=f"the Table API was not found at {self.host}; check the instance "
                                              "URL (an ACL can also hide a table from this account)")
        if body is None or "result" not in body:
            raise ItsmError(f"{self.host} did not answer like the ServiceNow Table API; check the instance URL "
                            "(a hibernating developer instance answers with a web page).")
        return body["result"]


def _field(value) -> tuple[str, str]:
    """(value, display value) of a field read with sysparm_display_value=all (or a plain string)."""
    if isinstance(value, dict):
        return str(value.get("value") or ""), str(value.get("display_value") or "")
    return (str(value), str(value)) if value is not None else ("", "")


def _error_detail(body: dict | None) -> str:
    """ServiceNow's error text: {"error": {"message", "detail"}, "status": "failure"}."""
    error = (body or {}).get("error")
    if not isinstance(error, dict):
        return ""
    parts = [str(error[name]) for name in ("message", "detail") if error.get(name)]
    return " — ".join(parts)
