"""The benchmark (issue 8): a synthetic export of N sessions, from CSV folder to every page's figures.

    python -m benchmarks.run --sessions 100000 [--runs 3] [--workdir DIR] [--json FILE] [--keep] [--quick]

Phases, each in its own child process so that its peak RSS (os.wait4's ru_maxrss) is its own:

  generate   sample_data.generate into WORKDIR/csv, once: reused while its stamp file says it is complete
  load       queries.load.load(csv, WORKDIR/clinic.duckdb): CSV folder -> ready database (marts built)
  queries    open_database, then every page's full list of queries (PAGE_QUERIES) with the default filters
             and a narrow one: one cold run, then the median of K warm runs
  apptest    the Overview's first render with streamlit.testing.v1.AppTest on the .duckdb
  report     `python -m queries.report --data CSV --format json` against `python -m benchmarks.pandas_report
             --data CSV`, interleaved K times: wall time, peak RSS, the ratio of medians and whether they agree

Prints one aligned table (phases, times, peak RSS, the targets of issue 8 and whether each is met) and
writes every figure, with the machine, to one JSON file. What each figure means: benchmarks/README.md.
Exit status 0 when every phase ran and the report agrees with pandas (targets missed or not), else 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from importlib import metadata
from pathlib import Path

# Calibration: sample_data.generate writes about this many sessions per patient
# over START..END (3 years). The actual count is printed; it drifts a little with size.
SESSIONS_PER_PATIENT = 2.18
START = date(2023, 11, 1)
END = date(2026, 10, 31)
SEED = 42
DB_NAME = "clinic.duckdb"
CSV_DIR_NAME = "csv"
STAMP_NAME = "generated.json"  # inside the CSV folder, written last: the folder is complete
JSON_NAME = "benchmark.json"
MIB = 1024 * 1024
GB = 10**9
REPO = Path(__file__).resolve().parent.parent
APP = REPO / "dashboard" / "app.py"
PHASES = ("generate", "load", "queries", "apptest", "report")

# Issue 8's targets (medians, 2 cores), by size: a run is held to the first row at least its size.
# (sessions, load seconds, each page's queries warm in seconds, peak RSS of a phase in bytes)
TARGETS = (
    (100_000, 2.0, 0.050, 0.5 * GB),
    (1_000_000, 12.0, 0.150, 1.5 * GB),
    (10_000_000, 150.0, 1.0, 6 * GB),
)
REPORT_SPEEDUP = 3.0  # the headless report from a CSV folder against the pandas implementation
# Phases held to the peak RSS target: the product's (not the generator, not the pandas comparison).
RSS_HELD = ("load", "queries", "apptest", "report")

# --- what each page runs -------------------------------------------------------------------------------------------
# From dashboard/views/*.py (and app.py / dashboard/filters.py for the sidebar) on their default widgets: a page's
# queries are source.query(name, view.filters, view.as_of, **params). tests/test_benchmark.py checks this table
# against what the pages run in AppTest. Filters: VIEW the sidebar's (period and lists), NONE neither filters nor
# as_of. "@name" values are set from the view (the comparison period, the grain the period calls for) or from an
# earlier query (the lot the Consumables page opens on: lot_trace's first). "explore.*" are the Explore page's
# queries.explore calls on its default table. together(...): queries the page fetches at once (source.prefetch).
VIEW, NONE = "view", "none"


class Together(tuple):
    """Queries a page fetches together (dashboard.source.prefetch: queries.api.run_queries), timed as one step."""


def together(*entries: tuple[str, str, dict]) -> Together:
    return Together(entries)


def entries(page: str) -> list[tuple[str, str, dict]]:
    """A page's queries, in the order it asks for them."""
    return [entry for step in PAGE_QUERIES[page] for entry in (step if isinstance(step, Together) else (step,))]


