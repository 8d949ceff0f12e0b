"""ServiceNow and Jira clients behind one small interface, for RQ jobs that open a ticket for an alert.

Every call makes plain HTTP requests with a timeout and no automatic retries; failures become ItsmError,
whose `retryable` and `retry_after` tell the job whether and when to try again. Creating a ticket is not
idempotent, so a retry should call find_ticket(correlation_key) before create_ticket again.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import json
import math
import re
import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlparse

import requests

from app.metrics import observe_itsm_call

TIMEOUT = (10, 10)  # seconds: connect, read
RATE_LIMIT_BACKOFF = 60  # seconds to wait after a 429 that names no time
OUTAGE_BACKOFF = 30  # seconds to wait after a 5xx, timeout or connection error that names no time
SEVERITIES = ("low", "medium", "high", "critical")
# Safe as a Jira label (no spaces), inside a quoted JQL string and in a ServiceNow encoded query (no ^).
CORRELATION_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
DETAIL_LIMIT = 300


@dataclass(frozen=True)
class TicketRef:
    """A ticket in the external system."""

    key: str  # "INC0010002" or "OPS-123"
    url: str  # the ticket's page for humans
    external_id: str  # ServiceNow sys_id or Jira issue id


@dataclass(frozen=True)
class TicketRequest:
    """What to put in a new ticket."""

    correlation_key: str  # stored on the ticket so that a retry finds it instead of creating a duplicate
    summary: str  # one line
    description: str  # plain text, several lines
    link: str  # URL back to the alert in Toktra
    severity: str  # low | medium | high | critical

    def __post_init__(self):
        check_correlation_key(self.correlation_key)
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {self.severity!r}")


@dataclass(frozen=True)
class TicketStatus:
    """A ticket as the connector reports it now: where it is, its status's name, and whether that is closed."""

    ref: TicketRef
    status: str  # "In Progress", "Done", "Resolved"...
    closed: bool  # Jira's "done" status category; ServiceNow's Resolved, Closed and Canceled states


class ItsmError(Exception):
    """A failed ITSM call: `message` is user-facing; `retryable` and `retry_after` (seconds) guide the job."""

    def __init__(self, message: str, *, retryable: bool = False, retry_after: int | None = None,
                 status: int | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status  # the HTTP status, when there was one


class ItsmClient(Protocol):
    """What every ITSM client offers."""

    def test_connection(self) -> str:
        """Check the URL, credentials and project; return a one-line success message or raise ItsmError."""
        ...

    def find_ticket(self, correlation_key: str) -> TicketRef | None:
        """The ticket created earlier with this correlation key, or None."""
        ...

    def create_ticket(self, request: TicketRequest) -> TicketRef:
        """Open a ticket; raise ItsmError on failure."""
        ...

    def fetch_ticket(self, key: str) -> TicketStatus:
        """The ticket with this key (Jira issue key, ServiceNow number or sys_id) and its status; ItsmError if
        it does not exist or cannot be read."""
        ...


KIND_LABELS = {"servicenow": "ServiceNow", "jira_cloud": "Jira Cloud", "jira_server": "Jira Server"}


def client_for(connector) -> ItsmClient:
    """The client for an ItsmConnector-like object (kind, base_url, credentials JSON, project, issue_type)."""
    from app.itsm.jira import JiraClient
    from app.itsm.servicenow import ServiceNowClient

    kind = connector.kind
    if kind not in KIND_LABELS:
        raise ItsmError(f"Unknown ticketing system {kind!r}.")
    label = KIND_LABELS[kind]
    base_url = (connector.base_url or "").strip().rstrip("/")
    if not base_url.startswith(("https://", "http://")):
        raise ItsmError(f"The {label} connector needs a base URL starting with https://.")
    credentials = _parse_credentials(connector.credentials, label)
    project = (connector.project or "").strip() or None
    if kind == "servicenow":
        return ServiceNowClient(base_url, credentials, assignment_group=project)
    if not project:
        raise ItsmError(f"The {label} connector needs a project key.")
    return JiraClient(base_url, credentials, project=project, issue_type=connector.issue_type,
                      cloud=(kind == "jira_cloud"))


def _parse_credentials(raw, label: str) -> dict:
    """The credentials as a dict; never echoes their content."""
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw or "")
    except (TypeError, ValueError):
        value = None
    if not isinstance(value, dict):
        raise ItsmError(f"The {label} connector's credentials are not a valid JSON object; enter them again.")
    return value


def require(credentials: dict, label: str, *names: str) -> list[str]:
    """The named credential values, or ItsmError naming the missing ones (not their values)."""
    missing = [n for n in names if not isinstance(credentials.get(n), str) or not credentials[n].strip()]
    if missing:
        raise ItsmError(f"The {label} connector's credentials lack {' and '.join(missing)}; enter them again.")
    return [credentials[n].strip() for n in names]


