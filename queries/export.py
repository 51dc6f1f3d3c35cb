"""Exports people take to a meeting: an Excel workbook of a period's figures, and text that stays text.

    build_workbook(con, ExportView(Filters(start=..., end=...), as_of=...), pages=("overview",)) -> bytes
    python -m queries.report --data DIR --format xlsx --out FILE [--from D --to D] [--as-of D]

A workbook holds a "Summary" sheet (the period, the as-of date, the filters, every owner KPI with its
definition) and then, for each page asked for, one sheet per main table of that page. Which tables a page
exports is data: PAGES below, one PageExport per page, one SheetSpec per table, each naming the metric
query the page runs. Every cell keeps its Excel type: dates as dates, numbers as numbers with a number
format (rates as %, money with the practice's currency), text as a string cell.

Text from the exports never becomes a formula (OWASP "CSV injection"): in a workbook every text cell is
written as a string (and one that starts like a formula also gets Excel's quote prefix, so editing the
cell does not turn it into one); in a CSV, text starting with = + - @ tab, CR or LF gets a leading `'`
(csv_bytes; dashboard.ui.download uses it for every CSV download of the app).

Patient identifiers: a sheet that lists patients (the recall list) is marked `identifies_patients` and is
written only when the caller asks (`patient_ids=True`). Marketing pages (PageExport.audience
"marketing") never hold one, and every marketing sheet must pass through its `protect` function (small
cells suppressed, SPEC 2.14) — build_workbook refuses a marketing sheet without one. A page marketing shares
with the owner (the Overview) has its marketing version in FOR_MARKETING, which `for_marketing=True` picks.

Headers, number kinds and codes in words come from queries/labels.py, as on the pages.
"""

from __future__ import annotations

import io
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import xlsxwriter

from queries import labels, overview, privacy
from queries.api import EARLIEST, Filters, run_query
from queries.kpis import KPIS, owner_kpis, previous_period
from queries.load import file_counts

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUMMARY = "Summary"

# --- text that must stay text ------------------------------------------------------------------------------------

# What makes a spreadsheet read a cell as a formula (OWASP), and their full-width forms, which some
# spreadsheet programs also accept.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def starts_like_formula(text: str) -> bool:
    """Would a spreadsheet read this text as a formula? Leading spaces are looked past."""
    return text.lstrip(" ").startswith(FORMULA_STARTS)


def defuse(value):
    """A CSV cell: text that starts like a formula gets a leading `'`; anything else (numbers too) as is."""
    if isinstance(value, str) and value and starts_like_formula(value):
        return "'" + value
    return value


