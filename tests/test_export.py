"""The exports (queries/export.py, `python -m queries.report --format xlsx`) and the CSV-injection rule.

A workbook is read back with openpyxl and compared with what the metric queries return for the same
filters, shown as the dashboard shows them (dashboard.labels.frame): the sheets are the page's tables,
with their Excel types, and text from the exports stays text.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import subprocess
import sys
import zipfile
from dataclasses import replace
from datetime import date, datetime, timedelta

import openpyxl
import pandas as pd
import pytest
from conftest import ROOT, SAMPLE_DATA, booking, complaint, consumable, session, write_export

from queries import export, labels, report
from queries.api import Filters, run_query
from queries.export import PageExport, SheetSpec
from queries.kpis import KPIS, kpi_values
from queries.load import load

AS_OF = date(2026, 10, 31)  # the sample data's export date
LAST_12_MONTHS = Filters(start=AS_OF - timedelta(days=364), end=AS_OF)
INJECTED = '=HYPERLINK("http://evil.example","click me")'

# Every sheet of the owner's workbook: the query the page runs, its parameters for the last 12 months and the
# header of its dimension column. Written out here, not read from queries.export, so a change shows.
SHEETS = [
    ("Overview – trend", "sessions_over_time", {"grain": "month"}, None),
    ("Overview – treatments", "sessions_by_dimension", {"dimension": "treatment"}, "Treatment"),
    ("Overview – locations", "sessions_by_dimension", {"dimension": "location"}, "Location"),
    ("Body areas – sessions", "sessions_by_body_area",
     {"previous_start": date(2024, 11, 1), "previous_end": date(2025, 10, 31)}, None),
    ("Body areas – by month", "sessions_by_area_month", {"grain": "month"}, None),
    ("Rebooking – by cohort month", "rebooking_by_cohort_month", {}, None),
    ("Rebooking – by body area", "rebooking_by_dimension", {"dimension": "body_area"}, "Body area"),
    ("Rebooking – recall list", "recall_list", {"min_days": 42, "max_days": 180}, None),
    ("Aftercare – control chart", "complaints_control", {}, None),
    ("Aftercare – by needle depth", "complaint_rate_by_dimension", {"dimension": "depth_band"}, "Needle depth"),
    ("Consumables – by item", "consumables_by_item", {}, None),
    ("Consumables – lot trace", "lot_trace", {}, None),
]


@pytest.fixture(scope="module")
def sample():
    result = load(SAMPLE_DATA)
    yield result.connection
    result.connection.close()


def sample_view(**changes) -> export.ExportView:
    view = export.ExportView(LAST_12_MONTHS, AS_OF, (date(2024, 11, 1), date(2025, 10, 31)), data_label="sample")
    return replace(view, **changes)


@pytest.fixture(scope="module")
def sample_book(sample):
    return openpyxl.load_workbook(io.BytesIO(export.build_workbook(sample, sample_view(), patient_ids=True)))


# --- reading a workbook back -------------------------------------------------------------------------------------

def table(sheet) -> dict[str, list]:
    """A table sheet as {header: the cells under it}."""
    rows = list(sheet.iter_rows(values_only=True))
    return {name: [row[i] for row in rows[1:]] for i, name in enumerate(rows[0])}


def summary(book) -> dict[str, tuple]:
    """The Summary's figures: {label in column A: (value, comparison)} up to the first empty row."""
    found = {}
    for label, value, compared, *_ in book[export.SUMMARY].iter_rows(min_row=2, values_only=True):
        if label is None:
            break
        found[label] = (value, compared)
    return found


def summary_cells(book) -> dict[str, tuple]:
    """The Summary's figure rows as cells: {label: (value cell, comparison cell, definition)}."""
    found = {}
    for label, value, compared, definition in book[export.SUMMARY].iter_rows(min_row=2, max_col=4):
        if label.value is None:
            break
        found[label.value] = (value, compared, definition.value)
    return found


