"""Domain logic: no Slack, no HTTP, only models and rules."""
