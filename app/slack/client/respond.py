"""Posting to a response_url (ephemeral answers to commands and button clicks)."""
from __future__ import annotations

import hashlib
import json
import logging
import os

import urllib3

from app.slack.client.web import SlackChannelUnavailable, narrow_response_url_failure

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10
HEADERS = {"Content-Type": "application/json; charset=utf-8"}
_pool: tuple[int, urllib3.PoolManager] | None = None


def response_url_key(url: str) -> str:
    """A short stable name for a response_url (for step records, never the secret URL itself)."""
    return hashlib.sha256(url.encode()).hexdigest()[:24]


def post_response(url: str, text: str, blocks: list[dict], replace_original: bool = False,
                  response_type: str = "ephemeral") -> None:
    """Post one message to response_url; raise our Slack errors when Slack refuses it.

    A click on the Home tab comes without a response_url: there is nowhere to answer, and the tab is
    republished with the new state instead.
    """
    if not url:
        log.info("no response_url (a Home tab click); answer not posted: %s", text[:200])
        return
    body = {"text": text, "blocks": blocks, "response_type": response_type, "replace_original": replace_original}
    response = _http().request("POST", url, body=json.dumps(body).encode(), headers=HEADERS,
                               timeout=TIMEOUT_SECONDS, retries=False)
    if response.status != 200:
        raise narrow_response_url_failure(response.status, response.data.decode("utf-8", "replace"), response.headers)


def _http() -> urllib3.PoolManager:
    # Kept-alive connections, one pool per process: slack_sdk's WebhookClient opens a new connection (and
    # TLS handshake) for every post, which cost a card job more than rendering it. A forked work-horse
    # opens its own rather than share its parent's sockets.
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), urllib3.PoolManager())
    return _pool[1]


def post_response_if_alive(url: str, text: str, blocks: list[dict], replace_original: bool = False) -> bool:
    """Post to response_url unless it expired or was used up (30 minutes, 5 posts); False when it was dead."""
    try:
        post_response(url, text, blocks, replace_original=replace_original)
        return True
    except SlackChannelUnavailable as exc:
        log.info("response_url no longer usable (%s); the answer was dropped", exc.error)
        return False
