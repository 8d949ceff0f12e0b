"""Requests from Slack: the Bolt app, its listeners (acknowledge and queue only), authorization, dedupe, OAuth."""
