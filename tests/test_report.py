"""The headless report (SPEC §3) against an independent pandas computation of SPEC §2.

The report runs as a subprocess, exactly as a user would run it. The expected
figures come from benchmarks/pandas_report.py: plain pandas on the four CSVs,
one small function per SPEC section, without importing anything from `queries`
and without SQL (the same code the benchmark times the report against). The
bundled files are clean canonical exports, so pandas can read them directly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.pandas_report import (
    FILES,
    check_counts,
    check_rate,
    check_rebooking,
    compare,
    expected_report,
    read_export,
    spec_3_rows,
)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "sample_data" / "default"


# --- running the report ----------------------------------------------------------------------------------------------

def run_report(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "queries.report", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def report_json(*args: str) -> dict:
    result = run_report(*args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- comparing (benchmarks.pandas_report.compare lists each disagreement with both values) ----------------------------

def _assert_none(problems: list[str]) -> None:
    assert not problems, "the report and pandas disagree:\n" + "\n".join(problems)


def assert_rate(actual, expected: float, what: str) -> None:
    problems: list[str] = []
    check_rate(problems, actual, expected, what)
    _assert_none(problems)


def assert_counts(actual: dict, expected: dict, what: str) -> None:
    """Exact counts per key; a key the report omits counts as zero."""
    problems: list[str] = []
    check_counts(problems, actual, expected, what)
    _assert_none(problems)


def assert_rebooking(actual: dict, expected: dict, what: str) -> None:
    problems: list[str] = []
    check_rebooking(problems, actual, expected, what)
    _assert_none(problems)


def assert_report_matches(report: dict, expected: dict) -> None:
    """Every figure of `expected`; the figures of an absent optional file are in neither."""
    _assert_none(compare(report, expected))


# --- tests -----------------------------------------------------------------------------------------------------------

def test_report_matches_pandas_on_the_sample_export():
    report = report_json("--data", str(SAMPLE_DATA))
    expected = expected_report(SAMPLE_DATA)
    assert_report_matches(report, expected)
    # Sanity: the sample is big enough that every figure is exercised.
    assert report["rebooking_6m"]["eligible"] > 0 and report["rebooking_6m"]["pending"] > 0
    assert sum(report["complaints_by_category"].values()) > 0
    assert len(report["rebooking_6m_by_body_area"]) > 1 and report["recall"]["patients"] > 0
    assert sum(row.get("complaints", 0) for row in report["lots"].values()) > 0
    # The bad batch sample_data/README.md describes: its month stands out on the control chart.
    assert "2025-09" in report["complaints_control"]["signals"]
    # The Demand page has something to show: channels, and consultations that convert or not, some pending.
    conversion = report["consultation_conversion"]
    assert 0 < conversion["converted"] < conversion["eligible"] and conversion["pending"] > 0
    assert len({ch for row in report["demand_by_concern_channel"].values() for ch in row}) > 3
    assert report["lots"]["HAS-2509-A"]["complaints"] >= 6


# 2025-06-30 is the date the brief asks for. On 2026-09-30 three complaints follow sessions performed by
# then but were reported in October, so it also checks that they are not counted yet. 2025-09-10 is in
# the middle of a month, while the sample's bad serum batch (HAS-2509-A) is in use.
@pytest.mark.parametrize("as_of", ["2025-06-30", "2025-09-10", "2026-09-30"])
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


def test_text_format_prints_the_clinic_sections():
    result = run_report("--data", str(SAMPLE_DATA), "--format", "text")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    report = expected_report(SAMPLE_DATA)

    def line_starting(text: str, among: list[str] = lines) -> str:
        found = [line for line in among if line.strip().startswith(text)]
        assert len(found) == 1, f"one line starting {text!r}"
        return found[0]

    def section(title: str) -> list[str]:
        """The lines under a title, up to the next blank line."""
        start = lines.index(line_starting(title)) + 1
        end = lines.index("", start) if "" in lines[start:] else len(lines)
        return lines[start:end]

    by_area = section("Six-month rebooking by body area")
    for area, row in report["rebooking_6m_by_body_area"].items():
        assert line_starting(area + " ", by_area).split() == [
            area, f"{row['eligible']:,}", f"{row['rebooked']:,}", f"{row['pending']:,}", f"{row['rate']:.1%}"]

    assert line_starting("Patients due for recall").split()[-1] == f"{report['recall']['patients']:,}"

    control = line_starting("Complaint control chart")
    assert f"centre {report['complaints_control']['centre_per_100']:.2f} per 100 sessions" in control
    assert report["complaints_control"]["signals"], "the sample has a signalling month to print"
    for month, rate in report["complaints_control"]["signals"].items():
        assert f"{month} ({rate:.2f})" in control

    # Costs as the JSON report has them: a total that ends in half a cent (Botulinum toxin vials,
    # $22,368.705) may round either way depending on the order it was summed in.
    json_items = report_json("--data", str(SAMPLE_DATA))["consumables_by_item"]
    by_item = section("Consumables by item")
    for item, row in report["consumables_by_item"].items():
        line = line_starting(item[:36], by_item)
        assert line.split()[-2:] == [f"${json_items[item]['cost']:,.2f}", f"{row['sessions']:,}"]

    assert line_starting("Lots traced:").startswith(f"Lots traced: {len(report['lots']):,} ")


def test_lots_and_items_are_the_trimmed_text(tmp_path):
    """§2.10 / §2.11 on an export whose lots and items carry white space and whose lots are sometimes
    blank: the same lot or item whatever its padding, and a blank lot is no lot."""
    folder = tmp_path / "export"
    folder.mkdir()
    for name in ("bookings", "sessions", "complaints"):
        (folder / f"{name}.csv").write_bytes((SAMPLE_DATA / f"{name}.csv").read_bytes())
    lines = pd.read_csv(SAMPLE_DATA / "consumables.csv", dtype=str, keep_default_na=False)
    every = lines.index.to_series()
    lines.loc[every % 3 == 0, "item"] = "  " + lines["item"] + " "
    lines.loc[every % 5 == 1, "lot"] = " " + lines["lot"] + "  "
    lines.loc[every % 7 == 2, "lot"] = ""
    lines.loc[every % 11 == 4, "lot"] = "   "
    lines.to_csv(folder / "consumables.csv", index=False)

    report = report_json("--data", str(folder))

    assert all(lot and lot == lot.strip() for lot in report["lots"])
    assert all(item == item.strip() for item in report["consumables_by_item"])
    assert_report_matches(report, expected_report(folder))


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


# The keys that need each optional file (SPEC §3: absent, their keys are omitted).
NEEDS = {"consumables": ("consumables", "lots", "consumables_by_item"),
         "complaints": ("complaints_per_100_sessions", "complaints_by_category", "complaints_control")}


@pytest.mark.parametrize("present", ["consumables", "complaints"])
def test_one_optional_file_absent_omits_only_its_keys(tmp_path, present):
    folder = tmp_path / "export"
    folder.mkdir()
    for name in ("bookings", "sessions", present):
        (folder / f"{name}.csv").write_bytes((SAMPLE_DATA / f"{name}.csv").read_bytes())

    report = report_json("--data", str(folder))

    absent = "complaints" if present == "consumables" else "consumables"
    assert set(report["rows"]) == {"bookings", "sessions", present}
    for key in NEEDS[absent]:
        assert key not in report
    for key in NEEDS[present]:
        assert key in report
    if present == "consumables":  # lots without complaints.csv: sessions only
        assert all(set(row) == {"sessions"} for row in report["lots"].values())
    assert_report_matches(report, expected_report(folder))


def test_optional_files_absent_omit_their_keys(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    for name in ("bookings", "sessions"):
        (folder / f"{name}.csv").write_bytes((SAMPLE_DATA / f"{name}.csv").read_bytes())

    report = report_json("--data", str(folder))

    assert set(report["rows"]) == {"bookings", "sessions"}
    for key in NEEDS["consumables"] + NEEDS["complaints"]:
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
    assert report["recall"] == expected["recall"]
    assert set(report["rebooking_6m_by_body_area"]) == set(expected["rebooking_6m_by_body_area"])
    for area, want in expected["rebooking_6m_by_body_area"].items():
        assert_rebooking(report["rebooking_6m_by_body_area"][area], want, f"rebooking_6m_by_body_area.{area}")


# --- an export with nothing to report ---------------------------------------------------------------------------------

@pytest.mark.parametrize("format_args", [("--format", "json"), ("--format", "text")])
@pytest.mark.parametrize("bookings", [
    "booking_id,patient_id,booked_at,appointment_at,treatment,status\n",  # header only
    "booking_id,patient_id,booked_at,appointment_at,treatment,status\nB1,P1,next week,2025-01-10,Peel,done\n",
])
def test_an_export_with_nothing_loaded_exits_2_instead_of_figures_as_of_today(tmp_path, bookings, format_args):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "bookings.csv").write_text(bookings)
    (folder / "sessions.csv").write_text("session_id,patient_id,performed_at,treatment,body_area\n")

    result = run_report("--data", str(folder), *format_args)

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: nothing to report"), result.stderr
    assert "bookings.csv" in lines[0] and "sessions.csv" in lines[0]


# --- running the queries ----------------------------------------------------------------------------------------------

def test_the_report_runs_its_queries_two_at_a_time(monkeypatch):
    # Each of the first two queries waits for the other to start: run one after another, the barrier breaks.
    import threading

    from queries import api
    from queries import report as report_module
    from queries.load import load

    barrier = threading.Barrier(2, timeout=20)
    run = api.run_query
    first: list[str] = []

    def meeting(con, name, *args, **kwargs):
        if len(first) < 2:
            first.append(name)
            barrier.wait()
        return run(con, name, *args, **kwargs)

    con = load(SAMPLE_DATA).connection
    monkeypatch.setattr(api, "QUERY_WORKERS", 1)
    one_at_a_time = report_module.build_report(con)
    monkeypatch.setattr(api, "QUERY_WORKERS", 2)
    monkeypatch.setattr(api, "run_query", meeting)
    two_at_a_time = report_module.build_report(con)
    assert first == ["lot_trace", "demand_by_concern_month_channel"]  # the slowest first
    assert two_at_a_time == one_at_a_time
