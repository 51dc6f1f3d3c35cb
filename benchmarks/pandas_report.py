"""A straightforward pandas implementation of every SPEC §3 report figure: the oracle the headless report
(`python -m queries.report`) is checked against, and the baseline the benchmark times it against.

    python -m benchmarks.pandas_report --data DIR [--as-of YYYY-MM-DD]

prints the same JSON object as `python -m queries.report --data DIR --format json`. The figures are
computed from the CSV folder with plain pandas, one small function per SPEC section, without importing
anything from `queries` and without SQL. It reads the files directly, so it expects clean canonical
exports (the bundled sample, or sample_data.generate's output): no column map, no rejected rows.

Project choices followed (docs/metrics.md and SPEC §2): a complaint counts
only once it is reported (reported on or before as_of); linked complaints are
dated by their session, complaints with no known session by the day they were
reported; cost per session divides by all sessions; lots and items are the
trimmed text, and a consumable line without a lot belongs to no lot.

`compare(report, expected)` lists where a report and these figures disagree (tests/test_report.py asserts
the list is empty; benchmarks/run.py prints it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import date
from pathlib import Path

import pandas as pd

FILES = ("bookings", "sessions", "consumables", "complaints")
MICRO_NEEDLING = r"(?i)micro-?needling"
SIX_MONTHS = pd.DateOffset(months=6)


# --- the export, read with pandas ------------------------------------------------------------------------------------

def read_export(folder: Path) -> dict[str, pd.DataFrame]:
    """Each CSV as text columns, plus a `*_date` column (the day) for every timestamp used by §2."""
    ids = {"booking_id": str, "patient_id": str, "session_id": str, "complaint_id": str}
    export = {}
    for name in FILES:
        path = folder / f"{name}.csv"
        if path.exists():
            export[name] = pd.read_csv(path, dtype=ids)
    bookings, sessions = export["bookings"], export["sessions"]
    bookings["booked_date"] = pd.to_datetime(bookings["booked_at"]).dt.normalize()
    bookings["appointment_date"] = pd.to_datetime(bookings["appointment_at"]).dt.normalize()
    sessions["session_date"] = pd.to_datetime(sessions["performed_at"]).dt.normalize()
    if "complaints" in export:
        export["complaints"]["reported_date"] = pd.to_datetime(export["complaints"]["reported_at"]).dt.normalize()
    return export


def sessions_until(export: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> pd.DataFrame:
    """Sessions that count (§2.1): performed on or before as_of."""
    sessions = export["sessions"]
    return sessions[sessions["session_date"] <= as_of]


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


# --- SPEC §2 / §3, one function per figure ---------------------------------------------------------------------------

def spec_2_as_of(export) -> pd.Timestamp:
    """§2: the latest booked_at or performed_at day (future appointments do not move it)."""
    return max(export["bookings"]["booked_date"].max(), export["sessions"]["session_date"].max())


def spec_3_rows(export) -> dict:
    """§3 rows: clean files, so every row read is loaded and none is rejected."""
    return {name: {"read": len(frame), "loaded": len(frame), "rejected": 0} for name, frame in export.items()}


def spec_2_1_sessions_by_body_area(export, as_of) -> dict:
    return sessions_until(export, as_of)["body_area"].value_counts().to_dict()


def bookings_appointed_until(export, as_of) -> pd.DataFrame:
    bookings = export["bookings"]
    return bookings[bookings["appointment_date"] <= as_of]


def spec_2_2_no_show_rate(export, as_of) -> float:
    status = bookings_appointed_until(export, as_of)["status"]
    no_shows = (status == "no_show").sum()
    return ratio(no_shows, no_shows + (status == "completed").sum())


def spec_2_2_cancellation_rate(export, as_of) -> float:
    status = bookings_appointed_until(export, as_of)["status"]
    return ratio((status == "cancelled").sum(), len(status))


def rebooking_sessions(export, as_of) -> pd.DataFrame:
    """§2.3 per session performed by as_of: is it eligible, pending, rebooked.

    Eligible: d + 6 months <= as_of. Pending: d <= as_of < d + 6 months. Rebooked: an eligible
    session whose patient has a non-cancelled booking (any date, future ones too) with
    d < appointment day <= d + 6 months."""
    sessions = sessions_until(export, as_of)[["session_id", "patient_id", "session_date", "body_area"]].copy()
    sessions["window_end"] = sessions["session_date"] + SIX_MONTHS
    sessions["eligible"] = sessions["window_end"] <= as_of
    sessions["pending"] = ~sessions["eligible"]

    bookings = export["bookings"]
    live = bookings.loc[bookings["status"] != "cancelled", ["patient_id", "appointment_date"]]
    pairs = sessions[sessions["eligible"]].merge(live, on="patient_id")
    in_window = pairs[(pairs["appointment_date"] > pairs["session_date"])
                      & (pairs["appointment_date"] <= pairs["window_end"])]
    sessions["rebooked"] = sessions["session_id"].isin(in_window["session_id"])
    return sessions


def rebooking_counts(sessions: pd.DataFrame) -> dict:
    eligible, rebooked = int(sessions["eligible"].sum()), int(sessions["rebooked"].sum())
    return {"eligible": eligible, "rebooked": rebooked, "pending": int(sessions["pending"].sum()),
            "rate": ratio(rebooked, eligible)}


def spec_2_3_rebooking_6m(export, as_of) -> dict:
    return rebooking_counts(rebooking_sessions(export, as_of))


def known_complaints(export, as_of) -> pd.DataFrame:
    """Complaints reported on or before as_of, with the day of their session where that session is loaded."""
    complaints = export["complaints"]
    complaints = complaints[complaints["reported_date"] <= as_of]
    session_days = export["sessions"][["session_id", "session_date"]]
    return complaints.merge(session_days, on="session_id", how="left")


def linked_complaints(export, as_of) -> pd.DataFrame:
    """§2.4: complaints following a loaded session performed on or before as_of."""
    complaints = known_complaints(export, as_of)
    return complaints[complaints["session_date"].notna() & (complaints["session_date"] <= as_of)]


def spec_2_4_complaints_per_100_sessions(export, as_of) -> float:
    return ratio(100 * len(linked_complaints(export, as_of)), len(sessions_until(export, as_of)))


def spec_2_4_complaints_by_category(export, as_of) -> dict:
    """Linked complaints by their session's day plus complaints with no known session by the day reported
    (both already reported by as_of)."""
    complaints = known_complaints(export, as_of)
    unlinked = complaints[complaints["session_date"].isna()]  # reported_date <= as_of already
    counted = pd.concat([linked_complaints(export, as_of), unlinked])
    return counted["category"].value_counts().to_dict()


def spec_2_5_consumables(export, as_of) -> dict:
    sessions = sessions_until(export, as_of)
    lines = export["consumables"]
    lines = lines[lines["session_id"].isin(sessions["session_id"])]
    cost_total = (lines["quantity"] * lines["unit_cost"]).sum()  # uncosted lines add nothing

    micro = sessions[sessions["treatment"].str.contains(MICRO_NEEDLING, regex=True)]
    tipped = lines.loc[lines["category"] == "needle_tip", "session_id"]
    return {"cost_total": cost_total,
            "cost_per_session": ratio(cost_total, len(sessions)),
            "tip_compliance": ratio(micro["session_id"].isin(tipped).sum(), len(micro))}


def spec_2_6_demand_by_concern(export, as_of) -> dict:
    bookings = export["bookings"]
    made = bookings[bookings["booked_date"] <= as_of]
    return made["concern"].fillna("unknown").value_counts().to_dict()


def spec_2_7_rebooking_by_body_area(export, as_of) -> dict:
    """§2.3's counts per body area of the session."""
    sessions = rebooking_sessions(export, as_of)
    return {area: rebooking_counts(group) for area, group in sessions.groupby("body_area")}


