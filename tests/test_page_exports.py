"""The "Export this view" button on every page, and the CSV downloads' injection rule, through AppTest.

A click on a download button with a callable runs the callable on Streamlit's download thread, which
AppTest does not drive: the tests record what each button registered (MediaFileManager) and run it, as the
click would.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from conftest import booking, session, write_export
from pages import fresh_caches, open_page, sample_fixture  # noqa: F401
from streamlit.runtime.media_file_manager import MediaFileManager

from dashboard.export import LABEL
from queries import export
from queries.api import Filters, run_query

PAGES = ("overview", "body_areas", "rebooking", "aftercare", "consumables", "data")
AS_OF = date(2026, 10, 31)  # the sample data's export date
INJECTED = '=HYPERLINK("http://evil.example","click me")'


@pytest.fixture
def downloads(monkeypatch):
    """What each download button would send, as the run registered it: {deferred id or url: (callable or bytes,
    file name)}. Keyed by id, not file name as conftest's `downloads`: these tests tell buttons apart by id."""
    made = {}
    add_deferred, add = MediaFileManager.add_deferred, MediaFileManager.add

    def record_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        file_id = add_deferred(self, data_callable, mimetype, coordinates, file_name, **kwargs)
        made[file_id] = (data_callable, file_name)
        return file_id

    def record(self, content, mimetype, coordinates, file_name=None, **kwargs):
        url = add(self, content, mimetype, coordinates, file_name, **kwargs)
        made[url] = (content, file_name)
        return url

    monkeypatch.setattr(MediaFileManager, "add_deferred", record_deferred)
    monkeypatch.setattr(MediaFileManager, "add", record)
    return made


def export_button(at):
    buttons = [b for b in at.get("download_button") if b.proto.label == LABEL]
    assert len(buttons) == 1, [b.proto.label for b in at.get("download_button")]
    return buttons[0]


def click(at, downloads) -> openpyxl.Workbook:
    """What the browser gets from a click on the export button, opened as a workbook."""
    button = export_button(at)
    assert button.proto.deferred_file_id and not button.proto.url, "built on click, not on every run"
    data = downloads[button.proto.deferred_file_id][0]()
    return openpyxl.load_workbook(io.BytesIO(data))


def summary(book) -> dict:
    found = {}
    for label, value, compared, *_ in book[export.SUMMARY].iter_rows(min_row=2, values_only=True):
        if label is None:
            break
        found[label] = (value, compared)
    return found


@pytest.mark.parametrize("page", PAGES)
def test_every_page_exports_its_tables_for_the_view(downloads, page):
    at = open_page(page)
    book = click(at, downloads)
    assert book.sheetnames == [export.SUMMARY, *(spec.name for spec in export.PAGES[page].sheets)]
    figures = summary(book)
    assert figures["Period from"][0] == datetime(2025, 11, 1)  # Last 12 months, the sidebar's default
    assert figures["Period to"][0] == figures["Figures as of"][0] == datetime(2026, 10, 31)
    for name in book.sheetnames[1:]:
        if name in ("Data – rejected rows", "Data – warnings"):
            assert book[name].max_row == 1  # the sample export loads every row: headers only
            continue
        assert book[name].max_row > 1, f"{name} has no rows"
    assert downloads[export_button(at).proto.deferred_file_id][1] == f"{page}_2025-11-01_to_2026-10-31.xlsx"


def test_the_export_follows_the_sidebar_filters_and_as_of(downloads, sample):
    location = sample.execute("select min(location) from fct_sessions").fetchone()[0]
    at = open_page("rebooking", period="custom", **{"from": "2026-01-01", "to": "2026-03-31"},
                   location=location, as_of="2026-09-30")
    book = click(at, downloads)
    figures = summary(book)
    assert figures["Period from"] == (datetime(2026, 1, 1), datetime(2025, 10, 3))
    assert figures["Period to"][0] == datetime(2026, 3, 31)
    assert figures["Figures as of"][0] == datetime(2026, 9, 30)
    assert figures["Locations"][0] == location
    filters = Filters(start=date(2026, 1, 1), end=date(2026, 3, 31), locations=(location,))
    expected = run_query(sample, "rebooking_by_dimension", filters, as_of=date(2026, 9, 30), dimension="body_area")
    rows = list(book["Rebooking – by body area"].iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[2], r[3]) for r in rows] == list(zip(expected["count_eligible"], expected["count_rebooked"],
                                                           expected["count_pending"], strict=True))
    recall = run_query(sample, "recall_list", filters, as_of=date(2026, 9, 30), min_days=42, max_days=180)
    assert figures["Patients due for recall"][0] == len(recall)
    patients = [r[0] for r in book["Rebooking – recall list"].iter_rows(min_row=2, values_only=True)]
    assert patients == recall["patient_id"].tolist()


def test_the_recall_bounds_in_the_link_are_the_exports(downloads, sample):
    at = open_page("rebooking", recall_min="30", recall_max="60")
    figures = summary(click(at, downloads))
    recall = run_query(sample, "recall_list", Filters(start=AS_OF - timedelta(days=364), end=AS_OF), as_of=AS_OF,
                       min_days=30, max_days=60)
    assert figures["Patients due for recall"][0] == len(recall)


def test_a_rerun_builds_no_workbook(downloads, monkeypatch):
    built = []
    build = export.build_workbook
    monkeypatch.setattr(export, "build_workbook", lambda *a, **k: built.append(a) or build(*a, **k))
    at = open_page("overview")
    at.run()
    assert built == []
    click(at, downloads)
    assert len(built) == 1


def test_csv_downloads_keep_formula_like_text_as_text(tmp_path, monkeypatch, downloads):
    folder = write_export(tmp_path / "export",
                          bookings=[booking("B1", "P1", "2026-03-10", treatment=INJECTED, location="-2")],
                          sessions=[session("S1", "P1", "2026-03-10", treatment=INJECTED, location="-2",
                                            booking_id="B1")])
    monkeypatch.setenv("PRACTICE_DATA", str(folder))
    at = open_page("overview")
    csvs = {}
    for button in at.get("download_button"):
        if button.proto.label == "Download CSV":
            data, file_name = downloads[button.proto.url]
            csvs[file_name] = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert csvs["top_treatments.csv"][1][0] == "'" + INJECTED
    assert csvs["top_locations.csv"][1][0] == "'-2"
    assert csvs["top_locations.csv"][1][1] == "1", "numbers stay numbers"
    book = click(at, downloads)
    cell = book["Overview – treatments"]["A2"]
    assert (cell.value, cell.data_type) == (INJECTED, "s")


def test_the_demand_export_follows_the_marketing_rules(downloads, monkeypatch, tmp_path):
    """No patient identifier and the page's small cells suppressed, in every sheet (SPEC 2.14)."""
    at = open_page("demand", period="all")
    workbook = click(at, downloads)
    assert workbook.sheetnames[0] == "Summary"
    demand_sheets = [name for name in workbook.sheetnames if name.startswith("Demand")]
    assert len(demand_sheets) == len(export.PAGES["demand"].sheets)
    cells = [str(c) for name in workbook.sheetnames for row in workbook[name].iter_rows(values_only=True)
             for c in row if c is not None]
    assert not [c for c in cells if c.startswith("P0") and c[1:].isdigit()], "a patient id in the workbook"
    headers = [str(c).lower() for name in demand_sheets for c in next(workbook[name].iter_rows(values_only=True))]
    assert not [h for h in headers if "patient" in h and "new patients" not in h]
    assert "<11" in cells  # the sample data has cells of fewer than 11 patients
