"""Calls to Slack: the Web API client and its one error rule, the installation store, users, response_url."""