def spec_2_8_recall(export, as_of, min_days: int = 42, max_days: int = 180) -> dict:
    """Patients whose latest session by as_of was min_days..max_days days before it, with no booking
    ahead (booked by as_of, for a day after it, not cancelled)."""
    last = sessions_until(export, as_of).groupby("patient_id")["session_date"].max()
    days_since = (as_of - last).dt.days
    in_window = days_since[(days_since >= min_days) & (days_since <= max_days)]
    bookings = export["bookings"]
    ahead = bookings.loc[(bookings["booked_date"] <= as_of) & (bookings["appointment_date"] > as_of)
                         & (bookings["status"] != "cancelled"), "patient_id"]
    return {"patients": int((~in_window.index.isin(ahead)).sum())}


def spec_2_9_complaints_control(export, as_of) -> dict:
    """u-chart over every month from the first session to as_of: n sessions, c linked complaints
    (§2.4) per month of the session; centre u = Σc / Σn; a month signals when c/n > u + 3·sqrt(u/n).
    Per 100 sessions. A month without sessions has no point on the chart."""
    sessions = sessions_until(export, as_of)["session_date"].dt.to_period("M").value_counts()
    complaints = linked_complaints(export, as_of)["session_date"].dt.to_period("M").value_counts()
    if sessions.empty:
        return {"centre_per_100": math.nan, "signals": {}}
    months = pd.period_range(sessions.index.min(), as_of.to_period("M"), freq="M")
    n = sessions.reindex(months, fill_value=0)
    c = complaints.reindex(months, fill_value=0)
    u = c.sum() / n.sum()
    charted = n > 0
    n, c = n[charted], c[charted]
    rate = c / n
    upper = u + 3 * (u / n) ** 0.5
    return {"centre_per_100": 100 * u,
            "signals": {str(month): 100 * rate[month] for month in rate.index[rate > upper]}}


