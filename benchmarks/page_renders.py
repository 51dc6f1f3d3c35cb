"""Every page's render in Streamlit's AppTest: the first visit (its queries not yet in st.cache_data) and a
rerun with every query cached, as after a click that changes nothing the queries read. What a page costs
beside its queries: plotly figures, tables, CSV downloads. benchmarks.run times the queries alone.

    python -m benchmarks.page_renders --data /var/tmp/bench-1m/clinic.duckdb --runs 3

Each run starts the app afresh (caches cleared) on the default view and opens every page in turn. Printed:
per page, the median of the runs' first render and cached rerun, and the rows its tables hold.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from benchmarks.run import PAGE_QUERIES

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
PAGES = [page for page in PAGE_QUERIES if page != "sidebar"]  # the sidebar is drawn with every page


def measure(data: Path, runs: int, timeout: float = 600) -> dict:
    """{page: {"first_seconds": [...], "rerun_seconds": [...], "rows_shown": n}} over `runs` fresh starts."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from dashboard.source import DATA_ENV

    os.environ[DATA_ENV] = str(data)
    figures = {page: {"first_seconds": [], "rerun_seconds": [], "rows_shown": 0} for page in PAGES}
    for _ in range(runs):
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(APP, default_timeout=timeout)
        for page in PAGES:
            began = time.perf_counter()
            if page == "overview":
                at.run()  # the default page: its first render also opens the data
            else:
                at.switch_page(f"views/{page}.py").run()
            first = time.perf_counter() - began
            if at.exception:
                raise RuntimeError(f"{page}: {[e.message for e in at.exception]}")
            began = time.perf_counter()
            at.run()
            figures[page]["first_seconds"].append(first)
            figures[page]["rerun_seconds"].append(time.perf_counter() - began)
            figures[page]["rows_shown"] = sum(len(frame.value) for frame in at.dataframe)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.page_renders", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a .duckdb file, a Parquet folder or a CSV folder")
    parser.add_argument("--runs", type=int, default=3, help="fresh starts of the app (default 3)")
    parser.add_argument("--json", type=Path, help="also write the figures there")
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"{args.data}: not found")
    figures = measure(args.data.resolve(), args.runs)
    print(f"{'page':12} {'first render':>13} {'cached rerun':>13} {'rows shown':>11}   (medians of {args.runs} runs)")
    for page, entry in figures.items():
        print(f"{page:12} {statistics.median(entry['first_seconds']):12.2f}s "
              f"{statistics.median(entry['rerun_seconds']):12.2f}s {entry['rows_shown']:11,}")
    if args.json:
        args.json.write_text(json.dumps({"data": str(args.data), "runs": args.runs, "pages": figures}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
