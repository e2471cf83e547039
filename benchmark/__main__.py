"""python -m benchmark [...]: one bench run (see benchmark/run.py); make bench calls it."""

import sys

from benchmark.run import main

sys.exit(main())