def lines_until(export, as_of) -> pd.DataFrame:
    """Consumable lines of loaded sessions performed on or before as_of, item and lot trimmed
    (an empty lot is no lot)."""
    lines = export["consumables"]
    lines = lines[lines["session_id"].isin(sessions_until(export, as_of)["session_id"])].copy()
    lines["item"] = lines["item"].str.strip()
    lines["lot"] = lines["lot"].fillna("").astype(str).str.strip().replace("", None)
    return lines


def spec_2_10_lots(export, as_of) -> dict:
    """Per lot: distinct sessions that used it, and the complaints following those sessions (§2.4:
    reported by as_of) when complaints.csv is present."""
    used = lines_until(export, as_of).dropna(subset=["lot"])[["lot", "session_id"]].drop_duplicates()
    sessions = used.groupby("lot")["session_id"].nunique()
    if "complaints" not in export:  # §3: keys of an absent optional file are omitted
        return {lot: {"sessions": int(n)} for lot, n in sessions.items()}
    per_session = linked_complaints(export, as_of)["session_id"].value_counts()
    complaints = used["session_id"].map(per_session).fillna(0).groupby(used["lot"]).sum()
    return {lot: {"sessions": int(n), "complaints": int(complaints[lot])} for lot, n in sessions.items()}


def spec_2_11_consumables_by_item(export, as_of) -> dict:
    """Per item: total quantity, total cost (uncosted lines add nothing), distinct sessions."""
    lines = lines_until(export, as_of)
    lines["cost"] = lines["quantity"] * lines["unit_cost"]
    per_item = lines.groupby("item").agg(quantity=("quantity", "sum"), cost=("cost", "sum"),
                                         sessions=("session_id", "nunique"))
    return {item: {"quantity": row.quantity, "cost": row.cost, "sessions": int(row.sessions)}
            for item, row in per_item.iterrows()}


def normalised(text: pd.Series) -> pd.Series:
    """§1's rule for codes: lower case, every run of other characters one `_`, none at the ends; empty is missing."""
    out = text.astype("string").str.strip().str.lower().str.replace(r"[^a-z0-9]+", "_", regex=True).str.strip("_")
    return out.replace("", pd.NA)


def spec_2_12_demand_by_concern_channel(export, as_of) -> dict:
    """§2.12: bookings made by as_of, any status, per concern × channel; missing either reads `unknown`."""
    bookings = export["bookings"]
    made = bookings[bookings["booked_date"] <= as_of]
    concern = made["concern"].fillna("unknown")
    channel = normalised(made["channel"]).fillna("unknown")
    counts = made.groupby([concern, channel]).size()
    nested: dict = {}
    for (c, ch), n in counts.items():
        nested.setdefault(c, {})[ch] = int(n)
    return nested


