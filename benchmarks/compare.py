"""Interleaved A/B of every page's queries across code trees, each on its own database.

    git worktree add /tmp/old REV        # the code before a change
    (cd /tmp/old && python -m queries.load CSV --db /tmp/old.duckdb)
    python -m benchmarks.compare /tmp/old:/tmp/old.duckdb .:clinic.duckdb --rounds 3

The hosts this was measured on drift by 20-70% within an hour, so two benchmark runs an hour apart say little
about a change. Here each round runs every tree's page queries (`benchmarks.run --child queries`: its own
PAGE_QUERIES, one cold and --runs warm runs of each page's list) in a fresh process, one tree after the other,
so the drift falls on all of them alike. Printed: per page and view (default, narrow), the median over rounds
of each tree's warm median, and its ratio to the first tree's. A tree is any checkout that has benchmarks/run.py
(issue 8 onwards); its database must have been built by that tree's loader (schemas differ).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path


def parse_pair(text: str) -> tuple[Path, Path]:
    tree, sep, db = text.rpartition(":")
    if not sep or not tree or not db:
        raise argparse.ArgumentTypeError(f"expected TREE:DATABASE, not {text!r}")
    tree_path, db_path = Path(tree).resolve(), Path(db).resolve()
    if not (tree_path / "benchmarks" / "run.py").is_file():
        raise argparse.ArgumentTypeError(f"{tree}: no benchmarks/run.py there")
    if not db_path.is_file():
        raise argparse.ArgumentTypeError(f"{db}: no such database")
    return tree_path, db_path


def page_times(tree: Path, db: Path, runs: int) -> dict[str, dict[str, float]]:
    """{view: {page: warm median seconds}} from one run of `tree`'s query phase on `db`."""
    spec = json.dumps({"db_path": str(db), "runs": runs})
    done = subprocess.run([sys.executable, "-m", "benchmarks.run", "--child", "queries", spec],
                          cwd=tree, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{tree}: the query phase failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    return {view: {page: entry["warm_median_seconds"] for page, entry in found["pages"].items()}
            for view, found in result["views"].items()}


def compare(pairs: list[tuple[Path, Path]], rounds: int, runs: int) -> dict:
    """{"trees": [...], "rounds": [[per tree: {view: {page: seconds}}] per round], "medians": {view: {page: [...]}}}."""
    measured = [[page_times(tree, db, runs) for tree, db in pairs] for _ in range(rounds)]

    def median(i: int, view: str, page: str) -> float | None:
        found = [r[i][view][page] for r in measured if page in r[i].get(view, {})]
        return statistics.median(found) if found else None  # a page this tree does not have

    first = measured[0][0]
    medians = {view: {page: [median(i, view, page) for i in range(len(pairs))] for page in pages}
               for view, pages in first.items()}
    return {"trees": [f"{tree}:{db}" for tree, db in pairs], "rounds": measured, "medians": medians}


def table(result: dict) -> str:
    names = [f"tree {i + 1}" for i in range(len(result["trees"]))]
    lines = [f"{name}: {tree}" for name, tree in zip(names, result["trees"], strict=True)]
    header = f"{'view':8s} {'page':12s} " + " ".join(f"{n:>10s}" for n in names) + "".join(
        f" {n + '/1':>9s}" for n in names[1:])
    lines += ["", header, "-" * len(header)]
    for view, pages in result["medians"].items():
        for page, times in pages.items():
            cells = " ".join(f"{t * 1000:8.1f}ms" if t is not None else f"{'-':>10s}" for t in times)
            ratios = "".join(f" {t / times[0]:9.2f}" if t is not None and times[0] else f" {'-':>9s}" for t in times[1:])
            lines.append(f"{view:8s} {page:12s} {cells}{ratios}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.splitlines()[0])
    parser.add_argument("pairs", nargs="+", type=parse_pair, metavar="TREE:DATABASE",
                        help="a code tree and the database its loader built; the first is the baseline")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every tree in turn (default 3)")
    parser.add_argument("--runs", type=int, default=3, help="warm runs of each page's list in a round (default 3)")
    parser.add_argument("--json", type=Path, help="also write every round's figures there")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.runs < 1:
        parser.error("--rounds and --runs must be at least 1")
    result = compare(args.pairs, args.rounds, args.runs)
    print(f"Median over {args.rounds} interleaved rounds of each page's warm median ({args.runs} runs), per tree:")
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
