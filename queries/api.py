"""Run the named metric queries of queries/sql/metrics with bound parameters.

    run_query(con, "rebooking_6m", Filters(start=..., end=...), as_of=...)

Values only ever reach SQL as bind parameters; a query's name must be one of
the files in queries/sql/metrics (grouped in folders by who reads them: owner/,
clinic/, load/; names are unique across folders). A query that groups by a
`$dimension` accepts only the dimensions DIMENSIONS lists for it.
"""

from __future__ import annotations

import concurrent.futures
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd

METRICS_DIR = Path(__file__).parent / "sql" / "metrics"
_PARAMETER = re.compile(r"\$([a-z_]+)")
FILTER_LISTS = ("locations", "practitioners", "treatments", "body_areas", "concerns")
EARLIEST = date(1900, 1, 1)
GRAINS = ("week", "month")  # the time buckets a series may use

# Parameters some queries take, and their values when the caller gives none.
OPTIONAL = {
    "grain": "month",
    # The comparison period: sessions_by_body_area's columns, and a 'previous' row from the Overview's KPI
    # queries (queries/kpis.py, which ask for both periods in one call); None: no comparison.
    "previous_start": None,
    "previous_end": None,
    "min_days": 42,  # recall bounds (SPEC 2.8)
    "max_days": 180,
    "groups": None,  # rebooking_curve: the dimension's values to draw; None: all
    "lot": None,  # lot_sessions / lot_complaints: the lot traced
    "max_rows": None,  # a list query (LIST_TOTALS): only its first rows, those a page's table shows; None: all
    # The Overview's queries count the distinct patients behind each figure for SPEC 2.14's small-cell rule.
    # False: the owner's view, which shows no such count; the patient columns come back null, and hashing
    # patient ids (most of those queries' time) is skipped.
    "patients": True,
    "export_date": None,  # load_meta's default_as_of, looked up when a query names it (tests may force another)
    "patient_key_max": None,  # load_meta's: the bound of distinct_patients' keys, looked up when a query names it
    "count_lots": None,  # load_meta's: how many lots the export has (lot_trace's bound on its patient bits)
    # load_meta's: the last day a complaint was reported (consumable_cells_in_period's cells count every one).
    "last_complaint_on": None,
}
# The parameters above looked up in load_meta when a query names one and the caller gave none.
LOAD_META_PARAMETERS = {"export_date": "default_as_of", "patient_key_max": "patient_key_max", "count_lots": "count_lots",
                        "last_complaint_on": "last_complaint_on"}
# The queries that list rows to follow up, each with the column counting all its rows: a page asks for the
# rows its table shows ($max_rows) and says how many there are in all, and the CSV fetches them all.
LIST_TOTALS = {
    "recall_list": "count_patients_due",
    "sessions_missing_tip": "count_sessions_missing_tip",
    "lot_sessions": "count_lot_sessions",
    "lot_complaints": "count_lot_complaints",
}

# Queries whose result for the default view (as of the export's date, no list filter, every other value
# its default) is worked out at load, into the table PRECOMPUTED_TABLE names: run_query reads it when a call
# binds exactly those values, and runs the query otherwise. For a query the period does not enter:
# demand_seasonality reads every booking of every complete month, 41 ms of the Demand page's 167 ms at 1M
# sessions and 0.44 s of its 1.31 s at 10M.
PRECOMPUTED = ("demand_seasonality",)
PRECOMPUTED_TABLE = "precomputed_{name}"

# What each query may group by ($dimension); the SQL's CASE names the same values.
_SESSION_DIMENSIONS = ("treatment", "location", "practitioner", "body_area", "concern")
DIMENSIONS = {
    "sessions_by_dimension": _SESSION_DIMENSIONS,
    "sessions_by_area_and_dimension": ("treatment", "location", "practitioner"),
    "rebooking_by_dimension": (*_SESSION_DIMENSIONS, "patient_type"),
    "rebooking_curve": ("all", *_SESSION_DIMENSIONS, "patient_type"),
    "complaint_rate_by_dimension": ("depth_band", *_SESSION_DIMENSIONS),
    "consumable_cost_by_dimension": _SESSION_DIMENSIONS,
    "tip_compliance_by_dimension": ("month", "location", "practitioner"),
}


