"""Headless report (SPEC §3): the dashboard's figures as JSON or a text table.

    python -m queries.report --data DIR [--as-of YYYY-MM-DD] [--format json|text]

Exit status 0 on success, 2 on unusable input or an export with no booking or session loaded (the
error on stderr).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import date
from pathlib import Path

import pandas as pd

from queries import export
from queries.api import Call, Filters, default_as_of, nothing_to_report, run_queries
from queries.kpis import TargetsError
from queries.load import LoadError, file_counts, load, open_built
from queries.settings import Settings, read_settings


def _number(value):
    """NaN (a rate over nothing) becomes null in JSON."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _counts(frame, key: str, value: str) -> dict[str, int]:
    return {str(k): int(v) for k, v in zip(frame[key], frame[value], strict=True) if v}


# Every query the report reads: its key below -> (query, parameters beyond the filters, the export it
# needs, None: any). They run together (queries.api.run_queries: QUERY_WORKERS at a time), in this order: the
# slowest first, so that the small ones fill in beside them. At 1M sessions they took 0.58-0.62 s so
# against 0.70-0.98 s one at a time (a .duckdb file; in memory 1.3 against 1.45 s): a query leaves a core
# idle for part of its time, its planning and the hand-over to pandas among it.
REPORT_QUERIES: dict[str, tuple[str, dict, str | None]] = {
    "lot_trace": ("lot_trace", {}, "consumables"),
    "demand_by_concern_month_channel": ("demand_by_concern_month_channel", {}, None),
    "recall_list": ("recall_list", {}, None),
    "consumables_by_item": ("consumables_by_item", {}, "consumables"),
    "consultation_conversion": ("consultation_conversion", {}, None),
    "complaints_control": ("complaints_control", {}, "complaints"),
    # The report prints no patient count (those are for marketing's small-cell rule): not computed.
    "booking_rates": ("booking_rates", {"patients": False}, None),
    "rebooking_6m": ("rebooking_6m", {"patients": False}, None),
    "monthly": ("sessions_over_time", {"grain": "month", "patients": False}, None),
    "complaint_rate": ("complaint_rate", {"patients": False}, "complaints"),
    "consumables_summary": ("consumables_summary", {"patients": False}, "consumables"),
    "rebooking_by_body_area": ("rebooking_by_dimension", {"dimension": "body_area"}, None),
    "sessions_by_body_area": ("sessions_by_body_area", {}, None),
    "complaints_by_category": ("complaints_by_category", {}, "complaints"),
    "demand_by_concern": ("demand_by_concern", {}, None),
}


def _run_report_queries(con, as_of: date, filters: Filters, present: set[str]) -> dict[str, pd.DataFrame]:
    """REPORT_QUERIES' results (those whose export is present) by key."""
    wanted = {key: (name, extra) for key, (name, extra, needs) in REPORT_QUERIES.items() if needs in (None, *present)}
    frames = run_queries(con, [Call(name, filters, as_of, extra) for name, extra in wanted.values()])
    return dict(zip(wanted, frames, strict=True))