def spec_2_13_consultation_conversion(export, as_of) -> dict:
    """§2.13: completed bookings whose treatment contains "consult" (any case), appointment day d <= as_of, made
    by as_of. Eligible when d + 90 days <= as_of, else pending; converted when the patient has a session of a
    treatment without "consult" on a day from d to d + 90 inclusive. Per concern of the booking (missing: unknown)."""
    bookings = export["bookings"]
    consults = bookings[bookings["treatment"].str.contains("consult", case=False) & (bookings["status"] == "completed")
                        & (bookings["appointment_date"] <= as_of) & (bookings["booked_date"] <= as_of)].copy()
    consults["concern"] = consults["concern"].fillna("unknown")
    consults["window_end"] = consults["appointment_date"] + pd.Timedelta(days=90)
    consults["eligible"] = consults["window_end"] <= as_of
    sessions = export["sessions"]
    treated = sessions.loc[~sessions["treatment"].str.contains("consult", case=False), ["patient_id", "session_date"]]
    pairs = consults[["booking_id", "patient_id", "appointment_date", "window_end"]].merge(treated, on="patient_id")
    inside = pairs[(pairs["session_date"] >= pairs["appointment_date"]) & (pairs["session_date"] <= pairs["window_end"])]
    consults["converted"] = consults["eligible"] & consults["booking_id"].isin(inside["booking_id"])
    eligible, converted = int(consults["eligible"].sum()), int(consults["converted"].sum())
    return {
        "eligible": eligible, "converted": converted, "pending": int((~consults["eligible"]).sum()),
        "rate": ratio(converted, eligible),
        "by_concern": {c: {"eligible": int(g["eligible"].sum()), "converted": int(g["converted"].sum())}
                       for c, g in consults.groupby("concern")},
    }


def spec_3_monthly(export, as_of) -> dict:
    """Per month of the session: sessions, and complaints following them (§2.4, month of the session)."""
    sessions = sessions_until(export, as_of)["session_date"].dt.strftime("%Y-%m").value_counts()
    if "complaints" not in export:  # §3: keys of an absent optional file are omitted
        return {month: {"sessions": int(count)} for month, count in sessions.items()}
    complaints = linked_complaints(export, as_of)["session_date"].dt.strftime("%Y-%m").value_counts()
    return {month: {"sessions": int(sessions.get(month, 0)), "complaints": int(complaints.get(month, 0))}
            for month in sessions.index.union(complaints.index)}


def expected_report(folder: Path, as_of: str | None = None) -> dict:
    export = read_export(folder)
    day = pd.Timestamp(as_of) if as_of else spec_2_as_of(export)
    expected = {
        "as_of": day.strftime("%Y-%m-%d"),
        "rows": spec_3_rows(export),
        "sessions_by_body_area": spec_2_1_sessions_by_body_area(export, day),
        "no_show_rate": spec_2_2_no_show_rate(export, day),
        "cancellation_rate": spec_2_2_cancellation_rate(export, day),
        "rebooking_6m": spec_2_3_rebooking_6m(export, day),
        "demand_by_concern": spec_2_6_demand_by_concern(export, day),
        "monthly": spec_3_monthly(export, day),
        "rebooking_6m_by_body_area": spec_2_7_rebooking_by_body_area(export, day),
        "recall": spec_2_8_recall(export, day),
        "demand_by_concern_channel": spec_2_12_demand_by_concern_channel(export, day),
        "consultation_conversion": spec_2_13_consultation_conversion(export, day),
    }
    if "complaints" in export:
        expected["complaints_per_100_sessions"] = spec_2_4_complaints_per_100_sessions(export, day)
        expected["complaints_by_category"] = spec_2_4_complaints_by_category(export, day)
        expected["complaints_control"] = spec_2_9_complaints_control(export, day)
    if "consumables" in export:
        expected["consumables"] = spec_2_5_consumables(export, day)
        expected["lots"] = spec_2_10_lots(export, day)
        expected["consumables_by_item"] = spec_2_11_consumables_by_item(export, day)
    return expected



