"""Pace nudge jobs: "Stop these nudges" clicked in the DM (the DMs themselves are outbox messages)."""
from __future__ import annotations

import logging

from app.services.pace_nudges import stop_nudges
from app.slack.client.users import clicking_user
from jobs.slack_retry import reschedule_on_rate_limit

log = logging.getLogger(__name__)


@reschedule_on_rate_limit
def nudges_off_from_slack(workspace_id: int, value: str, slack_user_id: str, response_url: str) -> str:
    """Turn pace nudges off for the verified Slack user who clicked (whatever the button says); the DM follows."""
    clicked = clicking_user(workspace_id, slack_user_id, response_url)
    if isinstance(clicked, str):
        return clicked
    _, person = clicked
    stop_nudges(person)
    log.info("pace nudges turned off by %s", person.email)
    return "nudges off"
