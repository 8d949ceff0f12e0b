"""A local Slack sandbox: the Slack emulator with the demo workspace and a page that acts as a small Slack client.

`python -m devtools.sandbox` serves it (bin/serve does when no Slack credentials are set); see
devtools/sandbox/server.py for its endpoints.
"""
