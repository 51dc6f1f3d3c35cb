"""The headless report (SPEC §3) against an independent pandas computation of SPEC §2.

The report runs as a subprocess, exactly as a user would run it. The expected
figures are computed here from the four bundled CSVs with plain pandas, one
small function per SPEC section, without importing anything from `queries`
and without SQL. The bundled files are clean canonical exports, so pandas can
read them directly.

Project choices followed (docs/metrics.md and SPEC §2): a complaint counts
only once it is reported (reported on or before as_of); linked complaints are
dated by their session, complaints with no known session by the day they were
reported; cost per session divides by all sessions.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "sample_data" / "default"
FILES = ("bookings", "sessions", "consumables", "complaints")
MICRO_NEEDLING = r"(?i)micro-?needling"
SIX_MONTHS = pd.DateOffset(months=6)


# --- running the report ----------------------------------------------------------------------------------------------

def run_report(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "queries.report", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def report_json(*args: str) -> dict:
    result = run_report(*args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


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


def spec_2_3_rebooking_6m(export, as_of) -> dict:
    """Eligible: d + 6 months <= as_of. Pending: d <= as_of < d + 6 months. Rebooked: an eligible
    session whose patient has a non-cancelled booking (any date, future ones too) with
    d < appointment day <= d + 6 months."""
    sessions = sessions_until(export, as_of)[["session_id", "patient_id", "session_date"]].copy()
    sessions["window_end"] = sessions["session_date"] + SIX_MONTHS
    eligible = sessions[sessions["window_end"] <= as_of]
    pending = sessions[sessions["window_end"] > as_of]

    bookings = export["bookings"]
    live = bookings.loc[bookings["status"] != "cancelled", ["patient_id", "appointment_date"]]
    pairs = eligible.merge(live, on="patient_id")
    in_window = pairs[(pairs["appointment_date"] > pairs["session_date"])
                      & (pairs["appointment_date"] <= pairs["window_end"])]
    rebooked = in_window["session_id"].nunique()
    return {"eligible": len(eligible), "rebooked": rebooked, "pending": len(pending),
            "rate": ratio(rebooked, len(eligible))}


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
    }
    if "complaints" in export:
        expected["complaints_per_100_sessions"] = spec_2_4_complaints_per_100_sessions(export, day)
        expected["complaints_by_category"] = spec_2_4_complaints_by_category(export, day)
    if "consumables" in export:
        expected["consumables"] = spec_2_5_consumables(export, day)
    return expected


# --- comparing -------------------------------------------------------------------------------------------------------

def assert_rate(actual, expected: float, what: str) -> None:
    if math.isnan(expected):
        assert actual is None, f"{what}: expected null (a rate over nothing), got {actual}"
    else:
        assert actual == pytest.approx(float(expected), rel=1e-9), what


def assert_counts(actual: dict, expected: dict, what: str) -> None:
    """Exact counts per key; a key the report omits counts as zero."""
    keys = sorted(set(actual) | set(expected))
    got = {k: actual.get(k, 0) for k in keys}
    want = {k: int(expected.get(k, 0)) for k in keys}
    assert got == want, what


def assert_report_matches(report: dict, expected: dict) -> None:
    assert report["as_of"] == expected["as_of"]
    assert report["rows"] == expected["rows"]
    assert_counts(report["sessions_by_body_area"], expected["sessions_by_body_area"], "sessions_by_body_area")
    assert_rate(report["no_show_rate"], expected["no_show_rate"], "no_show_rate")
    assert_rate(report["cancellation_rate"], expected["cancellation_rate"], "cancellation_rate")

    rebooking, want = report["rebooking_6m"], expected["rebooking_6m"]
    assert {k: rebooking[k] for k in ("eligible", "rebooked", "pending")} == \
        {k: int(want[k]) for k in ("eligible", "rebooked", "pending")}
    assert_rate(rebooking["rate"], want["rate"], "rebooking_6m.rate")

    assert_rate(report["complaints_per_100_sessions"], expected["complaints_per_100_sessions"],
                "complaints_per_100_sessions")
    assert_counts(report["complaints_by_category"], expected["complaints_by_category"], "complaints_by_category")
    for key in ("cost_total", "cost_per_session", "tip_compliance"):
        assert_rate(report["consumables"][key], expected["consumables"][key], f"consumables.{key}")
    assert_counts(report["demand_by_concern"], expected["demand_by_concern"], "demand_by_concern")

    months = sorted(set(report["monthly"]) | set(expected["monthly"]))
    empty = {"sessions": 0, "complaints": 0}
    got = {m: {**empty, **report["monthly"].get(m, {})} for m in months}
    want = {m: expected["monthly"].get(m, empty) for m in months}
    assert got == want, "monthly"

    assert set(report) == set(expected), "report keys"


# --- tests -----------------------------------------------------------------------------------------------------------

def test_report_matches_pandas_on_the_sample_export():
    report = report_json("--data", str(SAMPLE_DATA))
    expected = expected_report(SAMPLE_DATA)
    assert_report_matches(report, expected)
    # Sanity: the sample is big enough that every figure is exercised.
    assert report["rebooking_6m"]["eligible"] > 0 and report["rebooking_6m"]["pending"] > 0
    assert sum(report["complaints_by_category"].values()) > 0


# 2025-06-30 is the date the brief asks for. On 2026-09-30 three complaints follow sessions performed by
# then but were reported in October, so it also checks that they are not counted yet.
@pytest.mark.parametrize("as_of", ["2025-06-30", "2026-09-30"])
def test_report_matches_pandas_as_of_an_earlier_date(as_of):
    report = report_json("--data", str(SAMPLE_DATA), "--as-of", as_of)
    expected = expected_report(SAMPLE_DATA, as_of)
    assert report["as_of"] == as_of
    assert_report_matches(report, expected)
    assert max(report["monthly"]) == as_of[:7]
    # Loading does not depend on as_of: every row is still read and loaded.
    assert report["rows"] == spec_3_rows(read_export(SAMPLE_DATA))


def test_text_format_is_a_readable_table():
    result = run_report("--data", str(SAMPLE_DATA), "--format", "text")
    assert result.returncode == 0, result.stderr
    report = expected_report(SAMPLE_DATA)
    assert report["as_of"] in result.stdout
    rate = report["rebooking_6m"]["rate"]
    assert f"{rate:.1%}" in result.stdout
    for name in FILES:
        assert name in result.stdout


def _write_without_column(source: Path, target: Path, column: str) -> None:
    pd.read_csv(source, dtype=str).drop(columns=[column]).to_csv(target, index=False)


@pytest.mark.parametrize("case", ["missing folder", "no sessions.csv", "bookings without status"])
def test_unusable_input_exits_2_with_one_error_line(tmp_path, case):
    folder = tmp_path / "export"
    if case != "missing folder":
        folder.mkdir()
        if case == "no sessions.csv":
            (folder / "bookings.csv").write_bytes((SAMPLE_DATA / "bookings.csv").read_bytes())
        else:
            _write_without_column(SAMPLE_DATA / "bookings.csv", folder / "bookings.csv", "status")
            (folder / "sessions.csv").write_bytes((SAMPLE_DATA / "sessions.csv").read_bytes())

    result = run_report("--data", str(folder), "--format", "json")

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    expected_words = {"missing folder": [], "no sessions.csv": ["sessions.csv"],
                      "bookings without status": ["bookings.csv", "status"]}[case]
    for word in expected_words:
        assert word in lines[0]


def test_unparseable_as_of_exits_2():
    result = run_report("--data", str(SAMPLE_DATA), "--as-of", "2025-13-01", "--format", "json")
    assert result.returncode == 2
    assert result.stdout == ""
    # argparse prints its usage first, then one `prog: error: ...` line.
    last = result.stderr.strip().splitlines()[-1]
    assert "error:" in last and "--as-of" in last and "2025-13-01" in last


def test_optional_files_absent_omit_their_keys(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    for name in ("bookings", "sessions"):
        (folder / f"{name}.csv").write_bytes((SAMPLE_DATA / f"{name}.csv").read_bytes())

    report = report_json("--data", str(folder))

    assert set(report["rows"]) == {"bookings", "sessions"}
    for key in ("consumables", "complaints_per_100_sessions", "complaints_by_category"):
        assert key not in report
    # The figures that do not need the optional files still match.
    expected = expected_report(folder)
    assert set(report) == set(expected)
    assert report["as_of"] == expected["as_of"]
    assert report["rows"] == expected["rows"]
    assert_counts(report["sessions_by_body_area"], expected["sessions_by_body_area"], "sessions_by_body_area")
    assert_rate(report["no_show_rate"], expected["no_show_rate"], "no_show_rate")
    assert report["rebooking_6m"]["eligible"] == expected["rebooking_6m"]["eligible"]
    assert_counts(report["demand_by_concern"], expected["demand_by_concern"], "demand_by_concern")
    assert report["monthly"] == expected["monthly"]  # sessions only: no complaints key per month