KPI_QUERIES = ("session_kpis", "rebooking_6m", "booking_rates", "complaint_rate", "consumables_summary")  # queries.kpis's
PAGE_QUERIES: dict[str, list[tuple[str, str, dict] | Together]] = {
    # app.py and the sidebar, before every page; cached per data version whatever the filters.
    "sidebar": [("load_summary", NONE, {}), ("load_meta", NONE, {}), ("filter_options", NONE, {})],
    # The owner's Overview (the default role) asks for no patient counts; marketing's does (queries/overview.py).
    # Each KPI query gives the period's row and the comparison period's in one call (queries/kpis.py).
    "overview": [
        together(
            *[(name, VIEW, {"patients": False, "previous_start": "@previous_start", "previous_end": "@previous_end"})
              for name in KPI_QUERIES],
            ("sessions_over_time", VIEW, {"grain": "@grain", "patients": False}),
            ("sessions_by_dimension", VIEW, {"dimension": "treatment", "patients": False}),
            ("sessions_by_dimension", VIEW, {"dimension": "location", "patients": False}),
        ),
    ],
    "body_areas": [
        ("sessions_by_body_area", VIEW, {"previous_start": "@previous_start", "previous_end": "@previous_end"}),
        ("sessions_by_area_month", VIEW, {"grain": "@grain"}),
        ("sessions_by_area_and_dimension", VIEW, {"dimension": "treatment"}),
        ("needle_depth_by_area", VIEW, {}),
    ],
    "rebooking": [
        ("rebooking_6m", VIEW, {"patients": False}),
        ("rebooking_by_cohort_month", VIEW, {}),
        ("rebooking_by_dimension", VIEW, {"dimension": "body_area"}),
        ("rebooking_curve", VIEW, {"dimension": "all", "groups": None}),
        ("recall_list", VIEW, {"min_days": 42, "max_days": 180, "max_rows": 1000}),  # default bounds; the rows shown
    ],
    "aftercare": [
        together(
            ("complaints_control", VIEW, {}),
            ("complaint_rate_by_dimension", VIEW, {"dimension": "depth_band"}),
            ("complaints_by_severity", VIEW, {}),
            ("complaint_resolution", VIEW, {}),
            ("complaint_timing", VIEW, {}),
            ("complaints_by_reported_month", VIEW, {}),
        ),
    ],
    "consumables": [
        together(
            ("lot_trace", VIEW, {}),
            ("consumable_cost_by_dimension", VIEW, {"dimension": "treatment"}),
            ("consumables_by_item", VIEW, {}),
            ("consumables_by_item_month", VIEW, {"grain": "@grain"}),
            ("numbing_by_area", VIEW, {}),
            ("tip_compliance_by_dimension", VIEW, {"dimension": "month"}),
            ("sessions_missing_tip", VIEW, {"max_rows": 1000}),  # the rows its table shows
        ),
        together(
            ("lot_sessions", VIEW, {"lot": "@first_lot", "max_rows": 1000}),
            ("lot_complaints", VIEW, {"lot": "@first_lot", "max_rows": 1000}),
        ),
    ],
    "demand": [
        together(
            ("demand_by_concern_month_channel", VIEW, {}),
            ("new_patients_by_concern_channel", VIEW, {}),
            ("consultation_conversion", VIEW, {}),
            ("sessions_by_concern_and_body_area", VIEW, {}),
            ("demand_seasonality", VIEW, {}),
        ),
    ],
    "explore": [
        ("explore.count_rows", VIEW, {"entity": "sessions"}),
        ("explore.fetch_page", VIEW, {"entity": "sessions", "page": 1}),
    ],
    "data": [("load_rejects", NONE, {}), ("load_warnings", NONE, {}), ("data_quality", NONE, {})],
}


def targets_for(sessions: int) -> dict:
    for size, load_s, page_s, rss in TARGETS:
        if sessions <= size:
            return {"sessions": size, "load_seconds": load_s, "page_queries_seconds": page_s, "peak_rss_bytes": rss}
    size, load_s, page_s, rss = TARGETS[-1]
    return {"sessions": size, "load_seconds": load_s, "page_queries_seconds": page_s, "peak_rss_bytes": rss,
            "note": f"beyond the largest size with targets ({size:,} sessions)"}


# --- small helpers -------------------------------------------------------------------------------------------------

def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict:
    cpu = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), None)
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        "cpu": cpu or platform.processor() or None,
        "cpus": os.cpu_count(),
        "cpus_usable": usable,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
        if hasattr(os, "sysconf") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        **{package: _version(package) for package in ("duckdb", "pandas", "pyarrow", "streamlit")},
    }


