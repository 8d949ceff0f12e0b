"""Slack: the Bolt app, its listeners, the installation store and the Web API layer jobs use."""
