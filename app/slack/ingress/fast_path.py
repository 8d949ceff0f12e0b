"""POST /slack/events without the app-wide request hooks that do nothing for it.

Sessions, CSRF, sign-in cookies and rate limits run for every request of the app, yet Slack's signature
is this endpoint's only authentication: for it they find nothing to do, and finding that out cost more
than the acknowledgement's own work. This WSGI middleware runs the endpoint in a request context (so
the view, the error handlers and the app context's teardown are the same) with only the hooks that
apply to it: the request id and access log line (app.logs) and the Slack metrics (app.metrics).
"""
from __future__ import annotations

from flask import Flask
from flask.ctx import RequestContext
from flask.sessions import NullSession

from app.logs import log_request, start_request
from app.metrics import count_slack_request, start_timer

PATH = "/slack/events"


class SlackEventsFastPath:
    """Wraps the app's WSGI callable; POST /slack/events goes straight to its view (Flask's order kept)."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        """Serve one WSGI request."""
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        from app.slack.ingress.routes import events

        app = self.app
        ctx = RequestContext(app, environ, session=NullSession())
        error: BaseException | None = None
        try:
            try:
                ctx.push()
                try:  # as Flask's full_dispatch_request, with these hooks only
                    start_request()
                    start_timer()
                    rv = events()
                except Exception as exc:
                    rv = app.handle_user_exception(exc)
                response = log_request(count_slack_request(app.make_response(rv)))
            except Exception as exc:
                error = exc
                response = app.handle_exception(exc)
            return response(environ, start_response)
        finally:
            ctx.pop(error)


def install(app: Flask) -> None:
    """Put the fast path in front of app's WSGI callable."""
    app.wsgi_app = SlackEventsFastPath(app, app.wsgi_app)
