"""Generate a synthetic export, load it into a .duckdb file and time every metric query.

    python -m benchmarks.load_and_query --sessions 1000000 [--workdir DIR] [--keep]

Prints an aligned text table and writes the same figures as JSON to
<workdir>/benchmark.json. What each figure means: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow

from queries.api import DIMENSIONS, Filters, query_names, run_query
from queries.load import inspect, load, open_database
from queries.report import build_report
from sample_data.generate import COLUMNS, generate

# Calibration: sample_data.generate writes about this many sessions per patient
# over START..END (3 years). The actual count is printed; it drifts a little with size.
SESSIONS_PER_PATIENT = 2.18
START = date(2023, 11, 1)
END = date(2026, 10, 31)
SEED = 42
DIMENSION = "treatment"
DB_NAME = "clinic.duckdb"
CSV_DIR_NAME = "csv"
JSON_NAME = "benchmark.json"
MIB = 1024 * 1024
REPO = Path(__file__).resolve().parent.parent


def _peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(who).ru_maxrss
    return peak / MIB if sys.platform == "darwin" else peak / 1024


def _current_rss_mib() -> float | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB
    except (OSError, ValueError, IndexError):
        return None


class _RssSampler(threading.Thread):
    """Samples this process's current RSS every `interval` seconds: shows which load phase holds the memory."""

    def __init__(self, began: float, interval: float = 0.2):
        super().__init__(daemon=True)
        self.began = began
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            rss = _current_rss_mib()
            if rss is not None:
                self.samples.append((time.perf_counter() - self.began, rss))

    def stop(self) -> list[tuple[float, float]]:
        self.done.set()
        self.join()
        return self.samples


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _generate_timed(out_dir: str, patients: int) -> dict:
    """Runs in a child process, so the generator's memory is not counted in the load's peak RSS."""
    began = time.perf_counter()
    rows = generate(out_dir, SEED, patients, START, END)
    return {"seconds": time.perf_counter() - began, "rows": rows, "peak_rss_mib": _peak_rss_mib()}


def _timed(fn: Callable[[], object], runs: int) -> tuple[object, list[float]]:
    seconds = []
    value = None
    for _ in range(runs):
        began = time.perf_counter()
        value = fn()
        seconds.append(time.perf_counter() - began)
    return value, seconds


def _phases(events: list[tuple[float, float, str]], total: float, rss: list[tuple[float, float]],
            file_order: list[str]) -> dict:
    """Split the load's wall time using the progress messages (seconds since load() was called).

    The loader reports "Reading <file>" after every chunk and at the end of each file, then
    "Building <model>" before each staging/mart model, then "Loaded". It stays silent for
    the first second, so on a small load the first file's (or all) messages may be missing.
    """
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for at, _, message in events:
        first.setdefault(message, at)
        last[message] = at
    reading = [m for m in first if m.startswith("Reading ")]
    building = [m for m in first if m.startswith("Building ")]
    if not building:
        return {"note": "no 'Building' progress message (load shorter than the loader's 1 s reporting delay)"}
    read_end = first[building[0]]
    loaded_at = first.get("Loaded", total)
    by_file, previous = {}, 0.0
    for message in reading:  # a file ends at its last "Reading" report
        name = message.removeprefix("Reading ")
        if not by_file and name in file_order:  # files read within the silent first second count in the first one seen
            name = " + ".join(file_order[: file_order.index(name) + 1])
        by_file[name] = last[message] - previous
        previous = last[message]
    by_model = {}
    for i, message in enumerate(building):
        ends = first[building[i + 1]] if i + 1 < len(building) else loaded_at
        by_model[message.removeprefix("Building ")] = ends - first[message]

    def peak(start: float, end: float) -> float | None:
        return max((mib for at, mib in rss if start <= at <= end), default=None)

    return {
        "read_raw_seconds": read_end,  # from the call: inspect (header + UTF-8 probe) and the csv-module read
        "build_seconds": loaded_at - read_end,  # staging and mart SQL
        "finish_seconds": total - loaded_at,  # close (checkpoint), rename, reopen read-only
        "read_by_file_seconds": by_file,
        "build_by_model_seconds": by_model,
        "first_progress_at_seconds": events[0][0],
        "read_peak_rss_mib": peak(0.0, read_end),  # sampled current RSS, not ru_maxrss
        "build_peak_rss_mib": peak(read_end, loaded_at),
        "finish_peak_rss_mib": peak(loaded_at, total),
    }


