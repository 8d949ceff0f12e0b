"""python -m devtools.sandbox: serve the Slack sandbox."""
from devtools.sandbox.server import main

main()