# --- comparing -------------------------------------------------------------------------------------------------------
# `expected` is either expected_report's dict (numpy numbers, NaN for a rate over nothing) or the JSON that main()
# prints (plain numbers, null for NaN); `report` is the headless report's JSON. Each check appends one line per
# disagreement, naming the figure and both values.

REL = 1e-9  # sums and rates may differ in the last bits with the order they were added up in
ABS = 1e-12


def _is_nan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def check_rate(out: list[str], actual, expected, what: str) -> None:
    if _is_nan(expected):
        if actual is not None:
            out.append(f"{what}: report {actual!r}, pandas null (a rate over nothing)")
    elif not isinstance(actual, int | float) or isinstance(actual, bool) \
            or not abs(actual - float(expected)) <= max(REL * abs(float(expected)), ABS):
        out.append(f"{what}: report {actual!r}, pandas {float(expected)!r}")


def check_equal(out: list[str], actual, expected, what: str) -> None:
    if actual != expected:
        out.append(f"{what}: report {actual!r}, pandas {expected!r}")


def check_counts(out: list[str], actual: dict, expected: dict, what: str) -> None:
    """Exact counts per key; a key the report omits counts as zero."""
    for key in sorted(set(actual) | set(expected)):
        got, want = actual.get(key, 0), int(expected.get(key, 0))
        if got != want:
            out.append(f"{what}.{key}: report {got!r}, pandas {want}")


def check_rebooking(out: list[str], actual: dict, expected: dict, what: str) -> None:
    for key in ("eligible", "rebooked", "pending"):
        check_equal(out, actual.get(key), int(expected[key]), f"{what}.{key}")
    check_rate(out, actual.get("rate"), expected["rate"], f"{what}.rate")


def check_nested_counts(out: list[str], actual: dict, expected: dict, fields: tuple[str, ...], what: str) -> None:
    """{key: {field: count}} compared exactly; an omitted key or field counts as zero."""
    for key in sorted(set(actual) | set(expected)):
        for field in fields:
            got, want = actual.get(key, {}).get(field, 0), int(expected.get(key, {}).get(field, 0))
            if got != want:
                out.append(f"{what}.{key}.{field}: report {got!r}, pandas {want}")


