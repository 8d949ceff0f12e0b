"""Socket Mode: the same listeners over a websocket, against a local server playing Slack's side."""
from __future__ import annotations

import json
import queue as stdlib_queue
import threading

import pytest
from websockets.sync.server import serve

from app.slack.ingress.socket_mode import build_socket_handler


class FakeSlackSocket:
    """A websocket server that greets the app, sends envelopes and collects its acknowledgements."""

    def __init__(self):
        self.outbox: stdlib_queue.Queue = stdlib_queue.Queue()
        self.acks: stdlib_queue.Queue = stdlib_queue.Queue()
        self.server = serve(self._session, "127.0.0.1", 0)
        self.port = self.server.socket.getsockname()[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link"

    def _session(self, ws):
        ws.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0001"}}))
        while True:
            try:
                envelope = self.outbox.get(timeout=0.05)
                ws.send(json.dumps(envelope))
            except stdlib_queue.Empty:
                pass
            try:
                self.acks.put(json.loads(ws.recv(timeout=0.05)))
            except TimeoutError:
                pass
            except Exception:
                return

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def slack_socket(app, slack):
    server = FakeSlackSocket()
    slack.socket_mode_url = server.url
    app.config["SLACK_APP_TOKEN"] = slack.add_app_token()
    yield server
    server.stop()


def test_a_mention_over_socket_mode_is_acknowledged_and_answered(app, slack, slack_socket, workspace, queue,
                                                                 run_worker):
    slack.add_channel("C0001", "general")
    handler = build_socket_handler(app)
    handler.connect()
    try:
        slack_socket.outbox.put({
            "envelope_id": "env-1",
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": 0,
            "payload": {"type": "event_callback", "team_id": "T0001", "api_app_id": "A0001", "event_id": "EvSOCK1",
                        "event": {"type": "app_mention", "user": "U0001", "text": "<@UT0001BOT> hi",
                                  "ts": "1700000000.000900", "channel": "C0001"}},
        })
        ack = slack_socket.acks.get(timeout=10)
    finally:
        handler.close()
    assert ack["envelope_id"] == "env-1"
    assert [c.token for c in slack.calls_to("apps.connections.open")] == [app.config["SLACK_APP_TOKEN"]]
    run_worker()
    [reply] = slack.messages("C0001")
    assert reply["thread_ts"] == "1700000000.000900"
