"""Slash-command jobs: resolve the caller, compute, render, answer through response_url."""
from __future__ import annotations

import logging

from flask import current_app

from app.slack.blocks.cards import notice
from app.slack.commands import answer_command
from app.slack.client.respond import post_response, response_url_key
from app.slack.client.users import linked_email, linked_user, no_account_message, workspace_and_link
from app.slack.client.web import SlackTokenRevoked, WorkspaceClient
from jobs.slack_retry import reschedule_on_rate_limit
from jobs.steps import Steps

log = logging.getLogger(__name__)


@reschedule_on_rate_limit
def run_command(workspace_id: int, command: str, text: str, slack_user_id: str, response_url: str) -> int:
    """Answer a slash command with ephemeral cards; returns how many messages were posted."""
    workspace, link = workspace_and_link(workspace_id, slack_user_id)
    if workspace is None or not workspace.active:
        log.info("%s skipped: workspace %s is gone or inactive", command, workspace_id)
        return 0
    try:
        caller = linked_user(workspace, slack_user_id, link, WorkspaceClient(workspace))
    except SlackTokenRevoked:
        # The response_url still works without the revoked token: say what happened.
        post_response(response_url, *notice(":warning: Toktra's access to this Slack workspace was revoked. "
                                            "Ask a Toktra admin to reinstall it from Integrations → Slack."))
        return 1
    if caller is None:
        messages = [notice(no_account_message(workspace, linked_email(workspace, slack_user_id)))]
    else:
        messages = answer_command(workspace.organization, caller, command, text,
                                  current_app.config["PUBLIC_BASE_URL"])
    # A rerun (retry, 429) skips the messages already posted.
    steps = Steps(f"response:{response_url_key(response_url)}", ttl_seconds=3600)
    for index, (message_text, blocks) in enumerate(messages):
        if not steps.done(str(index)):
            post_response(response_url, message_text, blocks)
            steps.mark(str(index))
    return len(messages)