@dataclass(frozen=True)
class Filters:
    """What the sidebar selects. A list of None means "all"; dates are inclusive.

    Tuples, not lists, so a Filters can key a cache.
    """

    start: date | None = None
    end: date | None = None
    locations: tuple[str, ...] | None = None
    practitioners: tuple[str, ...] | None = None
    treatments: tuple[str, ...] | None = None
    body_areas: tuple[str, ...] | None = None
    concerns: tuple[str, ...] | None = None

    def with_period(self, start: date | None, end: date | None) -> Filters:
        return replace(self, start=start, end=end)


@cache
def _query_files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted(METRICS_DIR.rglob("*.sql")):
        if path.stem in files:
            raise RuntimeError(f"two queries named {path.stem}: {files[path.stem]} and {path}")
        files[path.stem] = path
    return files


def query_names() -> list[str]:
    return sorted(_query_files())


@cache
def query_sql(name: str) -> str:
    if name not in _query_files():
        raise KeyError(f"no query named {name!r}; known: {', '.join(query_names())}")
    return _query_files()[name].read_text(encoding="utf-8")


def parameters(filters: Filters, as_of: date, **extra) -> dict:
    """The bind parameters every metric query may use."""
    params = asdict(filters)
    params["start"] = filters.start or EARLIEST
    params["end"] = min(filters.end or as_of, as_of)
    params["as_of"] = as_of
    for name in FILTER_LISTS:
        if params[name] is not None:
            params[name] = list(params[name])
    params.update(OPTIONAL)
    params.update(extra)
    if params["grain"] not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}, not {params['grain']!r}")
    if params["groups"] is not None:
        params["groups"] = list(params["groups"])
    return params


def run_query(
    con: duckdb.DuckDBPyConnection,
    name: str,
    filters: Filters | None = None,
    *,
    as_of: date | None = None,
    **extra,
) -> pd.DataFrame:
    """Run the metric query `name`; `as_of` defaults to the export's date."""
    sql = query_sql(name)
    if name in DIMENSIONS and extra.get("dimension") not in DIMENSIONS[name]:
        raise ValueError(f"{name} groups by one of {DIMENSIONS[name]}, not {extra.get('dimension')!r}")
    params = bound_values(con, name, filters, as_of, **extra)
    if name in PRECOMPUTED and params == bound_values(con, name, Filters(), None):
        sql, params = f"select * from {PRECOMPUTED_TABLE.format(name=name)}", {}
    # A cursor per call: a DuckDB connection must not be shared across threads.
    with con.cursor() as cursor:
        return as_text(cursor.execute(sql, params).df())


# Independent queries (a page's, the report's) run this many at a time, each on a cursor of its own: a query
# leaves a core idle for part of its time (its planning, its single-threaded steps, the hand-over to pandas),
# which the other fills. At 1M sessions the Consumables page's first seven took 102 ms against 133 ms one at
# a time (2 cores). Queries that each keep both cores busy gain nothing: Demand's five (dashboard/views/demand.py).
QUERY_WORKERS = 2


@dataclass(frozen=True)
class Call:
    """One run_query call: run_query(con, name, filters, as_of=as_of, **extra)."""

    name: str
    filters: Filters | None = None
    as_of: date | None = None
    extra: dict = field(default_factory=dict)


