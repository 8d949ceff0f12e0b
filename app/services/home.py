"""The outbox messages that keep each opened App Home tab current (what they show: home_content.py)."""
from __future__ import annotations

from app.services.outbox import add_message, refresh_message, refresh_messages

HOME_VIEW = "home_view"  # outbox kind: subject is the organization, recipient a Slack user of a workspace


def home_key(workspace_id: int, slack_user_id: str) -> str:
    """The outbox key of one person's Home tab in one workspace (one row, republished on every change)."""
    return f"home:{workspace_id}:{slack_user_id}"


def publish_home(org_id: int, workspace_id: int, slack_user_id: str) -> None:
    """Someone opened Toktra's Home tab: (re)publish it with the current state, in the caller's transaction."""
    key = home_key(workspace_id, slack_user_id)
    add_message(key, org_id, HOME_VIEW, org_id, workspace_id=workspace_id, recipient_user_id=slack_user_id)
    refresh_message(key)


def refresh_homes(org_id: int) -> int:
    """What the organization's Home tabs show changed: republish each one opened so far (coalesced while waiting)."""
    return refresh_messages(HOME_VIEW, org_id)
