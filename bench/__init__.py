"""Benchmarks for the Toktra Slack service (not part of the pytest suite): python -m bench.<name>."""