def build_report(con, as_of: date | None = None, filters: Filters | None = None) -> dict:
    """Every SPEC §3 figure for the loaded data, as a plain dict."""
    as_of = as_of or default_as_of(con)
    filters = filters or Filters()
    files = file_counts(con)
    present = {name for name, info in files.items() if info["is_present"]}
    frames = _run_report_queries(con, as_of, filters, present)

    def one_row(key: str) -> dict:
        return frames[key].iloc[0].to_dict()

    booking_rates = one_row("booking_rates")
    rebooking = one_row("rebooking_6m")
    monthly = frames["monthly"]

    report: dict = {
        "as_of": as_of.isoformat(),
        "rows": {
            name: {"read": info["read"], "loaded": info["loaded"], "rejected": info["rejected"]}
            for name, info in files.items() if name in present
        },
        "sessions_by_body_area": _counts(frames["sessions_by_body_area"], "body_area", "count_sessions"),
        "no_show_rate": _number(booking_rates["no_show_rate"]),
        "cancellation_rate": _number(booking_rates["cancellation_rate"]),
        "rebooking_6m": {
            "eligible": int(rebooking["count_eligible"]),
            "rebooked": int(rebooking["count_rebooked"]),
            "pending": int(rebooking["count_pending"]),
            "rate": _number(rebooking["rebooking_rate"]),
        },
    }
    if "complaints" in present:
        report["complaints_per_100_sessions"] = _number(one_row("complaint_rate")["complaints_per_100_sessions"])
        report["complaints_by_category"] = _counts(frames["complaints_by_category"], "category", "count_complaints")
    if "consumables" in present:
        consumables = one_row("consumables_summary")
        report["consumables"] = {
            "cost_total": _number(consumables["cost_total"]),
            "cost_per_session": _number(consumables["cost_per_session"]),
            "tip_compliance": _number(consumables["tip_compliance"]),
        }
    report["demand_by_concern"] = _counts(frames["demand_by_concern"], "concern", "count_bookings")
    report["monthly"] = {
        month.strftime("%Y-%m"): (
            {"sessions": int(sessions), "complaints": int(complaints)}
            if "complaints" in present else {"sessions": int(sessions)}
        )
        for month, sessions, complaints in zip(
            monthly["period_start"], monthly["count_sessions"], monthly["count_complaints"], strict=True)
    }
    report |= clinic_figures(frames, present)
    report |= marketing_figures(frames)
    return report


def clinic_figures(frames: dict[str, pd.DataFrame], present: set[str]) -> dict:
    """SPEC §3's keys for 2.7-2.11, from the queries the Clinic pages run."""
    by_area = frames["rebooking_by_body_area"]
    figures: dict = {
        "rebooking_6m_by_body_area": {
            row.dimension_value: {"eligible": int(row.count_eligible), "rebooked": int(row.count_rebooked),
                                  "pending": int(row.count_pending), "rate": _number(row.rebooking_rate)}
            for row in by_area.itertuples()
        },
        # SPEC 2.8's default bounds, whatever a practice's settings choose for its dashboard.
        "recall": {"patients": len(frames["recall_list"])},
    }
    if "complaints" in present:
        control = frames["complaints_control"]
        signals = control[control["is_signal"]]
        figures["complaints_control"] = {
            "centre_per_100": _number(control["centre_per_100"].iloc[0]) if len(control) else None,
            "signals": {month.strftime("%Y-%m"): float(rate)
                        for month, rate in zip(signals["month"], signals["complaints_per_100"], strict=True)},
        }
    if "consumables" in present:
        figures["lots"] = {
            row.lot: {"sessions": int(row.count_sessions)}
            | ({"complaints": int(row.count_complaints)} if "complaints" in present else {})
            for row in frames["lot_trace"].itertuples()
        }
        figures["consumables_by_item"] = {
            row.item: {"quantity": float(row.quantity), "cost": float(row.cost), "sessions": int(row.count_sessions)}
            for row in frames["consumables_by_item"].itertuples()
        }
    return figures


def marketing_figures(frames: dict[str, pd.DataFrame]) -> dict:
    """SPEC §3's keys for 2.12-2.13, from the queries the Demand page runs. Not suppressed (SPEC 2.14 is for
    marketing views; the report is the owner's)."""
    demand = frames["demand_by_concern_month_channel"]
    cells = demand[demand["month"].isna() & demand["concern"].notna() & demand["channel"].notna()]
    by_channel: dict[str, dict[str, int]] = {}
    for row in cells.itertuples():
        if row.count_bookings:
            by_channel.setdefault(row.concern, {})[row.channel] = int(row.count_bookings)
    conversion = frames["consultation_conversion"]
    overall = conversion[conversion["concern"].isna() & conversion["channel"].isna()].iloc[0]
    return {
        "demand_by_concern_channel": by_channel,
        "consultation_conversion": {
            "eligible": int(overall["count_eligible"]),
            "converted": int(overall["count_converted"]),
            "pending": int(overall["count_pending"]),
            "rate": _number(overall["conversion_rate"]),
            "by_concern": {
                row.concern: {"eligible": int(row.count_eligible), "converted": int(row.count_converted)}
                for row in conversion[conversion["concern"].notna()].itertuples()
            },
        },
    }


