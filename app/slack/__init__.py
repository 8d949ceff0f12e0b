"""Slack: ingress/ (requests from Slack), client/ (calls to Slack), blocks/ (Block Kit builders), the action ids
and button values (actions.py), slash-command arguments and answers."""
