"""Socket Mode: the same Bolt app and listeners over Slack's websocket (`python -m app.slack.ingress.socket_mode`)."""
from __future__ import annotations

import logging
import os
import sys

from flask import Flask
from slack_bolt.adapter.socket_mode import SocketModeHandler

from app.logs import clear
from app.slack.ingress.bolt_app import bolt_app
from app.slack.client.web import web_client


class AppContextSocketModeHandler(SocketModeHandler):
    """Bolt's built-in Socket Mode handler, dispatching each envelope inside the Flask app context."""

    def __init__(self, flask_app: Flask, **kwargs):
        self.flask_app = flask_app
        super().__init__(**kwargs)

    def handle(self, client, req) -> None:
        """Dispatch one envelope to the Bolt app and acknowledge it."""
        clear()  # a fresh log context per envelope, as each HTTP request starts with
        with self.flask_app.app_context():
            super().handle(client, req)


def build_socket_handler(flask_app: Flask) -> AppContextSocketModeHandler:
    """A Socket Mode handler on SLACK_APP_TOKEN for flask_app's Bolt app."""
    with flask_app.app_context():
        bolt = bolt_app()
        client = web_client()
    return AppContextSocketModeHandler(flask_app, app=bolt, app_token=flask_app.config["SLACK_APP_TOKEN"],
                                       web_client=client)


def main() -> None:
    """Connect to Slack over Socket Mode and serve until stopped (Procfile `socket`)."""
    from app import create_app

    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    flask_app = create_app()
    if not flask_app.config["SLACK_APP_TOKEN"]:
        sys.exit("SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-...).")
    build_socket_handler(flask_app).start()


if __name__ == "__main__":
    main()
