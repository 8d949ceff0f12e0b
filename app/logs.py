"""One JSON object per log line, with the request or job id and the organization and workspace ids, and
secrets scrubbed from every line (tokens, keys, passwords, the service's own secrets)."""
from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import os
import re
import sys
import time
from urllib.parse import unquote_to_bytes

from flask import Flask, g, has_request_context, request
from rq import get_current_job

from app.ids import random_uuid

REDACTED = "[redacted]"
# Config values that are secrets: each is scrubbed wherever it appears (and each Fernet key of a list).
SECRET_SETTINGS = ("SECRET_KEY", "TOKTRA_ENCRYPTION_KEY", "SLACK_SIGNING_SECRET", "SLACK_CLIENT_SECRET",
                   "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "METRICS_TOKEN", "SENTRY_DSN")
# Secrets by shape, whoever logs them (a library's debug line, an exception's repr); each with the
# lower-case words one of its matches must contain, so that a line with none of them skips the pattern.
SECRET_PATTERNS = [
    (re.compile(r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]+"), REDACTED, ("xox", "xapp")),  # Slack tokens
    (re.compile(r"\btok_[0-9a-f]{8}_[A-Za-z0-9_-]+"), REDACTED, ("tok_",)),  # Toktra API keys
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.I), r"\1 " + REDACTED, ("bearer", "basic")),
    (re.compile(r"(://)[^/\s:@'\"]+:[^/\s@'\"]+@"), r"\1" + REDACTED + "@", ("://",)),  # user:password@ in URLs
    # "password": "...", 'client_secret': '...', api_token=... in JSON, dict reprs and forms
    (re.compile(r"""((?:password|passwd|api_token|client_secret|secret|token|refresh_token|access_token|"""
                r"""signing_secret|authorization)\\?["']?\s*[:=]\s*\\?["']?)[^"'\\&\s,}]+""", re.I), r"\1" + REDACTED,
     ("passw", "secret", "token", "authorization")),
]

_context: contextvars.ContextVar[dict] = contextvars.ContextVar("toktra_log_context", default={})
_secrets: list[str] = []  # longest first, so that a secret containing another is replaced whole


def bind(**ids) -> None:
    """Add ids (org_id, workspace_id...) to every log line of the current request or job."""
    _context.set({**_context.get(), **{k: v for k, v in ids.items() if v is not None}})


def clear() -> None:
    """Start a fresh log context (a new request or job)."""
    _context.set({})


def remember_secrets(config) -> None:
    """Scrub these config values from every log line from now on."""
    for name in SECRET_SETTINGS:
        for value in str(config.get(name) or "").split(","):
            value = value.strip()
            if len(value) >= 8:
                _remember(value)
    database_url = str(config.get("SQLALCHEMY_DATABASE_URI") or "")
    match = re.search(r"://[^/:@]+:([^/@]+)@", database_url)
    if match and len(match.group(1)) >= 4:
        _remember(match.group(1))


def _remember(secret: str) -> None:
    if secret not in _secrets:
        _secrets.append(secret)
        _secrets.sort(key=len, reverse=True)