def defused(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells (and headers) cannot run as formulas; number columns are left alone."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            out[name] = column.map(defuse, na_action="ignore")
    return out.rename(columns=lambda name: defuse(name) if isinstance(name, str) else name)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as UTF-8 CSV, safe to open in a spreadsheet."""
    # CRLF line ends (RFC 4180): the csv writer then also quotes a cell holding a lone CR, which would split a row.
    return defused(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8")


# --- number formats (the kinds of queries/labels.py FORMATS) -------------------------------------------------

def number_formats(currency: str) -> dict[str, str]:
    symbol = '"' + currency.replace('"', "") + '"'
    return {"count": "#,##0", "change": "+#,##0;-#,##0;0", "rate": "0.0%", "per_100": "0.00",
            "money": f"{symbol}#,##0.00", "money_whole": f"{symbol}#,##0", "mm": '0.00 "mm"', "amount": "#,##0.0",
            "probability": "0.0000", "number": "#,##0.####", "date": "d mmm yyyy", "datetime": "d mmm yyyy hh:mm"}


def header(name: str, currency: str = "$", dimension_title: str | None = None) -> str:
    if name == "dimension_value" and dimension_title:
        return dimension_title
    return labels.column(name, currency)


# --- what each page exports -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportView:
    """What a workbook is for: the period (filters.start .. filters.end), the as-of date, the settings used."""

    filters: Filters
    as_of: date
    previous: tuple[date, date] | None = None  # the comparison period; None: no comparison
    currency: str = "$"
    recall_days: tuple[int, int] = (42, 180)
    min_patients_per_cell: int = 11  # SPEC 2.14's k, for the marketing sheets' `protect`
    data_label: str = ""

    @property
    def start(self) -> date:
        return self.filters.start or EARLIEST

    @property
    def end(self) -> date:
        return min(self.filters.end or self.as_of, self.as_of)

    @property
    def grain(self) -> str:
        """The Overview's rule: weeks show the shape of a period shorter than about three months."""
        return "week" if (self.end - self.start).days < 92 else "month"


def _no_params(view: ExportView) -> dict:
    return {}


@dataclass(frozen=True)
class SheetSpec:
    """One table of a page, as one sheet."""

    name: str  # the sheet's tab: at most 31 characters, none of []:*?/\
    holds: str  # one line for the Summary's list of sheets
    query: str  # the metric query (queries/sql/metrics) the page runs for it
    params: Callable[[ExportView], dict] = _no_params  # its extra parameters for this view
    dimension_title: str | None = None  # the header of `dimension_value`
    first_columns: tuple[str, ...] = ()  # shown first, in this order; the others follow in the query's order
    needs: str | None = None  # an optional export without which there is no such sheet
    needs_columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # dropped when the file is absent
    comparison_columns: tuple[str, ...] = ()  # dropped when the view has no comparison period
    identifies_patients: bool = False
    small_cell_columns: tuple[str, ...] = ()  # the query's distinct-patient columns, for the small-cell rule only
    page_columns: tuple[str, ...] = ()  # for the page only, left out of the sheet (recall_list's row count)
    # A sheet made from several queries, run by this instead of `query` (the marketing Overview, whose figures
    # are protected together); built once per workbook and shared by the sheets that name the same function.
    build: Callable[[Callable[..., pd.DataFrame], ExportView], pd.DataFrame] | None = None
    # The marketing hook: the page's small-cell rule (queries/privacy.py), applied to the query's rows before
    # they are written. Required on every sheet of a marketing page.
    protect: Callable[[pd.DataFrame, ExportView], pd.DataFrame] | None = None


@dataclass(frozen=True)
class PageExport:
    title: str
    sheets: tuple[SheetSpec, ...]
    audience: str = "owner"  # "owner" or "marketing" (no identifiers, every sheet protected, no KPI block)


_COMPLAINT_RATE_COLUMNS = ("count_complaints", "complaints_per_100_sessions")
_LOT_COMPLAINT_COLUMNS = ("count_complaints", "complaints_per_100_sessions", "count_sessions_other_lots",
                          "count_complaints_other_lots", "chance_if_like_other_lots",
                          "other_lots_complaints_per_100_sessions", "is_flagged")

_TREND_HOLDS = ("Sessions, revenue, patients and complaints per month (per week, Monday to Sunday, when the period "
                "is shorter than about three months); the first and last may run past the period, counting only "
                "its days.")

PAGES: dict[str, PageExport] = {
    "overview": PageExport("Overview", (
        SheetSpec("Overview – trend", _TREND_HOLDS, "sessions_over_time",
                  params=lambda view: {"grain": view.grain}, needs_columns={"complaints": _COMPLAINT_RATE_COLUMNS},
                  small_cell_columns=("count_patients_complained",)),
        SheetSpec("Overview – treatments", "Sessions and revenue per treatment, most sessions first (the page "
                  "shows the top 5).", "sessions_by_dimension", params=lambda view: {"dimension": "treatment"},
                  dimension_title="Treatment", small_cell_columns=("count_patients",)),
        SheetSpec("Overview – locations", "Sessions and revenue per location, most sessions first.",
                  "sessions_by_dimension", params=lambda view: {"dimension": "location"}, dimension_title="Location",
                  small_cell_columns=("count_patients",)),
    )),
    "body_areas": PageExport("Body areas", (
        SheetSpec("Body areas – sessions", "Sessions per body area, their share, and the comparison period.",
                  "sessions_by_body_area",
                  params=lambda view: dict(zip(("previous_start", "previous_end"), view.previous or (None, None),
                                               strict=True)),
                  comparison_columns=("count_sessions_previous", "change_in_sessions")),
        SheetSpec("Body areas – by month", "Sessions per calendar month and body area.", "sessions_by_area_month",
                  params=lambda view: {"grain": "month"}),
    )),
    "rebooking": PageExport("Rebooking", (
        SheetSpec("Rebooking – by cohort month", "Six-month rebooking of each month's sessions: eligible "
                  "(window closed), rebooked, pending (window still open, not counted).", "rebooking_by_cohort_month"),
        SheetSpec("Rebooking – by body area", "Six-month rebooking per body area.", "rebooking_by_dimension",
                  params=lambda view: {"dimension": "body_area"}, dimension_title="Body area"),
        SheetSpec("Rebooking – recall list", "Patients to call back: latest session between the recall bounds, "
                  "nothing booked ahead. Holds patient identifiers.", "recall_list",
                  params=lambda view: {"min_days": view.recall_days[0], "max_days": view.recall_days[1]},
                  identifies_patients=True, page_columns=("count_patients_due",)),
    )),
    "aftercare": PageExport("Aftercare", (
        SheetSpec("Aftercare – control chart", "Complaints per 100 sessions per month of the session, with the "
                  "u-chart's centre line and limits; a signal is a month above its upper limit.",
                  "complaints_control", needs="complaints"),
        SheetSpec("Aftercare – by needle depth", "Complaints per 100 micro-needling sessions per needle-depth band.",
                  "complaint_rate_by_dimension", params=lambda view: {"dimension": "depth_band"},
                  dimension_title="Needle depth", needs="complaints"),
    )),
    "consumables": PageExport("Consumables", (
        SheetSpec("Consumables – by item", "Quantity, cost and sessions per item.", "consumables_by_item",
                  needs="consumables"),
        SheetSpec("Consumables – lot trace", "Every lot: its items, sessions, patients, complaints that followed "
                  "and the rate of the item's other lots; flagged lots first.", "lot_trace", needs="consumables",
                  first_columns=("lot", "items", "is_flagged", "count_sessions", "count_complaints",
                                 "complaints_per_100_sessions", "other_lots_complaints_per_100_sessions",
                                 "chance_if_like_other_lots"),
                  needs_columns={"complaints": _LOT_COMPLAINT_COLUMNS}),
    )),
    # The Data page: what was loaded, whatever the period (the Summary still gives the view's KPIs).
    "data": PageExport("Data", (
        SheetSpec("Data – files", "Per export: rows read, loaded and rejected, and the dates it covers.",
                  "load_summary"),
        SheetSpec("Data – rejected rows", "Every row not loaded: file, line (the header is line 1), column and "
                  "reason.", "load_rejects"),
        SheetSpec("Data – warnings", "Rows loaded with a value read as 'other'.", "load_warnings"),
        SheetSpec("Data – links", "Rows pointing at a booking or session not in the export (orphans).",
                  "data_quality"),
    )),
    # Marketing: no identifiers, every sheet through the small-cell rule (SPEC 2.14) the page applies.
    "demand": PageExport("Demand", tuple(
        SheetSpec(name, holds, query,
                  protect=lambda frame, view, query=query: privacy.protect(query, frame, view.min_patients_per_cell))
        for name, query, holds in (
            ("Demand – by month", "demand_by_concern_month_channel",
             "Bookings made per month, concern and channel, with the same dates a year earlier."),
            ("Demand – new patients", "new_patients_by_concern_channel",
             "Patients whose first booking in the export was made in the period, per concern and channel."),
            ("Demand – conversion", "consultation_conversion",
             "Completed consultations converted to a treatment within 90 days, per concern and channel."),
            ("Demand – what was treated", "sessions_by_concern_and_body_area",
             "Sessions per concern of their booking and body area treated."),
            ("Demand – seasonality", "demand_seasonality",
             "Bookings per month of the year and concern, over the complete months in the export."),
        )), audience="marketing"),
}


def _overview_figures(run: Callable[..., pd.DataFrame], view: ExportView) -> pd.DataFrame:
    """The marketing Overview's figures (queries/overview.py): this period's and, with a comparison period, its
    cards' row marked `is_comparison`, each protected as one table."""
    k = view.min_patients_per_cell
    current = overview.protect(overview.figures(run, view.filters, view.as_of, view.grain), k)
    frames = [current.assign(is_comparison=False)]
    if view.previous:
        earlier = overview.protect(overview.figures(run, view.filters.with_period(*view.previous), view.as_of), k)
        frames.append(earlier.assign(is_comparison=True))
    return pd.concat(frames, ignore_index=True)


def _overview_cards(frame: pd.DataFrame, view: ExportView) -> pd.DataFrame:
    rows = frame[frame[list(overview.DIMENSIONS)].isna().all(axis=1)]
    period = ["Comparison period" if c else "This period" for c in rows["is_comparison"]]
    cards = pd.DataFrame([overview.kpis(rows.iloc[[i]].drop(columns="is_comparison")) for i in range(len(rows))])
    return cards.assign(period=period)[["period", *cards.columns]]


def _overview_part(part: str) -> Callable[[pd.DataFrame, ExportView], pd.DataFrame]:
    def pick(frame: pd.DataFrame, view: ExportView) -> pd.DataFrame:
        current = frame[~frame["is_comparison"]].drop(columns="is_comparison")
        return overview.trend(current) if part == "trend" else overview.top(current, part)
    return pick


# What a role that may not see patients (marketing) gets for a page it shares with the owner: the same tables,
# every figure through the small-cell rule, no patient counts.
FOR_MARKETING: dict[str, PageExport] = {
    "overview": PageExport("Overview", (
        SheetSpec("Overview – figures", "The cards of the page for this period and the comparison period.",
                  "session_kpis", build=_overview_figures, protect=_overview_cards,
                  needs_columns={"complaints": _COMPLAINT_RATE_COLUMNS, "consumables": (
                      "cost_per_session", "count_uncosted_lines", "count_micro_needling_sessions",
                      "count_with_needle_tip", "count_without_needle_tip", "tip_compliance")}),
        SheetSpec("Overview – trend", _TREND_HOLDS, "sessions_over_time", build=_overview_figures,
                  protect=_overview_part("trend"), needs_columns={"complaints": _COMPLAINT_RATE_COLUMNS}),
        SheetSpec("Overview – treatments", "Sessions and revenue per treatment, most shown first, hidden ones "
                  "after.", "sessions_by_dimension", build=_overview_figures, protect=_overview_part("treatment"),
                  dimension_title="Treatment"),
        SheetSpec("Overview – locations", "Sessions and revenue per location, most shown first, hidden ones after.",
                  "sessions_by_dimension", build=_overview_figures, protect=_overview_part("location"),
                  dimension_title="Location"),
    ), audience="marketing"),
}
OWNER_PAGES = ("overview", "body_areas", "rebooking", "aftercare", "consumables")
IDENTIFIER_COLUMNS = ("patient_id", "booking_id", "session_id", "complaint_id")


class ExportError(ValueError):
    """A workbook that cannot be made as asked (an empty period, a page's rules broken)."""


def file_name(pages: Sequence[str], view: ExportView) -> str:
    what = pages[0] if len(pages) == 1 else "practice"
    return f"{what}_{view.start:%Y-%m-%d}_to_{view.end:%Y-%m-%d}.xlsx"


# --- building the workbook ------------------------------------------------------------------------------------------

@dataclass
class _Formats:
    workbook: xlsxwriter.Workbook
    currency: str
    cache: dict = field(default_factory=dict)

    def get(self, kind: str | None = None, **extra):
        key = (kind, tuple(sorted(extra.items())))
        if key not in self.cache:
            properties = dict(extra)
            if kind:
                properties["num_format"] = number_formats(self.currency)[kind]
            self.cache[key] = self.workbook.add_format(properties)
        return self.cache[key]


def _is_missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and not math.isfinite(value)


def _write(sheet, row: int, col: int, value, kind: str | None, formats: _Formats, **extra) -> str:
    """One cell in its own Excel type; returns roughly how it reads, for the column's width."""
    if _is_missing(value):
        sheet.write_blank(row, col, None, formats.get(kind, **extra))
        return ""
    if isinstance(value, bool | np.bool_):
        sheet.write_boolean(row, col, bool(value), formats.get(None, **extra))
        return "FALSE"
    if isinstance(value, datetime | date):
        moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
        if isinstance(moment, pd.Timestamp):
            moment = moment.to_pydatetime()
        shown = kind if kind in ("date", "datetime") else "date"
        sheet.write_datetime(row, col, moment, formats.get(shown, **extra))
        return "31 Dec 2026 23:59" if shown == "datetime" else "31 Dec 2026"
    if isinstance(value, numbers.Number):
        number = float(value)
        sheet.write_number(row, col, number, formats.get(kind or "number", **extra))
        if kind == "rate":
            return f"{number:.1%}"
        if kind in ("money", "money_whole"):
            return f"{formats.currency}{number:,.2f}"
        return f"{number:+,.0f}" if kind == "change" else f"{number:,.0f}" if kind == "count" else f"{number:,.2f}"
    text = str(value)
    # A string cell is never a formula; Excel's quote prefix keeps it text even when someone edits the cell.
    sheet.write_string(row, col, text, formats.get(None, quote_prefix=starts_like_formula(text), **extra))
    return text


def _width(texts: Iterable[str], low: int = 8, high: int = 60) -> int:
    longest = max((max(len(line) for line in text.splitlines() or [""]) for text in texts), default=0)
    return max(low, min(high, longest + 2))


def _column_kind(name: str, column: pd.Series) -> str | None:
    if name in labels.FORMATS:
        return labels.FORMATS[name]
    if pd.api.types.is_datetime64_any_dtype(column):
        times = column.dropna()
        return "datetime" if (times.dt.normalize() != times).any() else "date"
    if pd.api.types.is_integer_dtype(column):
        return "count"
    return None


def write_table(workbook: xlsxwriter.Workbook, formats: _Formats, name: str, frame: pd.DataFrame,
                view: ExportView, dimension_title: str | None = None) -> None:
    """A sheet holding `frame`: readable headers in a frozen first row, a filter on them, widths set."""
    sheet = workbook.add_worksheet(name)
    frame = labels.words(frame)
    bold = {"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"}
    for col, column_name in enumerate(frame.columns):
        title = header(str(column_name), view.currency, dimension_title)
        kind = _column_kind(str(column_name), frame[column_name])
        shown = [_write(sheet, 0, col, title, None, formats, **bold)]
        for row, value in enumerate(frame[column_name].tolist(), start=1):
            shown.append(_write(sheet, row, col, value, kind, formats))
        sheet.set_column(col, col, _width(shown, high=50))
    sheet.freeze_panes(1, 0)
    if len(frame.columns):
        sheet.autofilter(0, 0, max(len(frame), 1), len(frame.columns) - 1)


def sheet_frame(con, spec: SheetSpec, view: ExportView, present: set[str], built: dict | None = None) -> pd.DataFrame:
    """The rows and columns `spec` writes for `view`: the page's query, as the page runs it (protected, for
    marketing, before any column is left out). `built` keeps what `spec.build` made for the other sheets."""
    if spec.build is not None:
        built = {} if built is None else built
        if spec.build not in built:
            def run(name, filters, as_of, **extra):
                return run_query(con, name, filters, as_of=as_of, **extra)
            built[spec.build] = spec.build(run, view)
        frame = built[spec.build]
    else:
        frame = run_query(con, spec.query, view.filters, as_of=view.as_of, **spec.params(view))
    if spec.protect is not None:
        frame = spec.protect(frame, view)
    dropped = [c for file, columns in spec.needs_columns.items() if file not in present for c in columns]
    if view.previous is None:
        dropped += spec.comparison_columns
    dropped += spec.small_cell_columns + spec.page_columns
    frame = frame.drop(columns=[c for c in dropped if c in frame.columns])
    first = [c for c in spec.first_columns if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]


def page_export(page: str, for_marketing: bool = False) -> PageExport:
    """What `page` exports; for marketing, its FOR_MARKETING version where it has one."""
    if page not in PAGES:
        raise ExportError(f"no export for page {page!r}; known: {', '.join(PAGES)}")
    chosen = FOR_MARKETING.get(page, PAGES[page]) if for_marketing else PAGES[page]
    if for_marketing and chosen.audience != "marketing":
        raise ExportError(f"the {chosen.title} page has no export for marketing")
    return chosen


def _plan(pages: Sequence[str], patient_ids: bool, present: set[str], for_marketing: bool = False
          ) -> tuple[str, list[tuple[str, SheetSpec]], list[tuple[str, SheetSpec, str]]]:
    """(audience, the sheets to write, the sheets left out with why)."""
    exports = {p: page_export(p, for_marketing) for p in pages}
    audiences = {exports[p].audience for p in pages}
    if len(audiences) > 1:
        raise ExportError("a marketing export cannot hold owner pages: export them separately")
    audience = audiences.pop() if audiences else "owner"
    written, left_out = [], []
    for page in pages:
        for spec in exports[page].sheets:
            if audience == "marketing" and (spec.identifies_patients or spec.protect is None):
                raise ExportError(f"{spec.name}: a marketing sheet must not list patients and must suppress "
                                  "small cells (SheetSpec.protect)")
            if spec.needs and spec.needs not in present:
                left_out.append((page, spec, f"this export has no {spec.needs}.csv"))
            elif spec.identifies_patients and not patient_ids:
                left_out.append((page, spec, "it names patients (the report's --patient-ids adds it)"))
            else:
                written.append((page, spec))
    return audience, written, left_out


def _summary(workbook, formats: _Formats, con, view: ExportView, audience: str, present: set[str],
             written: list[tuple[str, SheetSpec]], left_out: list[tuple[str, SheetSpec, str]]) -> None:
    sheet = workbook.add_worksheet(SUMMARY)
    bold = {"bold": True, "bottom": 1, "valign": "top"}
    wrap = {"text_wrap": True, "valign": "top"}
    titles = ("Figure", "Value", "Comparison period", "Definition")
    for col, title in enumerate(titles):
        _write(sheet, 0, col, title, None, formats, **bold)
    rows: list[tuple[str, object, object, str, str | None]] = [
        ("Period from", view.start, view.previous[0] if view.previous else None,
         "Sessions, appointments and bookings dated in the period count (each by its own date; docs/metrics.md).",
         "date"),
        ("Period to", view.end, view.previous[1] if view.previous else None,
         "The comparison period is the same number of days just before (the same dates a year earlier for "
         "'This year').", "date"),
        ("Figures as of", view.as_of, None, "Nothing dated after this day counts, except a booking for a later "
         "appointment as a rebooking; six-month windows still open on it are pending.", "date"),
    ]
    for name, label in (("locations", "Locations"), ("practitioners", "Practitioners"), ("treatments", "Treatments"),
                        ("body_areas", "Body areas"), ("concerns", "Concerns")):
        chosen = getattr(view.filters, name)
        rows.append((label, ", ".join(str(labels.value(v)) for v in chosen) if chosen else "All", None,
                     "Filter: only these count." if chosen else "Filter: not set.", None))
    if view.data_label:
        rows.append(("Data", view.data_label, None, "", None))
    if audience == "marketing":
        rows.append(("Smallest cell shown", view.min_patients_per_cell, None,
                     f"Any figure counting fewer than {view.min_patients_per_cell} distinct patients is shown as "
                     f"<{view.min_patients_per_cell}, and no such figure can be worked out from the totals beside "
                     "it (SPEC 2.14). No patient identifier is in this workbook.", "count"))
    else:
        def run(name, filters, as_of, **parameters):
            return run_query(con, name, filters, as_of=as_of, **parameters)
        kpis = owner_kpis(run, view.filters, view.as_of, view.previous)
        current, previous = kpis["current"], kpis["previous"]
        for kpi in KPIS:
            if kpi.needs and kpi.needs not in present:
                rows.append((kpi.label, None, None, f"{kpi.help} (No {kpi.needs}.csv in this export.)", kpi.unit))
            else:
                rows.append((kpi.label, current[kpi.key], previous[kpi.key] if previous else None, kpi.help, kpi.unit))
        low, high = view.recall_days
        recall = run_query(con, "recall_list", view.filters, as_of=view.as_of, min_days=low, max_days=high)
        rows.append(("Patients due for recall", len(recall), None,
                     f"Patients whose latest session was {low}–{high} days before the as-of date and who have "
                     "nothing booked ahead; the period does not apply.", "count"))
    for row, (label, value, compared, definition, kind) in enumerate(rows, start=1):
        _write(sheet, row, 0, label, None, formats, valign="top")
        _write(sheet, row, 1, value, kind, formats, valign="top")
        _write(sheet, row, 2, compared, kind, formats, valign="top")
        _write(sheet, row, 3, definition, None, formats, **wrap)

    row = len(rows) + 2
    contents = [(spec.name, PAGES[page].title, spec.holds) for page, spec in written]
    contents += [(spec.name, PAGES[page].title, f"{spec.holds} Not in this workbook: {why}.")
                 for page, spec, why in left_out]
    for line, texts in enumerate([("Sheet", "Page", "What it holds"), *contents]):
        for col, text in zip((0, 1, 3), texts, strict=True):
            _write(sheet, row + line, col, text, None, formats, **(bold if line == 0 else wrap))
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 2, 22)
    sheet.set_column(3, 3, 100)
    sheet.freeze_panes(1, 0)


