"""Every benchmark in one command: `python -m bench` (or `bin/bench`); each also runs alone.

    .venv/bin/python -m bench [--skip fanout] [--only ack_load worker_rate ...]

Runs, one after the other, each with its anchors in the same invocation: ack_load (wrk; bare Flask and
two no-op Bolt apps), ack_cpu (CPU per acknowledgement in one process; the no-op Bolt app), ack_latency
(in-process and sequential; /healthz), worker_rate (RQ's own no-op rate), usage_ingest (PostgreSQL's copy
rate), usage_queries (the same answers from raw rows) and fanout (Slack's pace; it takes minutes:
`--skip fanout`). Prints each benchmark's table as it goes, then which failed their checks; the exit
status is 1 if any did.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

BENCHMARKS = ("ack_load", "ack_cpu", "ack_latency", "worker_rate", "usage_ingest", "usage_queries", "fanout")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks in order; 1 if any reported a problem."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", nargs="+", choices=BENCHMARKS, default=[])
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS)
    args = parser.parse_args(argv)
    chosen = [name for name in (args.only or BENCHMARKS) if name not in args.skip]
    failed = []
    for name in chosen:
        print(f"\n===== bench.{name} =====", flush=True)
        start = time.monotonic()
        try:
            status = importlib.import_module(f"bench.{name}").main([])
        except Exception:  # one benchmark's crash (a busy machine, a missing tool) does not stop the others
            traceback.print_exc()
            status = 1
        print(f"===== bench.{name}: {'ok' if status == 0 else 'PROBLEMS'} in {time.monotonic() - start:.0f} s =====",
              flush=True)
        if status:
            failed.append(name)
    print(f"\n{len(chosen) - len(failed)} of {len(chosen)} benchmarks passed their checks"
          + (f"; problems in {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
