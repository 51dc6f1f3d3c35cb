"""The owner's KPIs for a period and the same-length period before it.

Every figure comes from a metric query; this module only picks the values out,
names them and says what each counts. `run(name, filters, as_of, **parameters)` runs a
query (the dashboard passes its cached runner, tests `queries.api.run_query`).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from queries.api import Filters

Runner = Callable[..., pd.DataFrame]  # run(name, filters, as_of, **parameters)


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str  # short: five cards share a row; the caption and help say the rest
    unit: str  # count | money | rate | per_100
    higher_is_better: bool
    help: str
    needs: str | None = None  # the optional export it is computed from


KPIS = (
    Kpi("count_sessions", "Sessions", "count", True,
        "Treatments performed in the period. A visit treating face and neck counts as two sessions."),
    Kpi("revenue", "Revenue", "money", True, "Sum of the price charged for those sessions."),
    Kpi("average_price", "Avg price", "money", True,
        "Revenue divided by the sessions that have a price recorded."),
    Kpi("count_new_patients", "New patients", "count", True,
        "Patients whose first session ever falls in the period."),
    Kpi("rebooking_rate", "Rebooking", "rate", True,
        "Of the period's sessions whose 6-month window has closed by the export date, the share whose patient "
        "has a later booking (not cancelled) within 6 calendar months. Sessions still inside their window are "
        "pending, not counted."),
    Kpi("no_show_rate", "No-shows", "rate", False,
        "No-shows divided by (attended + no-shows), over appointments in the period."),
    Kpi("cancellation_rate", "Cancellations", "rate", False,
        "Cancelled bookings divided by all bookings with an appointment in the period."),
    Kpi("complaints_per_100_sessions", "Complaints", "per_100", False,
        "Aftercare complaints following the period's sessions, per 100 sessions. Normal healing (2–4 days of "
        "redness) is not a complaint; complaints not linked to a session are left out of the rate.", "complaints"),
    Kpi("cost_per_session", "Supplies cost", "money", False,
        "Cost of consumables used (quantity × unit cost) divided by all sessions in the period.", "consumables"),
    Kpi("tip_compliance", "Sterile tips", "rate", True,
        "Micro-needling sessions with a sterile needle tip recorded, out of all micro-needling sessions.", "consumables"),
)
KPI_BY_KEY = {k.key: k for k in KPIS}


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The same number of days immediately before [start, end]."""
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def same_dates_last_year(start: date, end: date) -> tuple[date, date]:
    """Year to date compares with the same dates a year earlier: seasons matter in a clinic."""
    def back(day: date) -> date:
        return day.replace(year=day.year - 1, day=28 if (day.month, day.day) == (2, 29) else day.day)
    return back(start), back(end)


def _value(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


# The queries behind the cards. Each gives a row per period ('current', and 'previous' when asked).
KPI_QUERIES = ("session_kpis", "rebooking_6m", "booking_rates", "complaint_rate", "consumables_summary")


def _values(rows: dict[str, dict]) -> dict:
    """The cards' values from one period's row of each KPI query."""
    sessions, rebooking = rows["session_kpis"], rows["rebooking_6m"]
    bookings, complaints, consumables = rows["booking_rates"], rows["complaint_rate"], rows["consumables_summary"]
    values = {
        "count_sessions": sessions["count_sessions"],
        "revenue": sessions["revenue"],
        "average_price": sessions["average_price"],
        "count_new_patients": sessions["count_new_patients"],
        "rebooking_rate": rebooking["rebooking_rate"],
        "no_show_rate": bookings["no_show_rate"],
        "cancellation_rate": bookings["cancellation_rate"],
        "complaints_per_100_sessions": complaints["complaints_per_100_sessions"],
        "cost_per_session": consumables["cost_per_session"],
        "tip_compliance": consumables["tip_compliance"],
    }
    details = {
        "count_eligible": int(rebooking["count_eligible"]),
        "count_rebooked": int(rebooking["count_rebooked"]),
        "count_pending": int(rebooking["count_pending"]),
        "count_bookings": int(bookings["count_bookings"]),
        "count_no_show": int(bookings["count_no_show"]),
        "count_cancelled": int(bookings["count_cancelled"]),
        "count_complaints": int(complaints["count_complaints"]),
        "count_micro_needling_sessions": int(consumables["count_micro_needling_sessions"]),
        "count_uncosted_lines": int(consumables["count_uncosted_lines"]),
    }
    return {k: _value(v) for k, v in values.items()} | details


def kpi_calls(previous: tuple[date, date] | None) -> list[tuple[str, dict]]:
    """The KPI queries as the owner's cards run them, (name, parameters): each once for both periods. A page
    fetches them together (dashboard.source.prefetch) before owner_kpis reads them."""
    both = {} if previous is None else {"previous_start": previous[0], "previous_end": previous[1]}
    # No patient counts: no card shows one (marketing's Overview counts them: queries/overview.py).
    return [(name, {"patients": False, **both}) for name in KPI_QUERIES]


def _kpis_by_period(run: Runner, filters: Filters, as_of: date, previous: tuple[date, date] | None) -> dict:
    """{"current": values, "previous": values or None}: each query run once for both periods."""
    frames = {name: run(name, filters, as_of, **extra).set_index("period") for name, extra in kpi_calls(previous)}
    by_period = {period: _values({name: frame.loc[period].to_dict() for name, frame in frames.items()})
                 for period in ("current", "previous") if period in frames["session_kpis"].index}
    return {"current": by_period["current"], "previous": by_period.get("previous")}


def kpi_values(run: Runner, filters: Filters, as_of: date) -> dict:
    """Every KPI value (None where a rate has nothing to divide by), plus the counts behind them."""
    return _kpis_by_period(run, filters, as_of, None)["current"]


def owner_kpis(run: Runner, filters: Filters, as_of: date, previous: tuple[date, date] | None) -> dict:
    """{"current": values, "previous": values for the `previous` period, or None}."""
    return _kpis_by_period(run, filters, as_of, previous)


@dataclass(frozen=True)
class Target:
    minimum: float | None = None
    maximum: float | None = None

    def is_met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return (self.minimum is None or value >= self.minimum) and (self.maximum is None or value <= self.maximum)


class TargetsError(ValueError):
    pass


def read_toml(path: Path) -> dict:
    """A TOML file as a dict; TargetsError naming the file when it cannot be read."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TargetsError(f"{path.name}: {exc}") from exc


def parse_targets(raw: dict, where: str) -> dict[str, Target]:
    """`rebooking_rate = { min = 0.60 }`, one line per KPI key; `where` names the file (and section)."""
    targets = {}
    for key, bounds in raw.items():
        if key not in KPI_BY_KEY:
            raise TargetsError(f"{where}: {key} is not a KPI; expected one of {', '.join(KPI_BY_KEY)}")
        if not isinstance(bounds, dict) or not set(bounds) <= {"min", "max"} or not bounds:
            raise TargetsError(f"{where}: {key} needs {{ min = … }} and/or {{ max = … }}")
        targets[key] = Target(bounds.get("min"), bounds.get("max"))
    return targets


def read_targets(path: Path) -> dict[str, Target]:
    """A `targets.toml` (before practice.toml held them): {} when absent."""
    return parse_targets(read_toml(path), path.name) if path.is_file() else {}