def git_state() -> dict:
    def run(*args: str) -> str:
        try:
            out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=False)
            return out.stdout.strip()
        except OSError:
            return ""

    return {
        "commit": run("rev-parse", "--short", "HEAD"),
        "uncommitted_in_measured_code": run("status", "--porcelain", "--", "queries", "dashboard", "sample_data",
                                            "benchmarks").splitlines(),
    }


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def run_child(args: list[str], stdout: Path | None = None, env: dict | None = None) -> dict:
    """Run `python ARGS` from the repository; wall seconds, peak RSS (ru_maxrss of this child alone, from
    os.wait4), CPU seconds, exit code and the end of its stderr."""
    load_average = _load_average()
    with open(stdout or os.devnull, "wb") as out, tempfile.TemporaryFile() as err:
        began = time.perf_counter()
        process = subprocess.Popen([sys.executable, *args], cwd=REPO, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        err.seek(0)
        stderr = err.read().decode("utf-8", errors="replace")
    # ru_maxrss: KiB on Linux, bytes on macOS.
    peak = usage.ru_maxrss / MIB if sys.platform == "darwin" else usage.ru_maxrss / 1024
    return {"wall_seconds": wall, "peak_rss_mib": peak, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "load_average_before": load_average, "exit": process.returncode,
            "stderr_tail": stderr[-2000:] if process.returncode else ""}


# --- the phases' children (python -m benchmarks.run --child PHASE SPEC_JSON; the result JSON on stdout) -------------

def generator_digest() -> str:
    """Changes when the generator does: a cached folder from another generator is not reused."""
    return hashlib.sha256((REPO / "sample_data" / "generate.py").read_bytes()).hexdigest()[:16]


def child_generate(spec: dict) -> dict:
    from sample_data.generate import COLUMNS, generate

    out = Path(spec["csv_dir"])
    began = time.perf_counter()
    rows = generate(out, SEED, spec["patients"], START, END)
    seconds = time.perf_counter() - began
    stamp = {"sessions_requested": spec["sessions"], "patients": spec["patients"], "seed": SEED,
             "start": START.isoformat(), "end": END.isoformat(), "generator": generator_digest(), "rows": rows,
             "bytes": {name: (out / f"{name}.csv").stat().st_size for name in COLUMNS},
             "seconds": seconds, "written": datetime.now().isoformat(timespec="seconds")}
    (out / STAMP_NAME).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    return {"seconds": seconds, "rows": rows}


class _RssSampler(threading.Thread):
    """Samples this process's current RSS every `interval` seconds: shows which part of the load holds the memory."""

    def __init__(self, began: float, interval: float = 0.2):
        super().__init__(daemon=True)
        self.began, self.interval = began, interval
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            try:
                with open("/proc/self/statm") as statm:
                    rss = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB
            except (OSError, ValueError, IndexError):
                return
            self.samples.append((time.perf_counter() - self.began, rss))

    def stop(self) -> list[tuple[float, float]]:
        self.done.set()
        self.join()
        return self.samples


def load_parts(events: list[tuple[float, str]], total: float, rss: list[tuple[float, float]]) -> dict:
    """Split the load's wall time by the loader's progress messages: "Reading <file>" while reading,
    "Building <model>" before each staging or mart model, then "Loaded". Best effort: the loader stays
    silent for its first second, and its messages may change."""
    first: dict[str, float] = {}
    for at, message in events:
        first.setdefault(message, at)
    building = [m for m in first if m.startswith("Building ")]
    if not building:
        return {"note": "no 'Building' progress message (a load shorter than the loader's reporting delay?)"}
    read_end = first[building[0]]
    loaded_at = first.get("Loaded", total)
    by_model = {}
    for i, message in enumerate(building):
        ends = first[building[i + 1]] if i + 1 < len(building) else loaded_at
        by_model[message.removeprefix("Building ")] = ends - first[message]

    def peak(start: float, end: float) -> float | None:
        return max((mib for at, mib in rss if start <= at <= end), default=None)

    return {"read_seconds": read_end, "build_seconds": loaded_at - read_end, "finish_seconds": total - loaded_at,
            "build_by_model_seconds": by_model, "read_peak_rss_mib": peak(0.0, read_end),
            "build_peak_rss_mib": peak(read_end, loaded_at), "finish_peak_rss_mib": peak(loaded_at, total)}


def child_load(spec: dict) -> dict:
    from queries.load import load

    events: list[tuple[float, str]] = []
    began = time.perf_counter()
    sampler = _RssSampler(began)
    sampler.start()
    try:
        loaded = load(Path(spec["csv_dir"]), Path(spec["db_path"]),
                      progress=lambda _fraction, message: events.append((time.perf_counter() - began, message)))
        seconds = time.perf_counter() - began
    finally:
        rss = sampler.stop()
    loaded.connection.close()
    files = loaded.files
    return {
        "seconds": seconds,
        "rows_read": sum(f["read"] for f in files.values()),
        "rows_loaded": sum(f["loaded"] for f in files.values()),
        "rows_rejected": loaded.rejected_total,
        "sessions_loaded": files["sessions"]["loaded"],
        "db_mib": Path(spec["db_path"]).stat().st_size / MIB,
        "parts": load_parts(events, seconds, rss),
    }


def resolve(params: dict, context: dict) -> dict:
    return {k: context[v[1:]] if isinstance(v, str) and v.startswith("@") else v for k, v in params.items()}


def call_arguments(which: str, params: dict, filters, as_of: date, context: dict) -> tuple:
    """(filters, as_of, params) of one PAGE_QUERIES entry as the page passes them to source.query, for the view
    `filters` as of `as_of`; `context` holds the "@" values (previous_start and previous_end among them)."""
    if which == NONE:
        return None, None, resolve(params, context)
    return filters, as_of, resolve(params, context)


def run_one(con, name: str, filters, as_of, params: dict) -> int:
    """One query as the page runs it; the number of rows it returned."""
    from queries import explore
    from queries.api import run_query

    if name.startswith("explore."):
        spec = explore.entity(params["entity"])
        query = explore.Query(params["entity"], (), spec.default_columns, spec.default_sort, spec.default_descending)
        if name == "explore.count_rows":
            explore.count_rows(con, query, filters, as_of)
            return 1
        return len(explore.fetch_page(con, query, filters, as_of, params["page"]))
    return len(run_query(con, name, filters, as_of=as_of, **params))


def child_queries(spec: dict) -> dict:
    from queries.api import Call, Filters, default_as_of, run_queries, run_query
    from queries.kpis import previous_period
    from queries.load import open_database

    began = time.perf_counter()
    con = open_database(Path(spec["db_path"]))
    open_seconds = time.perf_counter() - began
    runs = spec["runs"]
    as_of = default_as_of(con)
    # The default view: the sidebar's default period (last 12 months to the export's date), no list filter.
    start, end = as_of - timedelta(days=364), as_of
    period = Filters(start=start, end=end)
    previous = previous_period(start, end)
    grain = "week" if (end - start).days < 92 else "month"  # as the Overview, Body areas and Consumables pages choose

    def top(dimension: str) -> str:
        frame = run_query(con, "sessions_by_dimension", period, as_of=as_of, dimension=dimension)
        return str(frame.sort_values("count_sessions", ascending=False)["dimension_value"].iloc[0])

    location, treatment = top("location"), top("treatment")
    views = {
        "default": period,
        "narrow": Filters(start=start, end=end, locations=(location,), treatments=(treatment,)),
    }
    result: dict = {"open_seconds": open_seconds, "as_of": as_of.isoformat(), "period": [start.isoformat(), end.isoformat()],
                    "previous_period": [previous[0].isoformat(), previous[1].isoformat()], "grain": grain,
                    "narrow": {"location": location, "treatment": treatment}, "runs": runs, "views": {}}

    def time_view(filters: Filters) -> dict:
        """Every page's queries for the view `filters`, timed both ways."""
        context = {"previous_start": previous[0], "previous_end": previous[1], "grain": grain, "first_lot": None}
        timings: dict[str, list[list[float]]] = {page: [[] for _ in entries(page)] for page in PAGE_QUERIES}
        rows: dict[str, list[int | None]] = {page: [None] * len(entries(page)) for page in PAGE_QUERIES}
        as_run: dict[str, list[float]] = {page: [] for page in PAGE_QUERIES}
        errors: list[str] = []

        def run_step(step) -> None:
            """One step of a page as it runs it: a query, or its together() queries at once."""
            group = step if isinstance(step, Together) else (step,)
            calls = [(name, *call_arguments(which, params, filters, as_of, context)) for name, which, params in group]
            if len(calls) == 1 and calls[0][0].startswith("explore."):
                run_one(con, *calls[0])
                return
            frames = run_queries(con, [Call(name, f, a, p) for name, f, a, p in calls])
            for (name, *_), frame in zip(calls, frames, strict=True):
                if name == "lot_trace" and context["first_lot"] is None:  # the lot the page opens on
                    context["first_lot"] = frame["lot"].iloc[0] if len(frame) else None

        def as_the_page_runs_them(page: str) -> None:
            """The page's figure: its steps in turn, together() ones at once."""
            t0 = time.perf_counter()
            try:
                for step in PAGE_QUERIES[page]:
                    run_step(step)
            except Exception:  # noqa: BLE001 (reported by the one-at-a-time run)
                pass
            as_run[page].append(time.perf_counter() - t0)

        def one_at_a_time(page: str) -> None:
            """Each query's own figure, timed alone."""
            for i, (name, which, params) in enumerate(entries(page)):
                query_filters, query_as_of, query_params = call_arguments(which, params, filters, as_of, context)
                t0 = time.perf_counter()
                try:
                    count = run_one(con, name, query_filters, query_as_of, query_params)
                except Exception as exc:  # noqa: BLE001 (a failing query is reported, the rest still timed)
                    count = None
                    if not timings[page][i]:
                        errors.append(f"{page}: {name}: {type(exc).__name__}: {exc}")
                timings[page][i].append(time.perf_counter() - t0)
                rows[page][i] = count

        for run in range(1 + runs):  # one cold run (the page as it runs them first), then the warm ones
            for page in PAGE_QUERIES:
                # Each way first in turn: the second finds more of the page's data in the CPU's caches.
                for way in (as_the_page_runs_them, one_at_a_time)[::1 if run % 2 == 0 else -1]:
                    way(page)
        pages = {}
        for page in PAGE_QUERIES:
            per_query = []
            for (name, which, params), seconds, count in zip(entries(page), timings[page], rows[page], strict=True):
                per_query.append({"query": name, "filters": which, "params": {k: str(v) for k, v in resolve(
                    params, context).items()}, "rows": count, "cold_seconds": seconds[0],
                    "warm_seconds": seconds[1:], "warm_median_seconds": median(seconds[1:])})
            totals = [sum(q["warm_seconds"][k] for q in per_query) for k in range(runs)]
            slowest = max(per_query, key=lambda q: q["warm_median_seconds"] or 0.0)
            pages[page] = {
                "queries": per_query,
                # The page's queries as it runs them: its figure, held to the target.
                "cold_seconds": as_run[page][0],
                "warm_seconds": as_run[page][1:],
                "warm_median_seconds": median(as_run[page][1:]),
                # The same queries one at a time, each timed alone (their sum).
                "one_at_a_time": {"cold_seconds": sum(q["cold_seconds"] for q in per_query), "warm_seconds": totals,
                                  "warm_median_seconds": median(totals)},
                "slowest": {"query": slowest["query"], "warm_median_seconds": slowest["warm_median_seconds"]},
            }
        return {"pages": pages, "errors": errors, "first_lot": context["first_lot"]}

    for label, filters in views.items():
        result["views"][label] = time_view(filters)
    con.close()
    return result


def child_apptest(spec: dict) -> dict:
    began = time.perf_counter()
    from streamlit.testing.v1 import AppTest

    imported = time.perf_counter() - began
    at = AppTest.from_file(str(APP), default_timeout=spec["timeout"])
    t0 = time.perf_counter()
    at.run()
    first = time.perf_counter() - t0
    result = {"import_seconds": imported, "first_render_seconds": first,
              "exceptions": [e.message for e in at.exception],
              "title": [t.value for t in at.title], "metrics": len(at.metric), "charts": len(at.get("plotly_chart"))}
    if spec["rerun"]:
        t0 = time.perf_counter()
        at.run()
        result["rerun_seconds"] = time.perf_counter() - t0  # every query answered from st.cache_data
    return result


CHILDREN = {"generate": child_generate, "load": child_load, "queries": child_queries, "apptest": child_apptest}


def child_main(phase: str, spec_json: str) -> int:
    result = CHILDREN[phase](json.loads(spec_json))
    sys.stdout.write(json.dumps(result))
    return 0


# --- the parent ------------------------------------------------------------------------------------------------------

class Benchmark:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.sessions = args.sessions
        self.workdir: Path = args.workdir
        self.csv_dir = self.workdir / CSV_DIR_NAME
        self.db_path = self.workdir / DB_NAME
        self.runs = args.runs
        self.started = time.perf_counter()
        self.failed: list[str] = []
        self.r: dict = {
            "command": "python -m benchmarks.run " + " ".join(args.argv),
            "date": date.today().isoformat(),
            "machine": machine(),
            "code": git_state(),
            "load_average_before": _load_average(),  # other work on the machine skews every figure
            "sessions_requested": self.sessions,
            "seed": SEED,
            "runs": self.runs,
            "quick": args.quick,
            "workdir": str(self.workdir),
            "targets": targets_for(self.sessions),
            "phases": {},
            "stopped": None,
        }

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def note(self, text: str) -> None:
        print(f"[{self.elapsed():7.1f} s] {text}", file=sys.stderr, flush=True)

    def over_budget(self, what: str) -> bool:
        if self.elapsed() <= self.args.budget_seconds:
            return False
        if self.r["stopped"] is None:
            self.r["stopped"] = (f"time budget of {self.args.budget_seconds:g} s used up after {self.elapsed():.0f} s; "
                                 f"skipped from {what} on")
            self.note(f"! {self.r['stopped']}")
        return True

    def child(self, phase: str, spec: dict, env: dict | None = None) -> dict:
        """One run of a phase in its own process; the child's figures merged with its wall time and peak RSS."""
        out = self.workdir / f".{phase}.child.json"
        ran = run_child(["-m", "benchmarks.run", "--child", phase, json.dumps(spec)], out, env)
        try:
            if ran["exit"] == 0:
                ran |= json.loads(out.read_text(encoding="utf-8"))
        finally:
            out.unlink(missing_ok=True)
        if ran["exit"] != 0:
            self.failed.append(f"{phase}: exit {ran['exit']}: {ran['stderr_tail'].strip().splitlines()[-1:]}")
            self.note(f"! {phase} failed (exit {ran['exit']}):\n{ran['stderr_tail']}")
        return ran

    def run(self) -> dict:
        try:
            for phase in PHASES:
                if phase not in self.args.phases:
                    continue
                if phase == "load" and self.args.reuse_db:
                    self.r["phases"]["load"] = {"reused_db": str(self.db_path)}
                    continue
                if self.over_budget(phase):
                    break
                getattr(self, f"phase_{phase}")()
        finally:
            self.r["total_seconds"] = self.elapsed()
            self.r["load_average_after"] = _load_average()
            self.r["failed"] = self.failed
            self.r["finished_at"] = datetime.now().isoformat(timespec="seconds")
        return self.r

    # generate ----------------------------------------------------------------------------------------------------
    def cached_stamp(self, patients: int) -> dict | None:
        """The stamp of a complete folder of the same size, seed, dates and generator, else None."""
        try:
            stamp = json.loads((self.csv_dir / STAMP_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        wanted = {"patients": patients, "seed": SEED, "start": START.isoformat(), "end": END.isoformat(),
                  "generator": generator_digest()}
        if any(stamp.get(k) != v for k, v in wanted.items()):
            return None
        for name, size in stamp.get("bytes", {}).items():
            path = self.csv_dir / f"{name}.csv"
            if not path.is_file() or path.stat().st_size != size:
                return None
        return stamp

    def phase_generate(self) -> None:
        patients = max(1, round(self.sessions / SESSIONS_PER_PATIENT))
        stamp = self.cached_stamp(patients)
        if stamp is not None:
            self.note(f"reusing {self.csv_dir} (generated {stamp['written']}: {stamp['rows']['sessions']:,} sessions)")
            entry = {"reused": True, "seconds": stamp["seconds"], "rows": stamp["rows"], "patients": patients}
        else:
            (self.csv_dir / STAMP_NAME).unlink(missing_ok=True)
            self.note(f"generating {patients:,} patients ({START}..{END}, seed {SEED}) into {self.csv_dir}")
            ran = self.child("generate", {"csv_dir": str(self.csv_dir), "patients": patients, "sessions": self.sessions})
            entry = {"reused": False, "patients": patients, **ran}
        if "rows" in entry:
            entry["csv_mib"] = sum((self.csv_dir / f"{name}.csv").stat().st_size
                                   for name in entry["rows"]) / MIB
            entry["sessions_per_patient"] = entry["rows"]["sessions"] / patients
        self.r["phases"]["generate"] = entry

    # load --------------------------------------------------------------------------------------------------------
    def phase_load(self) -> None:
        runs = []
        for k in range(self.runs):
            if k and self.over_budget(f"load run {k + 1}"):
                break
            self.note(f"load {k + 1}/{self.runs}: {self.csv_dir} -> {self.db_path}")
            ran = self.child("load", {"csv_dir": str(self.csv_dir), "db_path": str(self.db_path)})
            runs.append(ran)
            if ran["exit"]:
                break
        ok = [run for run in runs if run["exit"] == 0]
        self.r["phases"]["load"] = {
            "runs": runs,
            "median_seconds": median([run["seconds"] for run in ok]),
            "median_wall_seconds": median([run["wall_seconds"] for run in ok]),
            "median_cpu_seconds": median([run["cpu_seconds"] for run in ok]),
            "peak_rss_mib": max((run["peak_rss_mib"] for run in runs), default=None),
            "rows_read": ok[-1]["rows_read"] if ok else None,
            "rows_rejected": ok[-1]["rows_rejected"] if ok else None,
            "sessions_loaded": ok[-1]["sessions_loaded"] if ok else None,
            "db_mib": ok[-1]["db_mib"] if ok else None,
        }
        if ok:
            self.note(f"loaded {ok[-1]['rows_read']:,} rows: median {self.r['phases']['load']['median_seconds']:.2f} s")

    # queries -----------------------------------------------------------------------------------------------------
    def phase_queries(self) -> None:
        if not self.db_path.is_file():
            self.failed.append(f"queries: no database at {self.db_path}")
            return
        self.note(f"every page's queries, default and narrow filters: 1 cold + {self.runs} warm runs")
        ran = self.child("queries", {"db_path": str(self.db_path), "runs": self.runs})
        for label, view in ran.get("views", {}).items():
            for error in view["errors"]:
                self.failed.append(f"queries ({label}): {error}")
        self.r["phases"]["queries"] = ran

    # apptest -----------------------------------------------------------------------------------------------------
    def phase_apptest(self) -> None:
        if not self.db_path.is_file():
            self.failed.append(f"apptest: no database at {self.db_path}")
            return
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRACTICE_")}
        env["PRACTICE_DATA"] = str(self.db_path)
        runs = []
        for k in range(self.runs):
            if k and self.over_budget(f"apptest run {k + 1}"):
                break
            self.note(f"Overview's first render in AppTest {k + 1}/{self.runs}")
            ran = self.child("apptest", {"timeout": max(60.0, self.args.budget_seconds), "rerun": not self.args.quick},
                             env)
            if ran["exit"] == 0 and (ran["exceptions"] or ran["title"] != ["Overview"]):
                self.failed.append(f"apptest: the Overview did not render: title {ran['title']}, "
                                   f"exceptions {ran['exceptions']}")
            runs.append(ran)
            if ran["exit"]:
                break
        ok = [run for run in runs if run["exit"] == 0]
        self.r["phases"]["apptest"] = {
            "runs": runs,
            "median_first_render_seconds": median([run["first_render_seconds"] for run in ok]),
            "median_wall_seconds": median([run["wall_seconds"] for run in ok]),
            "median_cpu_seconds": median([run["cpu_seconds"] for run in ok]),
            "peak_rss_mib": max((run["peak_rss_mib"] for run in runs), default=None),
        }

    # report against pandas ---------------------------------------------------------------------------------------
    def phase_report(self) -> None:
        from benchmarks.pandas_report import compare

        commands = {
            "report": ["-m", "queries.report", "--data", str(self.csv_dir), "--format", "json"],
            "pandas": ["-m", "benchmarks.pandas_report", "--data", str(self.csv_dir)],
        }
        runs: dict[str, list[dict]] = {"report": [], "pandas": []}
        first_output: dict[str, dict] = {}
        for k in range(self.runs):
            if k and self.over_budget(f"report/pandas pair {k + 1}"):
                break
            for who, command in commands.items():  # interleaved, so that noise hits both
                self.note(f"{who} {k + 1}/{self.runs}")
                out = self.workdir / f"{who}.json"
                ran = run_child(command, out)
                runs[who].append(ran)
                if ran["exit"]:
                    self.failed.append(f"{who}: exit {ran['exit']}: {ran['stderr_tail'].strip().splitlines()[-1:]}")
                    self.note(f"! {who} failed:\n{ran['stderr_tail']}")
                    continue
                figures = json.loads(out.read_text(encoding="utf-8"))
                if who not in first_output:
                    first_output[who] = figures
                # Sums may differ in their last bits from run to run (DuckDB adds up in parallel): compare's tolerance.
                elif changed := compare(figures, first_output[who]):
                    self.failed.append(f"{who}: run {k + 1} differs from run 1: {changed[:3]}")
        entry: dict = {"runs": runs, "outputs": {who: str(self.workdir / f"{who}.json") for who in commands}}
        for who in commands:
            ok = [run for run in runs[who] if run["exit"] == 0]
            entry[who] = {"median_seconds": median([run["wall_seconds"] for run in ok]),
                          "median_cpu_seconds": median([run["cpu_seconds"] for run in ok]),
                          "peak_rss_mib": max((run["peak_rss_mib"] for run in ok), default=None)}
        if entry["report"]["median_seconds"] and entry["pandas"]["median_seconds"]:
            entry["speedup"] = entry["pandas"]["median_seconds"] / entry["report"]["median_seconds"]
        if len(first_output) == 2:
            disagreements = compare(first_output["report"], first_output["pandas"])
            entry["disagreements"] = disagreements
            if disagreements:
                self.failed.append(f"report: disagrees with pandas on {len(disagreements)} figures")
                self.note("! the report and pandas disagree:\n  " + "\n  ".join(disagreements[:50]))
        self.r["phases"]["report"] = entry


# --- the table -------------------------------------------------------------------------------------------------------

def _table(header: tuple[str, ...], rows: list[tuple], left: int = 1) -> list[str]:
    """Left-align the first `left` columns, right-align the rest."""
    cells = [header, *[tuple(str(c) for c in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if i < left else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _target_s(seconds: float) -> str:
    return f"{seconds * 1000:g} ms" if seconds < 1 else f"{seconds:g} s"


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} MiB"


def _met(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "NO")


def _rss_target(t: dict) -> str:
    return f"≤ {t['peak_rss_bytes'] / GB:g} GB"


def _rss_ok(mib: float | None, t: dict) -> bool | None:
    return None if mib is None else mib * MIB <= t["peak_rss_bytes"]


def _both(*oks: bool | None) -> bool | None:
    known = [ok for ok in oks if ok is not None]
    return all(known) if known else None


def judge(r: dict) -> dict:
    """Whether each target was met: {what: True/False/None (not measured)}."""
    t, p = r["targets"], r["phases"]
    verdict: dict = {}
    load = p.get("load", {})
    if load.get("median_seconds") is not None:
        verdict["load_seconds"] = load["median_seconds"] <= t["load_seconds"]
    for phase in RSS_HELD:
        mib = p.get(phase, {}).get("peak_rss_mib") if phase != "report" else \
            p.get("report", {}).get("report", {}).get("peak_rss_mib")
        if mib is not None:
            verdict[f"{phase}_peak_rss"] = _rss_ok(mib, t)
    for label, view in p.get("queries", {}).get("views", {}).items():
        for page, entry in view["pages"].items():
            if entry["warm_median_seconds"] is not None:
                verdict[f"queries_{label}_{page}"] = entry["warm_median_seconds"] <= t["page_queries_seconds"]
    report = p.get("report", {})
    if report.get("speedup") is not None:
        verdict["report_speedup"] = report["speedup"] >= REPORT_SPEEDUP
        verdict["report_peak_rss_vs_pandas"] = report["report"]["peak_rss_mib"] <= report["pandas"]["peak_rss_mib"]
    if "disagreements" in report:
        verdict["report_agrees"] = not report["disagreements"]
    return verdict


def format_text(r: dict) -> str:
    m, t, p, v = r["machine"], r["targets"], r["phases"], r["verdict"]
    gen = p.get("generate", {})
    generated = f" ({gen['rows']['sessions']:,} generated)" if "rows" in gen else ""
    code = r["code"]
    lines = [
        f"Benchmark {r['date']}: {r['sessions_requested']:,} sessions requested{generated}, seed {r['seed']}; "
        f"median of {r['runs']} run{'s' if r['runs'] != 1 else ''}; targets for up to {t['sessions']:,} sessions"
        + (f" ({t['note']})" if "note" in t else ""),
        f"machine: {m['cpu']}, {m['cpus_usable']} of {m['cpus']} CPUs, {m['memory_gib']} GiB; Python {m['python']}, "
        f"duckdb {m['duckdb']}, pandas {m['pandas']}, streamlit {m['streamlit']}",
        f"code: {code['commit']}" + (f" + uncommitted changes in {len(code['uncommitted_in_measured_code'])} files"
                                     if code["uncommitted_in_measured_code"] else "")
        + f"; load average before {r['load_average_before']}, after {r.get('load_average_after')}",
        "",
    ]
    # phase, median wall, median CPU (the child's, all threads), runs, peak RSS, time target, RSS target, met
    rows: list[tuple] = []
    if gen:
        if gen.get("reused"):
            rows.append(("generate CSV folder (cached)", f"{gen['seconds']:.1f} s", "-", "0", "-", "-", "-", "-"))
        else:
            rows.append(("generate CSV folder", _s(gen.get("wall_seconds")), _s(gen.get("cpu_seconds")), "1",
                         _mib(gen.get("peak_rss_mib")), "-", "-", "-"))
    load = p.get("load", {})
    if "reused_db" in load:
        rows.append(("load: CSV -> .duckdb", "reused", "-", "0", "-", "-", "-", "-"))
    elif load:
        rows.append(("load: CSV -> .duckdb (marts built)", _s(load["median_seconds"]), _s(load["median_cpu_seconds"]),
                     str(len(load["runs"])), _mib(load["peak_rss_mib"]), f"≤ {_target_s(t['load_seconds'])}",
                     _rss_target(t), _met(_both(v.get("load_seconds"), v.get("load_peak_rss")))))
    queries = p.get("queries", {})
    if queries.get("views"):
        seconds, page, label = max((entry["warm_median_seconds"] or 0.0, page, label)
                                   for label, view in queries["views"].items() for page, entry in view["pages"].items())
        ok = _both(*[ok for key, ok in v.items() if key.startswith("queries_")])
        rows.append((f"queries: slowest page warm ({page}, {label})", _s(seconds), "-", str(queries["runs"]),
                     _mib(queries.get("peak_rss_mib")), f"≤ {_target_s(t['page_queries_seconds'])} a page",
                     _rss_target(t), _met(_both(ok, v.get("queries_peak_rss")))))
    app = p.get("apptest", {})
    if app:
        rows.append(("Overview: first AppTest render", _s(app["median_first_render_seconds"]), "-", str(len(app["runs"])),
                     _mib(app["peak_rss_mib"]), "-", _rss_target(t), _met(v.get("apptest_peak_rss"))))
    report = p.get("report", {})
    if report.get("report"):
        for who, title in (("report", "report: CSV folder -> JSON"), ("pandas", "pandas implementation")):
            held = who == "report"
            rows.append((title, _s(report[who]["median_seconds"]), _s(report[who]["median_cpu_seconds"]),
                         str(len(report["runs"][who])), _mib(report[who]["peak_rss_mib"]), "-",
                         f"{_rss_target(t)}, ≤ pandas" if held else "-",
                         _met(_both(v.get("report_peak_rss"), v.get("report_peak_rss_vs_pandas"))) if held else "-"))
        if report.get("speedup") is not None:
            rows.append(("report speed-up (pandas / report)", f"{report['speedup']:.1f}x", "-", "-", "-",
                         f"≥ {REPORT_SPEEDUP:g}x", "-", _met(v.get("report_speedup"))))
        if "disagreements" in report:
            n = len(report["disagreements"])
            rows.append(("report = pandas (compare)", "same answers" if not n else f"{n} disagreements", "-", "-", "-",
                         "same", "-", _met(v.get("report_agrees"))))
    lines += _table(("phase", "median", "CPU", "runs", "peak RSS", "target", "RSS target", "met"), rows, left=1)

    if queries.get("views"):
        narrow = queries["narrow"]
        runs = f"{queries['runs']} run{'s' if queries['runs'] != 1 else ''}"
        lines += ["", f"Each page's queries as the page runs them, period {queries['period'][0]} – {queries['period'][1]} "
                      f"(last 12 months); narrow = location {narrow['location']!r} + treatment {narrow['treatment']!r}.",
                  f"cold: the first run in the process; warm: median of {runs} of the page's whole list, its together() "
                  "queries at once as the page fetches them (one at a time: each alone, their sum; slowest: alone); "
                  f"target ≤ {_target_s(t['page_queries_seconds'])} warm a page. "
                  f"open_database: {_s(queries['open_seconds'])}.", ""]
        qrows = []
        views = queries["views"]
        for page in views["default"]["pages"]:
            cells = [page, str(len(views["default"]["pages"][page]["queries"]))]
            oks = []
            for label in views:
                entry = views[label]["pages"][page]
                slow = entry["slowest"]
                cells += [_s(entry["cold_seconds"]), _s(entry["warm_median_seconds"]),
                          _s(entry["one_at_a_time"]["warm_median_seconds"]),
                          f"{slow['query']} {_s(slow['warm_median_seconds'])}"]
                oks.append(v.get(f"queries_{label}_{page}"))
            cells.append(_met(_both(*oks)))
            qrows.append(tuple(cells))
        header = ["page", "queries"]
        for label in views:
            header += [f"{label}: cold", "warm", "one at a time", "slowest (warm)"]
        lines += _table((*header, "met"), qrows, left=1)
    if app.get("runs") and app["runs"][0].get("exit") == 0:
        first = app["runs"][0]
        rerun = f"; rerun from st.cache_data {_s(first['rerun_seconds'])}" if "rerun_seconds" in first else ""
        lines += ["", f"AppTest: streamlit import {_s(first['import_seconds'])}, first render {_s(first['first_render_seconds'])}"
                      f" ({first['metrics']} metrics, {first['charts']} charts){rerun}; "
                      "the render includes opening the .duckdb and every Overview query, cold."]
    if report.get("disagreements"):
        lines += ["", "The report and pandas disagree:", *[f"  {d}" for d in report["disagreements"][:50]]]
        if len(report["disagreements"]) > 50:
            lines.append(f"  … and {len(report['disagreements']) - 50} more (JSON)")
    if r["failed"]:
        lines += ["", "FAILED:", *[f"  {f}" for f in r["failed"]]]
    if r.get("stopped"):
        lines += ["", f"STOPPED: {r['stopped']}"]
    return "\n".join(lines)


# --- command line ----------------------------------------------------------------------------------------------------

def default_workdir(sessions: int) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "practice-bench" / f"{sessions}-seed{SEED}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child_main(argv[1], argv[2])
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000, help="about how many sessions to generate (default 100000)")
    parser.add_argument("--workdir", type=Path,
                        help="where the CSV folder (WORKDIR/csv, kept and reused), the .duckdb and the JSON go "
                             "(default ~/.cache/practice-bench/N-seed42)")
    parser.add_argument("--runs", type=int, help="runs of each timed phase; the median is reported (default 3, 1 with --quick)")
    parser.add_argument("--budget-seconds", type=float, default=900.0,
                        help="start no new phase or run once the benchmark has taken this long (default 900)")
    parser.add_argument("--reuse-db", action="store_true",
                        help="skip the load: time the rest on WORKDIR/clinic.duckdb kept by an earlier --keep run")
    parser.add_argument("--keep", action="store_true", help="keep WORKDIR/clinic.duckdb (default: delete it at the end)")
    parser.add_argument("--json", type=Path, help="write the figures here (default WORKDIR/benchmark.json)")
    parser.add_argument("--quick", action="store_true",
                        help="the CI smoke test: one run of each phase, no AppTest rerun")
    parser.add_argument("--phases", default=",".join(PHASES),
                        help=f"comma-separated subset of {','.join(PHASES)} (default all). load and report imply "
                             "generate, which reuses a complete cached folder")
    args = parser.parse_args(argv)
    args.argv = argv
    args.runs = args.runs or (1 if args.quick else 3)
    args.phases = {p.strip() for p in args.phases.split(",") if p.strip()}
    if unknown := args.phases - set(PHASES):
        parser.error(f"--phases: unknown {sorted(unknown)}; choose from {', '.join(PHASES)}")
    if args.sessions < 1 or args.runs < 1:
        parser.error("--sessions and --runs must be positive")
    args.workdir = (args.workdir or default_workdir(args.sessions)).expanduser().resolve()
    if args.reuse_db and not (args.workdir / DB_NAME).is_file():
        parser.error(f"--reuse-db needs {args.workdir / DB_NAME} from an earlier run with --keep")
    args.workdir.mkdir(parents=True, exist_ok=True)
    if ("load" in args.phases and not args.reuse_db) or "report" in args.phases:
        args.phases.add("generate")  # a complete cached folder is reused; a missing or stale one is made again

    bench = Benchmark(args)
    try:
        result = bench.run()
    finally:
        if not args.keep and not args.reuse_db:
            for path in (bench.db_path, bench.db_path.with_name(bench.db_path.name + ".wal")):
                path.unlink(missing_ok=True)
        bench.r["db_kept"] = args.keep or args.reuse_db
        bench.r["verdict"] = judge(bench.r)
        json_path = args.json or args.workdir / JSON_NAME
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(bench.r, indent=2, default=str) + "\n", encoding="utf-8")
    print(format_text(result))
    print(f"\nJSON: {json_path}; CSV folder kept (reused next time): {bench.csv_dir}"
          + (f"; database kept: {bench.db_path}" if bench.r["db_kept"] else ""))
    return 1 if result["stopped"] or result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