def compare(report: dict, expected: dict) -> list[str]:
    """Every figure of `expected` against `report`: one line per disagreement (empty: the same answers). The
    figures of an absent optional file are in neither."""
    out: list[str] = []
    if set(report) != set(expected):
        out.append(f"report keys: only in the report {sorted(set(report) - set(expected))}, "
                   f"only in pandas {sorted(set(expected) - set(report))}")
    present = set(report) & set(expected)

    def has(key: str) -> bool:
        return key in present

    for key in ("as_of", "rows"):
        if has(key):
            check_equal(out, report[key], expected[key], key)
    if has("sessions_by_body_area"):
        check_counts(out, report["sessions_by_body_area"], expected["sessions_by_body_area"], "sessions_by_body_area")
    for key in ("no_show_rate", "cancellation_rate"):
        if has(key):
            check_rate(out, report[key], expected[key], key)
    if has("rebooking_6m"):
        check_rebooking(out, report["rebooking_6m"], expected["rebooking_6m"], "rebooking_6m")

    if has("complaints_per_100_sessions"):
        check_rate(out, report["complaints_per_100_sessions"], expected["complaints_per_100_sessions"],
                   "complaints_per_100_sessions")
    if has("complaints_by_category"):
        check_counts(out, report["complaints_by_category"], expected["complaints_by_category"], "complaints_by_category")
    if has("consumables"):
        for key in ("cost_total", "cost_per_session", "tip_compliance"):
            check_rate(out, report["consumables"].get(key), expected["consumables"][key], f"consumables.{key}")
    if has("demand_by_concern"):
        check_counts(out, report["demand_by_concern"], expected["demand_by_concern"], "demand_by_concern")

    if has("monthly"):
        with_complaints = "complaints_per_100_sessions" in expected
        empty = {"sessions": 0, "complaints": 0} if with_complaints else {"sessions": 0}
        for month in sorted(set(report["monthly"]) | set(expected["monthly"])):
            got = {**empty, **report["monthly"].get(month, {})}
            want = {k: int(v) for k, v in expected["monthly"].get(month, empty).items()}
            check_equal(out, got, want, f"monthly.{month}")

    # §2.7: areas with no session may be left out.
    if has("rebooking_6m_by_body_area"):
        by_area, want_by_area = report["rebooking_6m_by_body_area"], expected["rebooking_6m_by_body_area"]
        check_equal(out, sorted(by_area), sorted(want_by_area), "rebooking_6m_by_body_area areas")
        for area, want in want_by_area.items():
            if area in by_area:
                check_rebooking(out, by_area[area], want, f"rebooking_6m_by_body_area.{area}")

    if has("recall"):
        check_equal(out, report["recall"], {k: int(v) for k, v in expected["recall"].items()}, "recall")

    if has("complaints_control"):
        control, want = report["complaints_control"], expected["complaints_control"]
        check_equal(out, sorted(control), ["centre_per_100", "signals"], "complaints_control keys")
        check_rate(out, control.get("centre_per_100"), want["centre_per_100"], "complaints_control.centre_per_100")
        signals = control.get("signals", {})
        check_equal(out, sorted(signals), sorted(want["signals"]), "complaints_control.signals months")
        for month, rate in want["signals"].items():
            if month in signals:
                check_rate(out, signals[month], rate, f"complaints_control.signals.{month}")

    if has("lots"):
        fields = ("sessions", "complaints") if "complaints_per_100_sessions" in expected else ("sessions",)
        extra = sorted({f for row in report["lots"].values() for f in row} - set(fields))
        if extra:
            out.append(f"lots: fields {extra} besides {list(fields)}")
        check_nested_counts(out, report["lots"], expected["lots"], fields, "lots")

    # §2.12: {concern: {channel: bookings}}; a zero count may be omitted.
    if has("demand_by_concern_channel"):
        got, want = report["demand_by_concern_channel"], expected["demand_by_concern_channel"]
        for concern in sorted(set(got) | set(want)):
            check_counts(out, got.get(concern, {}), want.get(concern, {}), f"demand_by_concern_channel.{concern}")

    # §2.13
    if has("consultation_conversion"):
        conversion, want = report["consultation_conversion"], expected["consultation_conversion"]
        for key in ("eligible", "converted", "pending"):
            check_equal(out, conversion.get(key), int(want[key]), f"consultation_conversion.{key}")
        check_rate(out, conversion.get("rate"), want["rate"], "consultation_conversion.rate")
        check_nested_counts(out, conversion.get("by_concern", {}), want["by_concern"], ("eligible", "converted"),
                            "consultation_conversion.by_concern")

    if has("consumables_by_item"):
        items, want_items = report["consumables_by_item"], expected["consumables_by_item"]
        check_equal(out, sorted(items), sorted(want_items), "consumables_by_item items")
        for item, want in want_items.items():
            if item in items:
                check_equal(out, items[item].get("sessions"), int(want["sessions"]), f"consumables_by_item.{item}.sessions")
                for key in ("quantity", "cost"):
                    check_rate(out, items[item].get(key), want[key], f"consumables_by_item.{item}.{key}")
    return out


# --- the command -----------------------------------------------------------------------------------------------------

def plain(value):
    """expected_report's figures as JSON values: numpy numbers as Python ones, NaN (a rate over nothing) as null."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int) or (hasattr(value, "dtype") and value.dtype.kind in "iu"):
        return int(value)
    number = float(value)
    return None if math.isnan(number) else number


def _parse_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pandas_report", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="folder of clean CSV exports")
    parser.add_argument("--as-of", type=_parse_date, help="compute figures for this date (default: the export's date)")
    args = parser.parse_args(argv)
    if not (args.data / "bookings.csv").is_file() or not (args.data / "sessions.csv").is_file():
        print(f"error: {args.data}: no bookings.csv and sessions.csv", file=sys.stderr)
        return 2
    print(json.dumps(plain(expected_report(args.data, args.as_of)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
