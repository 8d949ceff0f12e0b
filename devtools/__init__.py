"""Developer tools: the local Redis-compatible server and (later) the Slack emulator."""