def check_correlation_key(key: str) -> str:
    """key, if it is usable as a Jira label and in queries; else ValueError (a programming error)."""
    if not isinstance(key, str) or not CORRELATION_KEY.fullmatch(key):
        raise ValueError(f"correlation key must match {CORRELATION_KEY.pattern}, got {key!r}")
    return key


def one_line(text: str, limit: int) -> str:
    """text on one line, cut to limit characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def send(session: requests.Session, method: str, url: str, *, system: str, **kwargs) -> requests.Response:
    """One HTTP request with the standard timeout and no redirects; network failures become ItsmError."""
    host = urlparse(url).hostname  # never the user:password@ part of a URL
    started, outcome = time.perf_counter(), "connection_error"
    try:
        response = session.request(method, url, timeout=TIMEOUT, allow_redirects=False, **kwargs)
        outcome = str(response.status_code)
        return response
    except requests.exceptions.Timeout as exc:
        outcome = "timeout"
        phase = "connect" if isinstance(exc, requests.exceptions.ConnectTimeout) else "answer"
        maybe_created = method == "POST" and phase == "answer"
        hint = " The ticket may have been created; look it up before creating it again." if maybe_created else ""
        raise ItsmError(f"{system} at {host} did not {phase} within {TIMEOUT[0]} s.{hint}",
                        retryable=True, retry_after=OUTAGE_BACKOFF) from None
    except requests.exceptions.SSLError:
        raise ItsmError(f"The TLS certificate of {system} at {host} could not be verified.") from None
    except requests.exceptions.ConnectionError:
        raise ItsmError(f"Could not connect to {system} at {host}.",
                        retryable=True, retry_after=OUTAGE_BACKOFF) from None
    except requests.exceptions.RequestException:
        raise ItsmError(f"The {system} base URL is not usable; check it.") from None
    finally:
        observe_itsm_call(system, method, started, outcome)


def status_error(system: str, response: requests.Response, detail: str, *, auth_hint: str,
                 not_found_hint: str) -> ItsmError:
    """The ItsmError for an unsuccessful HTTP answer; detail is the system's own error text, if any."""
    status = response.status_code
    detail = one_line(detail, DETAIL_LIMIT).rstrip(".") if detail else ""
    suffix = f": {detail}" if detail else ""
    if status == 400:
        return ItsmError(f"{system} rejected the request (400){suffix or ': no reason given'}.", status=status)
    if status == 401:
        return ItsmError(f"{system} rejected the credentials (401): {auth_hint}.", status=status)
    if status == 403:
        return ItsmError(f"{system} refused access (403): the account lacks permission{suffix}.", status=status)
    if status == 404:
        return ItsmError(f"{system} answered 404: {not_found_hint}.", status=status)
    if status == 429:
        wait = retry_delay(response.headers, RATE_LIMIT_BACKOFF)
        return ItsmError(f"{system} is rate limiting requests (429); try again in {wait} s.",
                         retryable=True, retry_after=wait, status=status)
    if status >= 500:
        wait = retry_delay(response.headers, OUTAGE_BACKOFF)
        return ItsmError(f"{system} is unavailable ({status}){suffix}; try again in {wait} s.",
                         retryable=True, retry_after=wait, status=status)
    if 300 <= status < 400:
        where = response.headers.get("Location", "elsewhere")
        return ItsmError(f"{system} redirected the request ({status}) to {where}; check the base URL.",
                         status=status)
    return ItsmError(f"{system} answered with unexpected status {status}{suffix}.", status=status)


def retry_delay(headers, fallback: int) -> int:
    """Seconds to wait, from Retry-After (seconds or HTTP date) or X-RateLimit-Reset (Unix time or ISO 8601)."""
    now = dt.datetime.now(dt.timezone.utc)
    value = (headers.get("Retry-After") or "").strip()
    if value:
        if value.isdigit():
            return max(1, int(value))
        try:
            return _seconds_until(email.utils.parsedate_to_datetime(value), now)
        except (TypeError, ValueError):
            pass
    value = (headers.get("X-RateLimit-Reset") or "").strip()
    if value:
        if value.isdigit():
            number = int(value)
            # ServiceNow sends a Unix time; a small number can only be a delay in seconds.
            return max(1, number - int(now.timestamp())) if number > 1_000_000_000 else max(1, number)
        try:
            return _seconds_until(dt.datetime.fromisoformat(value), now)
        except ValueError:
            pass
    return fallback


def _seconds_until(when: dt.datetime, now: dt.datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(1, math.ceil((when - now).total_seconds()))


def json_body(response: requests.Response) -> dict | None:
    """The response's JSON object, or None when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