def expected_cell(value):
    """A query's value as openpyxl reads it back from its Excel type."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def assert_sheet_is(sheet, frame: pd.DataFrame, dimension_title: str | None = None, currency: str = "$"):
    """The sheet holds exactly `frame`, shown as the dashboard shows it (headers and code values in words), in the
    query's column order (the lot trace puts what a clinic reads first, as its page does)."""
    shown = labels.frame(frame, dimension_title, currency)
    got = table(sheet)
    if sheet.title == "Consumables – lot trace":
        assert set(got) == set(shown.columns)
    else:
        assert list(got) == list(shown.columns)
    for name in shown.columns:
        want = [expected_cell(v) for v in shown[name].tolist()]
        cells = got[name]
        assert len(cells) == len(want), name
        for cell, value in zip(cells, want, strict=True):
            if isinstance(value, float):
                assert cell == pytest.approx(value, rel=1e-12), name
            else:
                assert cell == value, name


# Columns a query holds only for the small-cell rule (the distinct patients behind a count): not in the owner's sheet.
SMALL_CELL_ONLY = {"sessions_over_time": ["count_patients_complained"], "sessions_by_dimension": ["count_patients"]}
# Columns a query holds for its page only: the recall list's count of all its rows, beside the first ones shown.
PAGE_ONLY = {"recall_list": ["count_patients_due"]}


def run(con, name, filters=LAST_12_MONTHS, as_of=AS_OF, **extra):
    """The query's rows as the owner's sheet holds them."""
    return run_query(con, name, filters, as_of=as_of, **extra).drop(
        columns=SMALL_CELL_ONLY.get(name, []) + PAGE_ONLY.get(name, []))


# --- the sheets are the pages' tables ----------------------------------------------------------------------------

def test_the_owner_workbook_holds_a_summary_then_every_pages_tables(sample_book):
    assert sample_book.sheetnames == [export.SUMMARY, *(name for name, *_ in SHEETS)]


@pytest.mark.parametrize("name, query, params, dimension_title", SHEETS, ids=[s[0] for s in SHEETS])
def test_each_sheet_equals_its_query_for_the_same_filters(sample, sample_book, name, query, params, dimension_title):
    frame = run(sample, query, **params)
    assert len(frame), "the sample data should give every sheet rows"
    assert_sheet_is(sample_book[name], frame, dimension_title)


def test_the_lot_trace_starts_with_what_a_clinic_reads_first(sample_book):
    headers = next(sample_book["Consumables – lot trace"].iter_rows(max_row=1, values_only=True))
    assert headers[:4] == ("Lot", "Item(s)", "Flagged", "Sessions")


def test_the_summary_holds_the_period_every_kpi_with_its_definition_and_the_recall_count(sample, sample_book):
    figures = summary(sample_book)
    assert figures["Period from"] == (datetime(2025, 11, 1), datetime(2024, 11, 1))
    assert figures["Period to"] == (datetime(2026, 10, 31), datetime(2025, 10, 31))
    assert figures["Figures as of"][0] == datetime(2026, 10, 31)
    assert figures["Locations"][0] == "All"

    def runner(name, filters, as_of, **parameters):
        return run_query(sample, name, filters, as_of=as_of, **parameters)
    current = kpi_values(runner, LAST_12_MONTHS, AS_OF)
    previous = kpi_values(runner, LAST_12_MONTHS.with_period(date(2024, 11, 1), date(2025, 10, 31)), AS_OF)
    cells = summary_cells(sample_book)
    for kpi in KPIS:
        value, compared, definition = cells[kpi.label]
        assert value.value == pytest.approx(current[kpi.key]), kpi.key
        assert compared.value == pytest.approx(previous[kpi.key]), kpi.key
        assert definition == kpi.help
        assert value.data_type == "n"
    recall = run(sample, "recall_list", min_days=42, max_days=180)
    assert figures["Patients due for recall"][0] == len(recall) > 0


@pytest.mark.parametrize("unit, number_format", [
    ("rate", re.compile(r"%")),
    ("money", re.compile(r'"€"#,##0\.00')),
    ("count", re.compile(r"^#,##0$")),
    ("per_100", re.compile(r"^0\.00$")),
])
def test_kpis_have_real_number_formats(sample, unit, number_format):
    book = openpyxl.load_workbook(io.BytesIO(export.build_workbook(sample, sample_view(currency="€"))))
    cells = summary_cells(book)
    for kpi in (k for k in KPIS if k.unit == unit):
        value = cells[kpi.label][0]
        assert isinstance(value.value, int | float) and number_format.search(value.number_format), kpi.key


