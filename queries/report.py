"""Headless report (SPEC §3): the dashboard's figures as JSON or a text table.

    python -m queries.report --data DIR [--as-of YYYY-MM-DD] [--format json|text]

Exit status 0 on success, 2 on unusable input (the error on stderr).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import date
from pathlib import Path

from queries.api import Filters, default_as_of, run_query
from queries.load import LoadError, file_counts, load, open_database


def _number(value):
    """NaN (a rate over nothing) becomes null in JSON."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _counts(frame, key: str, value: str) -> dict[str, int]:
    return {str(k): int(v) for k, v in zip(frame[key], frame[value], strict=True) if v}


def build_report(con, as_of: date | None = None, filters: Filters | None = None) -> dict:
    """Every SPEC §3 figure for the loaded data, as a plain dict."""
    as_of = as_of or default_as_of(con)
    filters = filters or Filters()

    def one_row(name: str) -> dict:
        return run_query(con, name, filters, as_of=as_of).iloc[0].to_dict()

    files = file_counts(con)
    present = {name for name, info in files.items() if info["is_present"]}
    booking_rates = one_row("booking_rates")
    rebooking = one_row("rebooking_6m")
    monthly = run_query(con, "sessions_over_time", filters, as_of=as_of, grain="month")

    report: dict = {
        "as_of": as_of.isoformat(),
        "rows": {
            name: {"read": info["read"], "loaded": info["loaded"], "rejected": info["rejected"]}
            for name, info in files.items() if name in present
        },
        "sessions_by_body_area": _counts(
            run_query(con, "sessions_by_body_area", filters, as_of=as_of), "body_area", "count_sessions"),
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
        report["complaints_by_category"] = _counts(
            run_query(con, "complaints_by_category", filters, as_of=as_of), "category", "count_complaints")
    if "consumables" in present:
        consumables = one_row("consumables_summary")
        report["consumables"] = {
            "cost_total": _number(consumables["cost_total"]),
            "cost_per_session": _number(consumables["cost_per_session"]),
            "tip_compliance": _number(consumables["tip_compliance"]),
        }
    report["demand_by_concern"] = _counts(
        run_query(con, "demand_by_concern", filters, as_of=as_of), "concern", "count_bookings")
    report["monthly"] = {
        month.strftime("%Y-%m"): (
            {"sessions": int(sessions), "complaints": int(complaints)}
            if "complaints" in present else {"sessions": int(sessions)}
        )
        for month, sessions, complaints in zip(
            monthly["period_start"], monthly["count_sessions"], monthly["count_complaints"], strict=True)
    }
    return report


def _percent(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def format_text(report: dict) -> str:
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
            f"Consumable cost, total                          ${c['cost_total']:,.2f}",
            "Consumable cost per session                     "
            + ("n/a" if c["cost_per_session"] is None else f"${c['cost_per_session']:,.2f}"),
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
    return "\n".join(lines)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m queries.report", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder of CSV exports, or a .duckdb built by queries.load")
    parser.add_argument("--as-of", type=_parse_date, help="compute figures for this date (default: the export's date)")
    parser.add_argument("--format", choices=("json", "text"), default="json")
    args = parser.parse_args(argv)
    try:
        path = Path(args.data)
        con = open_database(path) if path.is_file() else load(path).connection
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = build_report(con, args.as_of)
    try:
        print(json.dumps(report, indent=2) if args.format == "json" else format_text(report))
    except BrokenPipeError:  # `| head` closed the pipe: not an error of ours
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
