"""The Overview's figures as marketing may see them (SPEC 2.14): one frame, protected at once.

    raw = figures(run, filters, as_of, grain="month")     # the owner's figures, one frame
    shown = privacy.protect("overview", raw, k)            # small cells `<k`, no patient columns
    kpis(shown), trend(shown), top(shown, "treatment")

The Overview's figures hang together: each card is the total of the trend's buckets and of the treatment
and location tables (sessions, revenue, complaints), and within the cards eligible + pending = sessions,
rebooked + not rebooked = eligible, the four booking statuses add up to the bookings, tips with + without =
micro-needling sessions. Protected one query at a time, a figure hidden in one place could be worked out
from the same figure shown in another; so the queries' rows are put in one long frame whose totals are the
cards' row (every dimension null), and privacy.RULES["overview"] says how it adds up.

`run(name, filters, as_of, **extra)` runs a metric query (the dashboard's cached runner, or run_query on a
connection). The owner's page does not come here: it shows the queries as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd

from queries import privacy
from queries.api import Filters
from queries.kpis import KPI_QUERIES

Runner = Callable[..., pd.DataFrame]
RULE = "overview"
DIMENSIONS = privacy.RULES[RULE]["dimensions"]
TOP = ("treatment", "location")  # the tables of the top 5, by sessions_by_dimension's $dimension


def calls(grain: str | None) -> list[tuple[str, dict]]:
    """The queries figures() runs, (name, parameters), in its order: a page fetches them together
    (dashboard.source.prefetch) first."""
    kpis = [(name, {}) for name in KPI_QUERIES]
    if grain is None:
        return kpis
    return [*kpis, ("sessions_over_time", {"grain": grain}),
            *[("sessions_by_dimension", {"dimension": dimension}) for dimension in TOP]]


def figures(run: Runner, filters: Filters, as_of: date, grain: str | None = None) -> pd.DataFrame:
    """The cards' row (every dimension null) and, with a `grain`, one row per trend bucket, treatment and
    location; only the columns privacy.RULES["overview"] names. Without a grain: the cards' row alone (a
    comparison period, whose trend and tables the page does not show)."""
    frames = [run(name, filters, as_of, **extra) for name, extra in calls(grain)]
    total: dict = {}
    for kpi in frames[:len(KPI_QUERIES)]:
        for column, value in kpi.iloc[0].items():
            total.setdefault(column, value)  # count_sessions, count_patients: the same sessions in each
    parts = [pd.DataFrame([total])]
    if grain is not None:
        trend, *tops = frames[len(KPI_QUERIES):]
        parts.append(trend)
        for dimension, top_frame in zip(TOP, tops, strict=True):
            parts.append(top_frame.rename(columns={"dimension_value": dimension}))
    frame = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    wanted = privacy.columns(RULE)
    return frame.reindex(columns=list(wanted)).astype({d: object for d in DIMENSIONS})


def protect(frame: pd.DataFrame, k: int) -> pd.DataFrame:
    return privacy.protect(RULE, frame, k)


def _whole(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts as whole numbers (the long frame's gaps made them floats); `<k` stays as it is."""
    counts = [c for c in frame.columns if str(c).startswith("count_")]
    return frame.assign(**{c: frame[c].map(lambda v: int(v) if isinstance(v, float) and v.is_integer() else v)
                           for c in counts})


def _is_total(frame: pd.DataFrame) -> pd.Series:
    return frame[list(DIMENSIONS)].isna().all(axis=1)


def kpis(shown: pd.DataFrame) -> dict:
    """The cards' figures: numbers, or `<k` where hidden."""
    return _whole(shown[_is_total(shown)]).iloc[0].drop(list(DIMENSIONS)).to_dict()


def trend(shown: pd.DataFrame) -> pd.DataFrame:
    """The trend's buckets in time order, as sessions_over_time's columns (without patients)."""
    rows = shown[shown["period_start"].notna()]
    rows = rows.assign(period_start=pd.to_datetime(rows["period_start"])).sort_values("period_start")
    columns = ["period_start", "count_sessions", "revenue", "count_complaints", "complaints_per_100_sessions"]
    return _whole(rows[columns]).reset_index(drop=True)


def top(shown: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """sessions_by_dimension's rows for `dimension` (dimension_value, count_sessions, revenue): most sessions
    first, hidden ones after the shown ones (their place would bound them), then by name."""
    rows = shown[shown[dimension].notna()]
    rows = rows.assign(_sessions=privacy.numbers(rows["count_sessions"]).fillna(-1))
    rows = rows.sort_values(["_sessions", dimension], ascending=[False, True])
    return _whole(rows.rename(columns={dimension: "dimension_value"})[
        ["dimension_value", "count_sessions", "revenue"]]).reset_index(drop=True)