def test_cells_keep_their_excel_types(sample):
    book = openpyxl.load_workbook(io.BytesIO(export.build_workbook(sample, sample_view(currency="€"))))
    by_area = book["Rebooking – by body area"]
    assert [c.value for c in by_area[1]] == ["Body area", "Eligible", "Rebooked", "Pending", "Rebooking rate"]
    rate = by_area["E2"]
    assert isinstance(rate.value, float) and 0 < rate.value < 1 and rate.number_format == "0.0%"
    assert isinstance(by_area["B2"].value, int) and by_area["B2"].number_format == "#,##0"
    month = book["Rebooking – by cohort month"]["A2"]
    assert isinstance(month.value, datetime) and month.is_date
    trend = book["Overview – trend"]
    assert trend["C1"].value == "Revenue (€)" and "€" in trend["C2"].number_format
    change = book["Body areas – sessions"]
    changes = [row[4] for row in change.iter_rows(min_row=2, max_col=5)]
    assert any(c.value < 0 for c in changes), "a fall in sessions is a negative number"
    assert all(c.data_type == "n" for c in changes)
    collecting = [row[8] for row in book["Aftercare – control chart"].iter_rows(min_row=2, max_col=9)]
    assert {c.value for c in collecting} == {True, False} and {c.data_type for c in collecting} == {"b"}


def test_every_sheet_has_a_frozen_header_row_and_set_column_widths(sample_book):
    for sheet in sample_book:
        assert sheet.freeze_panes == "A2", sheet.title
        # openpyxl keeps neighbouring columns of one width under the first one's letter
        widths = {col: d for d in sheet.column_dimensions.values() for col in range(d.min, d.max + 1)}
        for col in range(1, sheet.max_column + 1):
            assert col in widths and widths[col].customWidth and widths[col].width >= 8, (sheet.title, col)


def test_a_comparison_period_gives_the_body_area_sheet_its_comparison_columns_and_none_drops_them(sample):
    book = openpyxl.load_workbook(io.BytesIO(export.build_workbook(sample, sample_view(previous=None),
                                                                   ("body_areas",))))
    assert set(table(book["Body areas – sessions"])) == {"Body area", "Sessions", "Share of sessions"}
    assert summary(book)["Period from"] == (datetime(2025, 11, 1), None)


# --- hand-made exports -------------------------------------------------------------------------------------------

def hostile_export(folder, complaints=True):
    """Names a spreadsheet would run as formulas, in every text the sheets show."""
    bookings = [booking(f"B{i}", f"P{i}", f"2026-0{m}-1{i} 10:00", location=loc, treatment=treatment)
                for i, (m, loc, treatment) in enumerate([(1, "@SUM(1)", INJECTED), (2, "-2", INJECTED),
                                                         (3, "+1", "Chemical peel")])]
    sessions = [session(f"S{i}", f"P{i}", b["appointment_at"], treatment=b["treatment"], location=b["location"],
                        booking_id=b["booking_id"], price="100") for i, b in enumerate(bookings)]
    consumables = [consumable("S0", lot="=1+2", unit_cost="2.5"), consumable("S1", lot="LOT-B", unit_cost="2.5")]
    complaints_ = [complaint("C1", "P0", "2026-01-20", session_id="S0")] if complaints else None
    return write_export(folder, bookings=bookings, sessions=sessions, consumables=consumables, complaints=complaints_)


def test_a_hand_made_export_gives_sheets_equal_to_its_queries(tmp_path):
    con = load(hostile_export(tmp_path / "export")).connection
    as_of, filters = date(2026, 3, 31), Filters(start=date(2026, 1, 1), end=date(2026, 3, 31))
    view = export.ExportView(filters, as_of, None)
    book = openpyxl.load_workbook(io.BytesIO(export.build_workbook(con, view)))
    assert_sheet_is(book["Overview – treatments"], run(con, "sessions_by_dimension", filters, as_of,
                                                        dimension="treatment"), "Treatment")
    assert_sheet_is(book["Overview – trend"], run(con, "sessions_over_time", filters, as_of, grain="week"))
    assert_sheet_is(book["Consumables – lot trace"], run(con, "lot_trace", filters, as_of))
    assert_sheet_is(book["Aftercare – control chart"], run(con, "complaints_control", filters, as_of))