def build_workbook(con, view: ExportView, pages: Sequence[str] = OWNER_PAGES, *, patient_ids: bool = False,
                   rows: dict[str, int] | None = None, for_marketing: bool = False) -> bytes:
    """The .xlsx bytes of the Summary and `pages`' sheets for `view`; `rows`, when given, gets each written
    sheet's number of rows by sheet name (for the dashboard's audit log)."""
    if view.start > view.end:
        raise ExportError(f"the period starts ({view.start:%Y-%m-%d}) after it ends ({view.end:%Y-%m-%d}, "
                          "the end or the as-of date)")
    with con.cursor() as cursor:  # the dashboard builds on its download thread: a cursor of its own
        present = {name for name, info in file_counts(cursor).items() if info["is_present"]}
    audience, written, left_out = _plan(pages, patient_ids, present, for_marketing)
    built: dict = {}
    frames = [(spec, sheet_frame(con, spec, view, present, built)) for _, spec in written]
    if audience == "marketing":
        for spec, frame in frames:
            if set(frame.columns) & set(IDENTIFIER_COLUMNS):
                raise ExportError(f"{spec.name}: a marketing sheet holds an identifier column")
            if any(str(c).startswith("count_patients") for c in frame.columns):
                raise ExportError(f"{spec.name}: a marketing sheet holds a count of the patients behind a figure")

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False, "strings_to_numbers": False})
    workbook.set_properties({"title": f"Practice figures {view.start:%d %b %Y} – {view.end:%d %b %Y}",
                             "comments": f"Figures as of {view.as_of:%Y-%m-%d}"})
    formats = _Formats(workbook, view.currency)
    _summary(workbook, formats, con, view, audience, present, written, left_out)
    for spec, frame in frames:
        write_table(workbook, formats, spec.name, frame, view, spec.dimension_title)
        if rows is not None:
            rows[spec.name] = len(frame)
    workbook.close()
    return buffer.getvalue()


def report_view(as_of: date, start: date | None, end: date | None, **settings) -> ExportView:
    """The report's period: --from/--to, by default the 12 months (364 days back) to the as-of date, like the
    sidebar's "Last 12 months"; --to alone gives the 12 months to it. Compared with the days just before."""
    end = min(end or as_of, as_of)
    start = start or end - timedelta(days=364)
    if start > end:
        raise ExportError(f"--from {start:%Y-%m-%d} is after the period's end, {end:%Y-%m-%d} "
                          "(--to or the as-of date, whichever is first)")
    return ExportView(Filters(start=start, end=end), as_of, previous_period(start, end), **settings)