def _git() -> dict:
    def run(*args: str) -> str:
        try:
            out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=False)
            return out.stdout.strip()
        except OSError:
            return ""

    return {
        "commit": run("rev-parse", "--short", "HEAD"),
        "uncommitted_in_measured_code": run("status", "--porcelain", "--", "queries", "sample_data").splitlines(),
    }


def _machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pyarrow": pyarrow.__version__,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
        if hasattr(os, "sysconf") else None,
    }


class Benchmark:
    def __init__(self, sessions: int, workdir: Path, runs: int, budget: float, reuse_db: bool = False):
        self.sessions = sessions
        self.reuse_db = reuse_db
        self.workdir = workdir
        self.csv_dir = workdir / CSV_DIR_NAME
        self.db_path = workdir / DB_NAME
        self.runs = runs
        self.budget = budget
        self.started = time.perf_counter()
        self.result: dict = {
            "command": "python -m benchmarks.load_and_query " + " ".join(sys.argv[1:]),
            "date": date.today().isoformat(),
            "machine": _machine(),
            "code": _git(),
            "load_average_at_start": _load_average(),  # other work on the machine skews every figure
            "sessions_requested": sessions,
            "runs_per_query": runs,
            "stopped": None,
        }

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def over_budget(self, before: str) -> bool:
        if self.elapsed() <= self.budget:
            return False
        self.result["stopped"] = f"time budget of {self.budget:.0f} s used up after {self.elapsed():.0f} s; skipped {before}"
        print(f"! {self.result['stopped']}", file=sys.stderr)
        return True

    def note(self, text: str) -> None:
        print(f"[{self.elapsed():7.1f} s] {text}", file=sys.stderr, flush=True)

    def run(self) -> dict:
        try:
            self._run()
        finally:
            self.result["total_seconds"] = self.elapsed()
            self.result["load_average_at_end"] = _load_average()
            self.result["peak_rss_mib_end"] = _peak_rss_mib()
        return self.result

    def _run(self) -> None:
        r = self.result
        if self.reuse_db:
            # Queries only, on a database an earlier run kept: after a change to a metric query.
            self.note(f"timing the queries on {self.db_path} (no generation, no load)")
            r["reused_db"] = str(self.db_path)
            self._reopen_and_query()
            return
        patients = max(1, round(self.sessions / SESSIONS_PER_PATIENT))
        r["patients"] = patients

        self.note(f"generating {patients:,} patients ({START}..{END}, seed {SEED}) into {self.csv_dir}")
        spawn = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            generated = pool.submit(_generate_timed, str(self.csv_dir), patients).result()
        generated["sessions_per_patient"] = generated["rows"]["sessions"] / patients
        r["generate"] = generated
        sizes = {name: (self.csv_dir / f"{name}.csv").stat().st_size / MIB for name in COLUMNS}
        r["csv_mib"] = {**sizes, "total": sum(sizes.values())}
        self.note(f"generated {generated['rows']['sessions']:,} sessions in {generated['seconds']:.1f} s")
        if self.over_budget("load and queries"):
            return

        began = time.perf_counter()
        inspect(self.csv_dir)
        r["inspect_seconds"] = time.perf_counter() - began  # also done inside load(); shown for scale

        r["peak_rss_mib_before_load"] = _peak_rss_mib()
        events: list[tuple[float, float, str]] = []
        self.note(f"loading into {self.db_path}")
        cpu_before = _cpu_seconds()
        began = time.perf_counter()
        sampler = _RssSampler(began)
        sampler.start()
        try:
            loaded = load(self.csv_dir, self.db_path,
                          progress=lambda fraction, message: events.append((time.perf_counter() - began, fraction, message)))
            seconds = time.perf_counter() - began
            cpu = _cpu_seconds() - cpu_before
        finally:
            rss = sampler.stop()
        peak_after_load = _peak_rss_mib()
        loaded.connection.close()
        rows_read = sum(f["read"] for f in loaded.files.values())
        r["load"] = {
            "seconds": seconds,
            "cpu_seconds": cpu,  # this process, all threads (DuckDB's included)
            "rows_read": rows_read,
            "rows_loaded": sum(f["loaded"] for f in loaded.files.values()),
            "rows_rejected": loaded.rejected_total,
            "rows_per_second": rows_read / seconds,
            "sessions_per_second": loaded.files["sessions"]["read"] / seconds,
            "peak_rss_mib": peak_after_load,
            "db_mib": self.db_path.stat().st_size / MIB,
            "phases": _phases(events, seconds, rss, [f["file"] for f in loaded.files.values()]),
        }
        self.note(f"loaded {rows_read:,} rows in {seconds:.1f} s")
        if self.over_budget("reopen and queries"):
            return
        self._reopen_and_query()

    def _reopen_and_query(self) -> None:
        r = self.result
        began = time.perf_counter()
        con = open_database(self.db_path)
        r["reopen_seconds"] = time.perf_counter() - began
        try:
            self._queries(con)
        finally:
            con.close()

    def _queries(self, con) -> None:
        r = self.result
        options = run_query(con, "filter_options")
        location = options.loc[options["filter_name"] == "locations", "value"].iloc[0]
        r["location_filter"] = location
        variants = {"all": None, "location": Filters(locations=(location,))}
        lots = run_query(con, "lot_trace")
        r["lot"] = lot = lots["lot"].iloc[0] if len(lots) else None  # the lot pages open first
        r["queries"] = {}
        for name in query_names():
            if self.over_budget(f"queries from {name} on and build_report"):
                return
            # DIMENSION where the query allows it, else the first dimension it does.
            dimension = DIMENSION if DIMENSION in DIMENSIONS.get(name, (DIMENSION,)) else DIMENSIONS[name][0]
            entry = {}
            for label, filters in variants.items():
                frame, seconds = _timed(lambda name=name, filters=filters, dimension=dimension:
                                        run_query(con, name, filters, dimension=dimension, lot=lot), self.runs)
                entry[label] = {"median_seconds": statistics.median(seconds), "runs_seconds": seconds, "rows": len(frame)}
            r["queries"][name] = entry
        self.note(f"timed {len(r['queries'])} queries")
        if self.over_budget("build_report"):
            return
        _, seconds = _timed(lambda: build_report(con), self.runs)
        r["build_report"] = {"median_seconds": statistics.median(seconds), "runs_seconds": seconds}

    def remove_data(self) -> None:
        """Delete only what this run wrote: the four CSV files and the database."""
        for name in COLUMNS:
            (self.csv_dir / f"{name}.csv").unlink(missing_ok=True)
        if self.csv_dir.is_dir() and not any(self.csv_dir.iterdir()):
            self.csv_dir.rmdir()
        for path in (self.db_path, self.db_path.with_name(self.db_path.name + ".wal")):
            path.unlink(missing_ok=True)


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


