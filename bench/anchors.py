"""What Toktra is measured against, in the same run: a bare Flask app and two no-op Bolt apps (the no-op RQ
job is bench.noop_job.noop).

    gunicorn bench.anchors:bare_flask              # POST /slack/events -> "ok"
    gunicorn bench.anchors:bolt_before_response    # Bolt, listener only calls ack(), process_before_response=True
    gunicorn bench.anchors:bolt_default            # the same with Bolt's default (listener on Bolt's thread pool)

The Bolt apps verify the signature (SLACK_SIGNING_SECRET) and authorize every request with a fixed
result, so they never call Slack; they do no dedupe, no lookup and no enqueue.
"""
from __future__ import annotations

import os

from flask import Flask, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult


def _bare() -> Flask:
    app = Flask("bare")

    @app.post("/slack/events")
    def events():
        return "ok"

    return app


def _fixed_authorize(enterprise_id, team_id, user_id, **_) -> AuthorizeResult:
    return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token="xoxb-bench-anchor",
                           bot_id="B0001BOT", bot_user_id="U0001BOT", user_id=user_id)


def _bolt(process_before_response: bool) -> Flask:
    bolt = App(signing_secret=os.environ.get("SLACK_SIGNING_SECRET", "bench-signing-secret"),
               authorize=_fixed_authorize, process_before_response=process_before_response)

    @bolt.command("/toktra-budget")
    def on_command(ack):
        ack()

    handler = SlackRequestHandler(bolt)
    app = Flask("bolt")

    @app.post("/slack/events")
    def events():
        return handler.handle(request)

    return app


bare_flask = _bare()
bolt_before_response = _bolt(True)
bolt_default = _bolt(False)