def test_text_from_the_exports_is_stored_as_text_never_as_a_formula(tmp_path):
    con = load(hostile_export(tmp_path / "export")).connection
    filters = Filters(start=date(2026, 1, 1), end=date(2026, 3, 31))
    data = export.build_workbook(con, export.ExportView(filters, date(2026, 3, 31)))
    book = openpyxl.load_workbook(io.BytesIO(data))
    treatments = book["Overview – treatments"]
    assert (treatments["A2"].value, treatments["A2"].data_type) == (INJECTED, "s")
    assert treatments["A2"].quotePrefix, "editing the cell must not turn it into a formula"
    locations = {c.value: c.data_type for c in book["Overview – locations"]["A"][1:]}
    assert locations == {"@SUM(1)": "s", "-2": "s", "+1": "s"}
    lots = {c.value: c.data_type for c in book["Consumables – lot trace"]["A"][1:]}
    assert lots == {"=1+2": "s", "LOT-B": "s"}
    with zipfile.ZipFile(io.BytesIO(data)) as files:
        sheets = [files.read(n).decode() for n in files.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and not any("<f>" in xml or "<f " in xml for xml in sheets), "no formula anywhere"


def test_a_filter_holding_such_text_is_text_in_the_summary(tmp_path):
    con = load(hostile_export(tmp_path / "export")).connection
    filters = Filters(start=date(2026, 1, 1), end=date(2026, 3, 31), treatments=(INJECTED,))
    book = openpyxl.load_workbook(io.BytesIO(export.build_workbook(con, export.ExportView(filters, date(2026, 3, 31)),
                                                                   ("overview",))))
    value = summary_cells(book)["Treatments"][0]
    assert (value.value, value.data_type) == (INJECTED, "s")
    assert table(book["Overview – treatments"])["Treatment"] == [INJECTED]


def test_without_complaints_csv_the_aftercare_sheets_and_the_complaint_figures_are_left_out_and_said_so(tmp_path):
    con = load(hostile_export(tmp_path / "export", complaints=False)).connection
    view = export.ExportView(Filters(start=date(2026, 1, 1), end=date(2026, 3, 31)), date(2026, 3, 31))
    book = openpyxl.load_workbook(io.BytesIO(export.build_workbook(con, view)))
    assert not any(name.startswith("Aftercare") for name in book.sheetnames)
    assert "Complaints" not in table(book["Overview – trend"])
    assert set(table(book["Consumables – lot trace"])) == {"Lot", "Item(s)", "Sessions", "Patients", "First used",
                                                           "Last used", "Location(s)", "Items"}
    value, _, definition = summary_cells(book)["Complaints"]
    assert value.value is None and "No complaints.csv" in definition
    contents = " ".join(str(c.value) for c in book[export.SUMMARY]["D"] if c.value)
    assert "Aftercare – control chart" in " ".join(str(c.value) for c in book[export.SUMMARY]["A"] if c.value)
    assert "no complaints.csv" in contents


# --- patient identifiers and the marketing rules --------------------------------------------------------------------

def all_text(book) -> set[str]:
    return {c for sheet in book for row in sheet.iter_rows(values_only=True) for c in row if isinstance(c, str)}


def test_the_recall_list_is_in_the_workbook_only_when_asked_for(sample):
    patients = set(run(sample, "recall_list", min_days=42, max_days=180)["patient_id"])
    without = openpyxl.load_workbook(io.BytesIO(export.build_workbook(sample, sample_view())))
    assert "Rebooking – recall list" not in without.sheetnames
    assert not all_text(without) & patients
    assert summary(without)["Patients due for recall"][0] == len(patients)
    with_ids = openpyxl.load_workbook(io.BytesIO(export.build_workbook(sample, sample_view(), patient_ids=True)))
    assert set(table(with_ids["Rebooking – recall list"])["Patient"]) == patients


def marketing_page(**sheet) -> PageExport:
    spec = SheetSpec("Demand – by concern", "Bookings per concern.", "demand_by_concern", **sheet)
    return PageExport("Demand", (spec,), audience="marketing")


def hide_small(frame: pd.DataFrame, view: export.ExportView) -> pd.DataFrame:
    k = view.min_patients_per_cell
    out = frame.astype({"count_bookings": object})
    out.loc[frame["count_bookings"] < k, "count_bookings"] = f"<{k}"
    return out


@pytest.mark.parametrize("sheet", [{}, {"protect": hide_small, "identifies_patients": True}])
def test_a_marketing_sheet_must_suppress_small_cells_and_list_nobody(sample, monkeypatch, sheet):
    monkeypatch.setitem(export.PAGES, "demand", marketing_page(**sheet))
    with pytest.raises(export.ExportError, match="marketing sheet"):
        export.build_workbook(sample, sample_view(), ("demand",))


def test_a_marketing_workbook_is_protected_holds_no_kpis_and_mixes_with_no_owner_page(sample, monkeypatch):
    monkeypatch.setitem(export.PAGES, "demand", marketing_page(protect=hide_small))
    book = openpyxl.load_workbook(io.BytesIO(export.build_workbook(sample, sample_view(min_patients_per_cell=400),
                                                                   ("demand",))))
    counts = run(sample, "demand_by_concern")["count_bookings"]
    shown = table(book["Demand – by concern"])["Bookings"]
    assert "<400" in shown and all(s == "<400" if c < 400 else s == c for s, c in zip(shown, counts, strict=True))
    figures = summary(book)
    assert figures["Smallest cell shown"][0] == 400
    assert not {k.label for k in KPIS} & set(figures)
    with pytest.raises(export.ExportError, match="cannot hold owner pages"):
        export.build_workbook(sample, sample_view(), ("overview", "demand"))


# --- the command line ------------------------------------------------------------------------------------------------

def test_the_report_writes_a_workbook_for_the_last_12_months_by_default(tmp_path):
    out = tmp_path / "report.xlsx"
    assert report.main(["--data", str(SAMPLE_DATA), "--format", "xlsx", "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == export.SUMMARY and "Consumables – lot trace" in book.sheetnames
    figures = summary(book)
    assert figures["Period from"] == (datetime(2025, 11, 1), datetime(2024, 11, 1))
    assert figures["Period to"][0] == figures["Figures as of"][0] == datetime(2026, 10, 31)
    assert "Rebooking – recall list" not in book.sheetnames
    assert not list(tmp_path.glob(".*partial")), "no temporary file left behind"


def test_from_and_to_choose_the_period(tmp_path):
    out = tmp_path / "q1.xlsx"
    assert report.main(["--data", str(SAMPLE_DATA), "--format", "xlsx", "--out", str(out),
                        "--from", "2026-01-01", "--to", "2026-03-31", "--patient-ids"]) == 0
    book = openpyxl.load_workbook(out)
    figures = summary(book)
    assert figures["Period from"] == (datetime(2026, 1, 1), datetime(2025, 10, 3))
    assert figures["Period to"] == (datetime(2026, 3, 31), datetime(2025, 12, 31))
    months = set(table(book["Body areas – by month"])["Period starting"])
    assert months == {datetime(2026, 1, 1), datetime(2026, 2, 1), datetime(2026, 3, 1)}
    cohorts = table(book["Rebooking – by cohort month"])["Month"]
    assert cohorts and all(datetime(2026, 1, 1) <= m <= datetime(2026, 3, 31) for m in cohorts)
    assert "Rebooking – recall list" in book.sheetnames


def test_as_of_moves_the_default_period(tmp_path):
    out = tmp_path / "r.xlsx"
    assert report.main(["--data", str(SAMPLE_DATA), "--format", "xlsx", "--out", str(out),
                        "--as-of", "2026-06-30"]) == 0
    figures = summary(openpyxl.load_workbook(out))
    assert figures["Period from"][0] == datetime(2025, 7, 1)
    assert figures["Period to"][0] == figures["Figures as of"][0] == datetime(2026, 6, 30)


@pytest.mark.parametrize("args, message", [
    (["--format", "xlsx"], "--out FILE"),
    (["--format", "json", "--from", "2026-01-01"], "--format xlsx"),
    (["--format", "xlsx", "--out", "x.xlsx", "--from", "2026-13-01"], "not a date"),
])
def test_unusable_arguments_exit_2_with_a_message(capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        report.main(["--data", str(SAMPLE_DATA), *args])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--from", "2026-04-01", "--to", "2026-03-31"], "after the period's end"),
    (["--from", "2026-11-01"], "after the period's end"),  # after the as-of date
])
def test_an_empty_period_exits_2_and_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "r.xlsx"
    assert report.main(["--data", str(SAMPLE_DATA), "--format", "xlsx", "--out", str(out), *args]) == 2
    assert message in capsys.readouterr().err and not out.exists()


def test_unusable_data_or_an_unwritable_file_exit_2(tmp_path, capsys):
    assert report.main(["--data", str(tmp_path / "nowhere"), "--format", "xlsx", "--out", str(tmp_path / "r.xlsx")]) == 2
    assert capsys.readouterr().err.startswith("error:")
    out = tmp_path / "missing-folder" / "r.xlsx"
    assert report.main(["--data", str(SAMPLE_DATA), "--format", "xlsx", "--out", str(out)]) == 2
    assert "cannot write" in capsys.readouterr().err and not out.parent.exists()


def test_out_writes_the_json_report_to_a_file_instead_of_stdout(tmp_path, capsys):
    out = tmp_path / "report.json"
    assert report.main(["--data", str(SAMPLE_DATA), "--out", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert report.main(["--data", str(SAMPLE_DATA)]) == 0
    written = out.read_text(encoding="utf-8")
    assert written.endswith("}\n")
    # Two loads may sum floats in a different order: compare to 9 significant digits.
    assert rounded(json.loads(written)) == rounded(json.loads(capsys.readouterr().out))


def rounded(node):
    if isinstance(node, dict):
        return {k: rounded(v) for k, v in node.items()}
    if isinstance(node, list):
        return [rounded(v) for v in node]
    return float(f"{node:.9g}") if isinstance(node, float) else node


def test_the_command_runs_as_a_user_runs_it(tmp_path):
    out = tmp_path / "r.xlsx"
    done = subprocess.run([sys.executable, "-m", "queries.report", "--data", str(SAMPLE_DATA), "--format", "xlsx",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert openpyxl.load_workbook(out).sheetnames[0] == export.SUMMARY


# --- CSV: text that would run as a formula gets a leading quote --------------------------------------------------

@pytest.mark.parametrize("value, written", [
    (INJECTED, "'" + INJECTED),
    ("+1", "'+1"),
    ("-2", "'-2"),
    ("@SUM(1)", "'@SUM(1)"),
    ("\tcmd", "'\tcmd"),
    ("\rcmd", "'\rcmd"),
    ("\ncmd", "'\ncmd"),
    ("  =1+1", "'  =1+1"),              # spaces before do not make it safe
    ("\uff1d1+1", "'\uff1d1+1"),         # a full-width equals sign
    ("Micro-needling", "Micro-needling"),  # a - inside is harmless
    ("a=b", "a=b"),
    ("", ""),
    (-2, "-2"),                          # numbers stay numbers, negative ones too
    (-2.5, "-2.5"),
    (3, "3"),
])
def test_csv_cells(value, written):
    rows = list(csv.reader(io.StringIO(export.csv_bytes(pd.DataFrame({"Value": [value]})).decode("utf-8"),
                                       newline="")))
    assert rows == [["Value"], [written]]


def test_csv_numbers_in_a_text_column_and_headers():
    frame = pd.DataFrame({"=cmd": ["-2", -2, None], "Count": [-1, 0, 1]})
    rows = list(csv.reader(io.StringIO(export.csv_bytes(frame).decode("utf-8"), newline="")))
    assert rows == [["'=cmd", "Count"], ["'-2", "-1"], ["-2", "0"], ["", "1"]]


def test_sheet_names_are_valid_excel_names():
    names = [spec.name for page in export.PAGES.values() for spec in page.sheets]
    assert len(names) == len(set(names))
    assert all(len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n) and n != export.SUMMARY for n in names)
