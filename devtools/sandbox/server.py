"""The sandbox's HTTP side: the Slack emulator's Web API plus the page at /sandbox and its JSON endpoints.

    python -m devtools.sandbox --port 3910 --app-url http://127.0.0.1:5000 --signing-secret SECRET

bin/serve starts it when no Slack credentials are set. Endpoints added to the emulator's:
GET /sandbox (the page), GET /sandbox/static/<file>, GET /sandbox/api/view?user=U...&conversation=C...
(&since=<version> answers {"unchanged": true} when nothing changed), POST /sandbox/api/send
{"user", "conversation", "text"} and POST /sandbox/api/click {"user", "conversation", "message_ts",
"action": {"action_id", "block_id", "value"}, "state": {...}}.
"""
from __future__ import annotations

import argparse
import json
import mimetypes
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from devtools.sandbox.emulator import SandboxEmulator, SandboxInputError
from devtools.sandbox.workspace import BOT_TOKEN, USERS
from devtools.slack_emulator import _Handler

STATIC = Path(__file__).with_name("static")


class SandboxHandler(_Handler):
    """The emulator's handler, with the sandbox's page and endpoints under /sandbox."""

    def _handle(self, http_method: str) -> None:
        path = urlsplit(self.path).path
        if path == "/":
            return self._reply(302, b"", "text/plain", {"Location": "/sandbox"})
        if path == "/sandbox" or path.startswith("/sandbox/"):
            return self._sandbox(http_method, path)
        return super()._handle(http_method)

    def _reply(self, status: int, data: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, body: Any) -> None:
        self._reply(status, json.dumps(body).encode(), "application/json; charset=utf-8")

    def _sandbox(self, http_method: str, path: str) -> None:
        emulator: SandboxEmulator = self.server.emulator  # type: ignore[attr-defined]
        query = dict(parse_qsl(urlsplit(self.path).query))
        if http_method == "GET" and path in ("/sandbox", "/sandbox/"):
            return self._static("sandbox.html")
        if http_method == "GET" and path.startswith("/sandbox/static/"):
            return self._static(path[len("/sandbox/static/"):])
        try:
            if http_method == "GET" and path == "/sandbox/api/view":
                view = emulator.view(query.get("user") or USERS[0].id, query.get("conversation"))
                if query.get("since") == view["version"]:
                    return self._json(200, {"unchanged": True, "version": view["version"]})
                return self._json(200, view)
            if http_method == "POST" and path in ("/sandbox/api/send", "/sandbox/api/click"):
                body = self._json_body()
                if path.endswith("/send"):
                    emulator.send_text(body.get("user"), body.get("conversation"), body.get("text"))
                else:
                    action = body.get("action")
                    if not isinstance(action, dict) or not action.get("action_id"):
                        raise SandboxInputError('"action" must be an object with the clicked element\'s action_id')
                    state = body.get("state") if isinstance(body.get("state"), dict) else None
                    emulator.click(body.get("user"), body.get("conversation"), str(body.get("message_ts", "")),
                                   action, state)
                return self._json(200, {"ok": True})
            if http_method == "POST" and path == "/sandbox/api/home":
                emulator.open_home(self._json_body().get("user"))
                return self._json(200, {"ok": True})
            if http_method == "POST" and path == "/sandbox/api/modal":
                body = self._json_body()
                if body.get("close"):
                    emulator.close_modal(body.get("user"), str(body.get("view_id", "")))
                    return self._json(200, {"ok": True})
                state = body.get("state") if isinstance(body.get("state"), dict) else {}
                return self._json(200, emulator.submit_modal(body.get("user"), str(body.get("view_id", "")), state))
        except SandboxInputError as exc:
            return self._json(400, {"ok": False, "error": str(exc)})
        return self._json(404, {"ok": False, "error": f"no {http_method} {path} in the sandbox"})

    def _json_body(self) -> dict:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise SandboxInputError("the request body must be JSON") from None
        if not isinstance(body, dict):
            raise SandboxInputError("the request body must be a JSON object")
        return body

    def _static(self, name: str) -> None:
        file = (STATIC / name).resolve()
        if file.parent != STATIC.resolve() or not file.is_file():
            return self._json(404, {"ok": False, "error": f"no file {name}"})
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        self._reply(200, file.read_bytes(), f"{content_type}; charset=utf-8")


def main(argv: list[str] | None = None) -> None:
    """Serve the sandbox (emulator + page) until interrupted."""
    parser = argparse.ArgumentParser(description="Toktra's local Slack sandbox: the Slack emulator with the "
                                                 "demo workspace and a small Slack client page.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3910)
    parser.add_argument("--app-url", default="http://127.0.0.1:5000", help="the Toktra app (its /slack/events)")
    parser.add_argument("--signing-secret", required=True, help="the app's SLACK_SIGNING_SECRET")
    parser.add_argument("--log", default="-", help="where to log every Web API call in full ('-' = stdout)")
    args = parser.parse_args(argv)
    if os.environ.get("TOKTRA_ENV", "").strip().lower() == "production":
        sys.exit("The Slack sandbox is for local runs only; it does not start with TOKTRA_ENV=production.")

    out = sys.stdout if args.log == "-" else open(args.log, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    emulator = SandboxEmulator(args.app_url, args.signing_secret, host=args.host, port=args.port,
                               log=lambda line: print(line, file=out, flush=True))
    try:
        emulator.start()
    except OSError as exc:
        sys.exit(f"The Slack sandbox cannot listen on {args.host}:{args.port}: {exc.strerror}. "
                 "Choose another port (SLACK_SANDBOX_PORT for bin/serve).")
    print(f"Slack sandbox on {emulator.url}sandbox  (SLACK_API_URL={emulator.url}api/ "
          f"SLACK_BOT_TOKEN={BOT_TOKEN})", flush=True)
    emulator.serve_until_interrupted()


if __name__ == "__main__":
    main()