def scrub(text: str) -> str:
    """text with every known secret and every secret-shaped string replaced by [redacted]."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    lowered = text.lower()
    for pattern, replacement, words in SECRET_PATTERNS:
        if any(word in lowered for word in words):
            text = pattern.sub(replacement, text)
    return text


_TEAM = re.compile(rb'"team(?:_id)?"\s*:\s*(?:\{[^{}]*?"id"\s*:\s*)?"([TE][A-Z0-9]{2,20})"|\bteam_id=([TE][A-Z0-9]{2,20})')


def _slack_team() -> str | None:
    if request.path != "/slack/events":
        return None
    match = _TEAM.search(unquote_to_bytes(request.get_data(cache=True)[:16384]))
    return (match.group(1) or match.group(2)).decode() if match else None


class ContextFilter(logging.Filter):
    """Adds request_id, job_id and job, org_id, workspace_id and the Slack team to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach the ids of the request or job this record belongs to."""
        ids = dict(_context.get())
        if has_request_context():
            ids.setdefault("request_id", g.get("request_id"))
            if "org_id" not in ids:
                ids["org_id"] = _signed_in_org()
            if "slack_team" not in ids:  # Slack requests bind it once authorized; read from the body otherwise
                ids["slack_team"] = _slack_team()
        job = get_current_job()
        if job is not None:
            ids.setdefault("job_id", job.id)
            ids.setdefault("job", job.func_name)
            for name in ("org_id", "workspace_id"):
                if name in (job.kwargs or {}):
                    ids.setdefault(name, job.kwargs[name])
        fields = record.__dict__
        for name, value in ids.items():
            if value is not None and name not in fields:
                fields[name] = value
        return True


def _signed_in_org() -> int | None:
    org = g.get("org")  # the REST API's key
    if org is not None:
        return getattr(org, "id", None)
    user = g.get("_login_user")  # Flask-Login, only if this request already loaded the user
    return getattr(user, "org_id", None)


# What every LogRecord carries; any other attribute of a record is a field of its line (logging's extra=,
# the ids ContextFilter adds).
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _json_value(value) -> str:
    """A value JSON has no type for, as a log line shows it."""
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


_encode = json.JSONEncoder(default=_json_value).encode


class JsonLineFormatter(logging.Formatter):
    """Each record as one JSON object: time (ISO 8601, UTC), level, logger, message, the record's extra fields and
    its traceback; secrets scrubbed from the finished line.

    Written here rather than taken from a library: the access log writes a line per request, and
    python-json-logger's formatter, which builds a new encoder for every line, cost an acknowledgement a
    third more (72 against 50 µs measured in place).
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one scrubbed JSON line."""
        line = {"time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(),
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRIBUTES and name[0] != "_":
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)  # kept for other handlers, as logging does
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return scrub(_encode(line))


def json_handler(stream=None) -> logging.Handler:
    """A handler writing scrubbed JSON lines with context ids to stream (stderr by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(ContextFilter())
    handler.toktra_json = True
    return handler


def configure_logging(config) -> None:
    """Send every log record of this process to stderr as JSON (LOG_FORMAT=plain keeps plain text)."""
    remember_secrets(config)
    root = logging.getLogger()
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    if os.environ.get("LOG_FORMAT", "json").lower() == "plain":
        if not root.handlers:
            logging.basicConfig()
        for handler in root.handlers:
            handler.addFilter(ContextFilter())
        return
    # Replace plain console handlers (logging.basicConfig's); leave any other (a test runner's capture) alone.
    for handler in [h for h in root.handlers if type(h) is logging.StreamHandler and not getattr(h, "toktra_json", False)]:
        root.removeHandler(handler)
    if not any(getattr(h, "toktra_json", False) for h in root.handlers):
        root.addHandler(json_handler())


request_log = logging.getLogger("toktra.request")
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def start_request() -> None:
    """Before a request: a fresh log context and the request's id."""
    clear()
    g.request_started = time.perf_counter()
    incoming = request.headers.get("X-Request-Id", "")
    g.request_id = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else random_uuid().hex


def log_request(response):
    """After a request: its access log line, and its id in X-Request-Id."""
    # The access log: one line per request, with its ids (gunicorn's own access log has none).
    if "request_id" in g:
        response.headers["X-Request-Id"] = g.request_id
        request_log.info("%s %s %s", request.method, request.path, response.status_code,
                         extra={"method": request.method, "path": request.path, "status": response.status_code,
                                "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 1)})
    return response


def init_app(app: Flask) -> None:
    """Give each request an id (X-Request-Id, kept when the caller sent a sane one), log one line per
    request, and learn the secrets to scrub."""
    remember_secrets(app.config)
    app.before_request(start_request)
    app.after_request(log_request)
