"""Jobs that talk to Slack for the platform: mention replies."""
from __future__ import annotations

import logging

from app.extensions import db
from app.models import SlackWorkspace
from app.slack.messages import render_mention_help
from app.slack.users import linked_email, no_account_message, toktra_user_for
from app.slack.web import WorkspaceClient
from jobs.slack_retry import reschedule_on_rate_limit
from jobs.steps import Steps

log = logging.getLogger(__name__)


@reschedule_on_rate_limit
def reply_to_mention(workspace_id: int, channel: str, thread_ts: str, slack_user_id: str) -> None:
    """Reply to @Toktra in the thread; tell a Slack user with no Toktra account so, privately."""
    workspace = db.session.get(SlackWorkspace, workspace_id)
    if workspace is None or not workspace.active:
        log.info("mention reply skipped: workspace %s is gone or inactive", workspace_id)
        return
    client = WorkspaceClient(workspace)
    steps = Steps(f"mention:{workspace_id}:{channel}:{thread_ts}")
    if not steps.done("reply"):
        text, blocks = render_mention_help()
        client.call("chat_postMessage", channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
        steps.mark("reply")
    if slack_user_id and not steps.done("no-account") and toktra_user_for(workspace, slack_user_id, client) is None:
        client.call("chat_postEphemeral", channel=channel, user=slack_user_id, thread_ts=thread_ts,
                    text=no_account_message(workspace, linked_email(workspace, slack_user_id)))
        steps.mark("no-account")