def run_queries(con: duckdb.DuckDBPyConnection, calls: Sequence[Call], *,
                run: Callable[..., pd.DataFrame] | None = None) -> list[pd.DataFrame]:
    """Each call's frame, in order, QUERY_WORKERS at a time. `run`: run_query or one with its signature
    (looked up when called, so a caller's own run_query may stand in)."""
    run = run or run_query
    if len(calls) < 2:
        return [run(con, c.name, c.filters, as_of=c.as_of, **c.extra) for c in calls]
    with concurrent.futures.ThreadPoolExecutor(QUERY_WORKERS, thread_name_prefix="queries") as pool:
        started = [pool.submit(run, con, c.name, c.filters, as_of=c.as_of, **c.extra) for c in calls]
        return [future.result() for future in started]


def bound_values(con: duckdb.DuckDBPyConnection, name: str, filters: Filters | None, as_of: date | None, **extra) -> dict:
    """The values the query `name` binds ($name -> value); `as_of` defaults to the export's date."""
    used = set(_PARAMETER.findall(query_sql(name)))
    if not used:
        return {}
    everything = parameters(filters or Filters(), as_of or default_as_of(con), **extra)
    missing = used - everything.keys()
    if missing:
        raise TypeError(f"query {name} needs parameters {sorted(missing)}")
    # export_date: the export's date, for a query with a branch built at load for that date (recall_list).
    # Those the query names, in one lookup (lot_trace names three).
    looked_up = {p: column for p, column in LOAD_META_PARAMETERS.items() if p in used and everything.get(p) is None}
    if looked_up:
        everything.update(zip(looked_up, _load_meta(con, *looked_up.values()), strict=True))
    return {k: everything[k] for k in used}


def precompute(con: duckdb.DuckDBPyConnection) -> None:
    """At load, once the marts and their macros exist: each PRECOMPUTED query's result for the default view
    into its table."""
    for name in PRECOMPUTED:
        con.execute(f"create table {PRECOMPUTED_TABLE.format(name=name)} as {query_sql(name)}",
                    bound_values(con, name, Filters(), None))


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its Categorical columns as the text columns a VARCHAR gives: DuckDB hands an ENUM
    (fct_consumables' few-valued columns, marts/fct_consumables_types.sql) to pandas as a Categorical,
    whose ordering, grouping and missing values differ."""
    for column in frame.columns[[isinstance(dtype, pd.CategoricalDtype) for dtype in frame.dtypes]]:
        values = frame[column]
        # An all-null VARCHAR comes as objects (None); otherwise as pandas' text type (NaN).
        frame[column] = (values.astype(str) if values.notna().any()
                          else pd.Series([None] * len(values), index=frame.index, dtype=object))
    return frame


def default_as_of(con: duckdb.DuckDBPyConnection) -> date:
    return _load_meta(con, "default_as_of")[0]


def _load_meta(con: duckdb.DuckDBPyConnection, *columns: str) -> tuple:
    """The values of these load_meta columns (each one a query reads: LOAD_META_PARAMETERS)."""
    for column in columns:
        if column not in LOAD_META_PARAMETERS.values():
            raise ValueError(f"not a load_meta column the queries read: {column!r}")
    with con.cursor() as cursor:
        return cursor.execute(f"select {', '.join(columns)} from load_meta").fetchone()


def nothing_to_report(files: dict[str, dict]) -> str | None:
    """Why an export has no figures, or None. `files` as queries.load.file_counts gives them (entity ->
    file, read, loaded, rejected). With no booking and no session loaded there is no export date, and
    every figure would be a zero "as of today": say so instead."""
    if any(files.get(name, {}).get("loaded") for name in ("bookings", "sessions")):
        return None
    why = []
    for name in ("bookings", "sessions"):
        info = files.get(name) or {}
        file_name = info.get("file", f"{name}.csv")
        read = info.get("read") or 0
        why.append(f"{file_name}: no rows after the header" if not read else
                   f"{file_name}: all {read:,} rows rejected" if read > 1 else f"{file_name}: its one row rejected")
    return ("nothing to report: no booking or session could be loaded (" + "; ".join(why) + "). "
            "Fix the rejected rows (the Data page, or the load_rejects table, lists each with its reason) "
            "and load the export again.")
