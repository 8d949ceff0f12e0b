"""Jobs for the Slack platform: mention replies."""
from __future__ import annotations

import logging

from app.extensions import db
from app.models import SlackWorkspace
from app.services.outbox import add_message
from app.slack.client.users import linked_email, no_account_message, toktra_user_for
from app.slack.client.web import WorkspaceClient
from jobs.slack_retry import reschedule_on_rate_limit
from jobs.steps import Steps

log = logging.getLogger(__name__)

MENTION_REPLY = "mention_reply"


@reschedule_on_rate_limit
def reply_to_mention(workspace_id: int, channel: str, thread_ts: str, slack_user_id: str) -> None:
    """Reply to @Toktra in the thread (an outbox message); tell a Slack user with no Toktra account so, privately."""
    workspace = db.session.get(SlackWorkspace, workspace_id)
    if workspace is None or not workspace.active:
        log.info("mention reply skipped: workspace %s is gone or inactive", workspace_id)
        return
    add_message(f"mention:{workspace_id}:{channel}:{thread_ts}", workspace.org_id, MENTION_REPLY,
                workspace_id=workspace_id, channel_id=channel, thread_ts=thread_ts)
    db.session.commit()
    if not slack_user_id:
        return
    client = WorkspaceClient(workspace)
    steps = Steps(f"mention:{workspace_id}:{channel}:{thread_ts}")
    if not steps.done("no-account") and toktra_user_for(workspace, slack_user_id, client) is None:
        client.chat_postEphemeral(channel=channel, user=slack_user_id, thread_ts=thread_ts,
                                  text=no_account_message(workspace, linked_email(workspace, slack_user_id)))
        steps.mark("no-account")
