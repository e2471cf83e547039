"""Throughput, latency, CPU and queues of a running Newsflow (`make up` first), end to end.

The bench itself is the `benchmark` package (benchmark/run.py); this is its entry point for
`make bench`, which runs scripts/ceiling.py first and hands its JSON over with --ceiling.
Traffic goes only to the gateway URL given (default: the local stack).
Usage: python scripts/bench.py [--url http://127.0.0.1:8000] [-n 200] [--batch 50]
           [--corpus french|multilingual] [--eval-data ../shared/eval] [--idle 50]
           [--ceiling build/bench-ceiling.json] [--json build/bench.json]
           [--plot build/bench-queues.png] [--project main]
       python scripts/bench.py --render build/bench.json   (the table of an earlier run)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmark.run import main

if __name__ == "__main__":
    sys.exit(main())