def _percent(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def format_text(report: dict, currency: str = "$") -> str:
    lines = [f"Practice report as of {report['as_of']}", ""]
    lines.append(f"{'file':<14}{'read':>10}{'loaded':>10}{'rejected':>10}")
    for name, row in report["rows"].items():
        lines.append(f"{name:<14}{row['read']:>10,}{row['loaded']:>10,}{row['rejected']:>10,}")
    rebooking = report["rebooking_6m"]
    lines += [
        "",
        f"No-show rate (no-shows / attended + no-shows)   {_percent(report['no_show_rate'])}",
        f"Cancellation rate (cancelled / all bookings)    {_percent(report['cancellation_rate'])}",
        f"Six-month rebooking rate                        {_percent(rebooking['rate'])}"
        f"  ({rebooking['rebooked']:,} of {rebooking['eligible']:,} eligible; {rebooking['pending']:,} pending)",
    ]
    if "complaints_per_100_sessions" in report:
        value = report["complaints_per_100_sessions"]
        lines.append(f"Complaints per 100 sessions                     {'n/a' if value is None else f'{value:.2f}'}")
    if "consumables" in report:
        c = report["consumables"]
        lines += [
            f"Consumable cost, total                          {currency}{c['cost_total']:,.2f}",
            "Consumable cost per session                     "
            + ("n/a" if c["cost_per_session"] is None else f"{currency}{c['cost_per_session']:,.2f}"),
            f"Sterile-tip compliance (micro-needling)         {_percent(c['tip_compliance'])}",
        ]
    for title, key in [("Sessions by body area", "sessions_by_body_area"),
                       ("Complaints by category", "complaints_by_category"),
                       ("Bookings by concern", "demand_by_concern")]:
        if key in report:
            lines += ["", title]
            lines += [f"  {k.replace('_', ' '):<22}{v:>8,}" for k, v in report[key].items()]
    lines += ["", f"{'month':<10}{'sessions':>10}{'complaints':>12}"]
    for month, row in report["monthly"].items():
        lines.append(f"{month:<10}{row['sessions']:>10,}{row.get('complaints', ''):>12}")
    lines += _clinic_text(report, currency)
    return "\n".join(lines)


def _clinic_text(report: dict, currency: str) -> list[str]:
    lines = ["", "Six-month rebooking by body area", f"  {'area':<12}{'eligible':>10}{'rebooked':>10}{'pending':>10}{'rate':>8}"]
    for area, row in report["rebooking_6m_by_body_area"].items():
        lines.append(f"  {area:<12}{row['eligible']:>10,}{row['rebooked']:>10,}{row['pending']:>10,}"
                     f"{_percent(row['rate']):>8}")
    lines += ["", f"Patients due for recall (last session 42-180 days ago, nothing booked)  {report['recall']['patients']:,}"]
    if "complaints_control" in report:
        control = report["complaints_control"]
        centre = control["centre_per_100"]
        lines += ["", f"Complaint control chart: centre {'n/a' if centre is None else f'{centre:.2f}'} per 100 sessions; "
                      + ("months above the upper limit: "
                         + ", ".join(f"{m} ({rate:.2f})" for m, rate in control["signals"].items())
                         if control["signals"] else "no month above the upper limit")]
    if "consumables_by_item" in report:
        lines += ["", "Consumables by item", f"  {'item':<36}{'quantity':>12}{'cost':>14}{'sessions':>10}"]
        for item, row in report["consumables_by_item"].items():
            lines.append(f"  {item[:36]:<36}{row['quantity']:>12,.1f}{currency + format(row['cost'], ',.2f'):>14}"
                         f"{row['sessions']:>10,}")
    if "lots" in report:
        lines += ["", f"Lots traced: {len(report['lots']):,} (--format json lists each; the Consumables page flags "
                      "a lot far above its item's other lots)"]
        worst = sorted(((lot, row) for lot, row in report["lots"].items() if row.get("complaints", 0) >= 3),
                       key=lambda item: -item[1]["complaints"] / item[1]["sessions"])[:5]
        if worst:
            lines.append(f"  {'most complaints per 100 sessions':<36}{'sessions':>10}{'complaints':>12}{'per 100':>9}")
            lines += [f"  {lot[:36]:<36}{row['sessions']:>10,}{row['complaints']:>12,}"
                      f"{100 * row['complaints'] / row['sessions']:>9.2f}" for lot, row in worst]
    return lines


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m queries.report", description=__doc__.splitlines()[0],
        epilog="--format xlsx --out FILE writes a workbook for a period (--from/--to, default the last 12 months "
               "to the as-of date): a Summary of every KPI with its definition, then each page's main tables.")
    parser.add_argument("--data", required=True, help="folder of CSV exports, or a .duckdb built by queries.load")
    parser.add_argument("--as-of", type=_parse_date, help="compute figures for this date (default: the export's date)")
    parser.add_argument("--format", choices=("json", "text", "xlsx"), default="json")
    parser.add_argument("--out", type=Path, metavar="FILE", help="write to this file instead of stdout (required for xlsx)")
    parser.add_argument("--from", dest="start", type=_parse_date, metavar="YYYY-MM-DD",
                        help="xlsx: the period's first day (default: 364 days before its last, i.e. 12 months)")
    parser.add_argument("--to", dest="end", type=_parse_date, metavar="YYYY-MM-DD",
                        help="xlsx: the period's last day (default, and at the latest: the as-of date)")
    parser.add_argument("--patient-ids", action="store_true",
                        help="xlsx: add the recall list, which names patients (left out by default)")
    args = parser.parse_args(argv)
    if args.format == "xlsx" and args.out is None:
        parser.error("--format xlsx writes a workbook: name the file with --out FILE")
    if args.format != "xlsx" and (args.start or args.end or args.patient_ids):
        parser.error("--from, --to and --patient-ids choose what a workbook holds (--format xlsx); the json and "
                     "text reports cover all the data up to the as-of date")

    def write(data: bytes) -> int:
        """Into --out whole or not at all: a failed run leaves no half-written file behind."""
        partial = args.out.with_name(f".{args.out.name}.partial")
        try:
            partial.write_bytes(data)
            partial.replace(args.out)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        return 0

    try:
        path = Path(args.data)
        con = open_built(path)  # a .duckdb file or a --parquet folder; else a folder of CSV exports
        if con is None:
            con = load(path).connection
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if problem := nothing_to_report(file_counts(con)):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        settings = read_settings(path if path.is_dir() else path.parent)
    except TargetsError as exc:
        # The figures do not depend on the settings; a broken file only loses the symbol (and recall bounds).
        settings = Settings()
        if args.format == "xlsx":
            print(f"warning: practice settings not used: {exc}", file=sys.stderr)
    if args.format == "xlsx":
        try:
            view = export.report_view(
                args.as_of or default_as_of(con), args.start, args.end, currency=settings.currency,
                recall_days=(settings.recall_min_days, settings.recall_max_days),
                min_patients_per_cell=settings.min_patients_per_cell, data_label=path.name)
            return write(export.build_workbook(con, view, patient_ids=args.patient_ids))
        except export.ExportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    report = build_report(con, args.as_of)
    text = json.dumps(report, indent=2) if args.format == "json" else format_text(report, settings.currency)
    if args.out is not None:
        return write((text + "\n").encode("utf-8"))
    try:
        print(text)
    except BrokenPipeError:  # `| head` closed the pipe: not an error of ours
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
