"""Interleaved A/B of the load and of the report across code trees, on one CSV folder.

    git worktree add /tmp/old REV        # the code before a change
    python -m benchmarks.ab CSV /tmp/old . --rounds 3

The hosts this was measured on drift by 20-70% within an hour (benchmarks/README.md), so a change is timed
against the code before it in the same minutes: each round runs, for every tree in turn and each in a fresh
process, its loader (`queries.load.load(CSV, a temporary .duckdb)`, as benchmarks.run's load phase does) and
its report from the CSV folder (`python -m queries.report --data CSV --format json`, wall time of the whole
process, as benchmarks.run's report phase does). Printed: each run, then per tree the medians and their
ratio to the first tree's. benchmarks.compare does the same for the page queries.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run in the tree's own directory, so that `queries` is that tree's.
LOAD = """
import sys, time
from queries.load import load
began, cpu = time.perf_counter(), time.process_time()
load(sys.argv[1], sys.argv[2]).connection.close()
print(time.perf_counter() - began, time.process_time() - cpu)
"""


def tree_path(text: str) -> Path:
    path = Path(text).resolve()
    if not (path / "queries" / "load.py").is_file():
        raise argparse.ArgumentTypeError(f"{text}: no queries/load.py there")
    return path


def timed_load(tree: Path, csv_dir: Path, db: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one load by `tree`."""
    done = subprocess.run([sys.executable, "-c", LOAD, str(csv_dir), str(db)], cwd=tree,
                          capture_output=True, text=True, check=True)
    wall, cpu = done.stdout.split()[-2:]  # the loader may print progress before
    return float(wall), float(cpu)


def timed_report(tree: Path, csv_dir: Path) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "queries.report", "--data", str(csv_dir), "--format", "json"],
                   cwd=tree, capture_output=True, check=True)
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ab", description=__doc__.splitlines()[0])
    parser.add_argument("csv_dir", type=Path, metavar="CSV", help="a folder of CSV exports")
    parser.add_argument("trees", type=tree_path, nargs="+", metavar="TREE", help="code trees; the first is the baseline")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip", choices=("load", "report"), help="time only the other one")
    args = parser.parse_args(argv)

    loads: dict[Path, list[tuple[float, float]]] = {tree: [] for tree in args.trees}
    reports: dict[Path, list[float]] = {tree: [] for tree in args.trees}
    with tempfile.TemporaryDirectory(prefix="ab-") as work:
        for round_number in range(1, args.rounds + 1):
            for tree in args.trees:
                if args.skip != "load":
                    loads[tree].append(timed_load(tree, args.csv_dir, Path(work) / "clinic.duckdb"))
                    print(f"round {round_number} {tree}: load {loads[tree][-1][0]:.2f} s "
                          f"({loads[tree][-1][1]:.2f} CPU-s)", flush=True)
                if args.skip != "report":
                    reports[tree].append(timed_report(tree, args.csv_dir))
                    print(f"round {round_number} {tree}: report {reports[tree][-1]:.2f} s", flush=True)

    base = args.trees[0]
    print(f"\nmedians over {args.rounds} rounds (ratio to {base}):")
    for tree in args.trees:
        parts = []
        if loads[tree]:
            wall = statistics.median(w for w, _ in loads[tree])
            cpu = statistics.median(c for _, c in loads[tree])
            parts.append(f"load {wall:.2f} s ({wall / statistics.median(w for w, _ in loads[base]):.2f}), "
                         f"{cpu:.2f} CPU-s")
        if reports[tree]:
            wall = statistics.median(reports[tree])
            parts.append(f"report {wall:.2f} s ({wall / statistics.median(reports[base]):.2f})")
        print(f"  {tree}: " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
