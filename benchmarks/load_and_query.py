"""The benchmark's old name: `python -m benchmarks.load_and_query ...` runs benchmarks/run.py (same options)."""

import sys

from benchmarks.run import main

if __name__ == "__main__":
    sys.exit(main())