def format_text(r: dict) -> str:
    m = r["machine"]
    lines = [
        f"Benchmark {r['date']}: {r['sessions_requested']:,} sessions requested; "
        f"{m['cpus']} CPUs, {m['memory_gib']} GiB, duckdb {m['duckdb']}, Python {m['python']}",
        f"code: {r['code']['commit']}"
        + (f" + uncommitted changes in {len(r['code']['uncommitted_in_measured_code'])} files of queries/ or sample_data/"
           if r["code"]["uncommitted_in_measured_code"] else ""),
        "",
    ]
    rows: list[tuple] = []
    if "generate" in r:
        g = r["generate"]
        rows += [
            ("patients", f"{r['patients']:,}"),
            ("rows written", ", ".join(f"{k} {v:,}" for k, v in g["rows"].items())),
            ("sessions per patient", f"{g['sessions_per_patient']:.3f}"),
            ("generate: seconds", f"{g['seconds']:.1f}"),
            ("generate: peak RSS (child, MiB)", f"{g['peak_rss_mib']:.0f}"),
            ("CSV size (MiB)", ", ".join(f"{k} {v:.1f}" for k, v in r["csv_mib"].items())),
        ]
    if "load" in r:
        ld = r["load"]
        p = ld["phases"]
        rows += [
            ("inspect() alone: seconds", f"{r['inspect_seconds']:.2f}"),
            ("load(): seconds", f"{ld['seconds']:.1f}"),
            ("load(): CPU seconds (all threads)", f"{ld['cpu_seconds']:.1f}"),
            ("load(): rows read", f"{ld['rows_read']:,} ({ld['rows_rejected']:,} rejected)"),
            ("load(): rows/s", f"{ld['rows_per_second']:,.0f} ({ld['sessions_per_second']:,.0f} sessions/s)"),
            ("peak RSS before load (MiB)", f"{r['peak_rss_mib_before_load']:.0f}"),
            ("peak RSS after load (MiB)", f"{ld['peak_rss_mib']:.0f}"),
            (".duckdb file (MiB)", f"{ld['db_mib']:.1f}"),
        ]
        if "read_raw_seconds" in p:
            share = 100 / ld["seconds"]
            rows.append(("  sampled RSS peak (MiB): read, build, finish",
                         ", ".join("-" if p[k] is None else f"{p[k]:.0f}"
                                   for k in ("read_peak_rss_mib", "build_peak_rss_mib", "finish_peak_rss_mib"))))
            rows += [
                ("  read raw CSV (DuckDB fast path, else csv module)",
                 f"{p['read_raw_seconds']:.1f} s ({p['read_raw_seconds'] * share:.0f}%)"),
                *[(f"    {name}", f"{s:.1f} s") for name, s in p["read_by_file_seconds"].items()],
                ("  build staging + marts (SQL)", f"{p['build_seconds']:.1f} s ({p['build_seconds'] * share:.0f}%)"),
                *[(f"    {name}", f"{s:.2f} s") for name, s in p["build_by_model_seconds"].items()],
                ("  close, swap in, reopen", f"{p['finish_seconds']:.1f} s ({p['finish_seconds'] * share:.0f}%)"),
            ]
        else:
            rows.append(("  phases", p["note"]))
    if "reopen_seconds" in r:
        rows.append(("open_database(): seconds", f"{r['reopen_seconds']:.3f}"))
    if "build_report" in r:
        rows.append((f"build_report(): median of {r['runs_per_query']} (s)", f"{r['build_report']['median_seconds']:.3f}"))
    rows += [
        ("peak RSS at end (MiB)", f"{r['peak_rss_mib_end']:.0f}"),
        ("whole run: seconds", f"{r['total_seconds']:.1f}"),
        ("load average: start, end", f"{r['load_average_at_start']}, {r.get('load_average_at_end')}"),
    ]
    lines += _table(("figure", "value"), rows, left=2)
    if r.get("queries"):
        lines += ["", f"run_query(..., dimension='{DIMENSION}'): median of {r['runs_per_query']} runs, seconds; "
                      f"location filter = {r['location_filter']!r}", ""]
        qrows = [
            (name, f"{q['all']['rows']:,}", f"{q['all']['median_seconds']:.3f}", f"{q['location']['median_seconds']:.3f}")
            for name, q in r["queries"].items()
        ]
        total_all = sum(q["all"]["median_seconds"] for q in r["queries"].values())
        total_loc = sum(q["location"]["median_seconds"] for q in r["queries"].values())
        qrows.append(("(sum)", "", f"{total_all:.3f}", f"{total_loc:.3f}"))
        lines += _table(("query", "rows", "no filter", "location"), qrows)
    if r.get("stopped"):
        lines += ["", f"STOPPED: {r['stopped']}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load_and_query", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000, help="about how many sessions to generate (default 100000)")
    parser.add_argument("--workdir", type=Path, help="where to write the CSVs, the .duckdb and benchmark.json "
                                                     "(default: a new temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the generated CSVs and .duckdb (default: delete them)")
    parser.add_argument("--runs", type=int, default=3, help="runs per query; the median is reported (default 3)")
    parser.add_argument("--budget-seconds", type=float, default=480.0,
                        help="stop starting new phases once the run has taken this long (default 480)")
    parser.add_argument("--reuse-db", action="store_true",
                        help="time the queries on WORKDIR/clinic.duckdb kept by an earlier --keep run; no generation, no load")
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.runs < 1:
        parser.error("--sessions and --runs must be positive")

    if args.reuse_db and not (args.workdir and (args.workdir / DB_NAME).is_file()):
        parser.error(f"--reuse-db needs --workdir holding {DB_NAME} from a run with --keep")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="practice-benchmark-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bench = Benchmark(args.sessions, workdir.resolve(), args.runs, args.budget_seconds, args.reuse_db)
    try:
        result = bench.run()
    finally:
        if not args.keep and not args.reuse_db:
            bench.remove_data()
        bench.result["data_kept"] = args.keep
        bench.result["finished_at"] = datetime.now().isoformat(timespec="seconds")
        (workdir / JSON_NAME).write_text(json.dumps(bench.result, indent=2) + "\n", encoding="utf-8")
    print(format_text(result))
    print(f"\nJSON: {workdir / JSON_NAME}" + (f"; data kept in {workdir}" if args.keep else ""))
    return 1 if result["stopped"] else 0


if __name__ == "__main__":
    sys.exit(main())
