"""The pages through AppTest on input nobody checked: uploads that are not CSV files, an export that loads
nothing, export text that looks like markup, and links carrying parameters the app does not know."""

from __future__ import annotations

import tomllib

import pytest
from conftest import ROOT, SAMPLE_DATA
from pages import (  # noqa: F401
    fresh_caches,
    open_page,
    unescaped,
)

from dashboard.uploads import SAVE_AS_CSV

PAGES = ["overview", "body_areas", "rebooking", "aftercare", "consumables", "demand", "explore", "data"]


def upload(at, files: dict[str, bytes]):
    at.file_uploader[0].set_value([(name, data, "text/csv") for name, data in files.items()]).run()
    next(b for b in at.button if b.label == "Load these files").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


# --- uploads -----------------------------------------------------------------------------------------------------

def test_the_upload_size_limit_is_set_and_stated_beside_the_uploader():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == 500
    at = open_page("data")
    assert any("Up to 500 MB per file" in c.value for c in at.caption)


def test_a_workbook_and_a_binary_file_are_named_with_what_to_do_and_nothing_is_loaded():
    at = open_page("data")
    before = at.dataframe[0].value
    workbook = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml" + b"\x00" * 200
    at = upload(at, {"bookings.xlsx": workbook, "sessions.csv": bytes(range(256)) * 400,
                     "../complaints.csv": (SAMPLE_DATA / "complaints.csv").read_bytes()})
    error = unescaped(at.error[0].value)
    assert error.startswith("Nothing was changed. These files cannot be loaded:")
    assert f"bookings.xlsx is an Excel workbook, not a CSV file: {SAVE_AS_CSV}" in error
    assert "sessions.csv is not a text file" in error
    assert "../complaints.csv: a file name may not climb out of its folder" in error
    assert len(at.error) == 1  # one message, not a flood
    assert at.dataframe[0].value.equals(before)  # the data shown before stays


# --- an export with nothing loaded ---------------------------------------------------------------------------------

@pytest.fixture
def header_only(tmp_path, monkeypatch):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "bookings.csv").write_text("booking_id,patient_id,booked_at,appointment_at,treatment,status\n")
    (folder / "sessions.csv").write_text("Session ID,Patient ID,Performed At,Treatment,Body Area\n"
                                         "S1,P1,not a date,Peel,face\n")
    monkeypatch.setenv("PRACTICE_DATA", str(folder))
    return folder


@pytest.mark.parametrize("page", [p for p in PAGES if p != "data"])
def test_a_page_on_an_export_with_nothing_loaded_shows_an_empty_state(header_only, page):
    at = open_page(page)
    assert at.title[0].value == page.replace("_", " ").capitalize()
    assert "no booking or session in this export could be loaded" in at.info[0].value
    assert not at.metric and not at.get("plotly_chart") and not at.dataframe
    assert not at.sidebar.date_input  # no as-of date to pick: there is none


def test_the_data_page_on_an_export_with_nothing_loaded_says_so(header_only):
    at = open_page("data")
    warning = unescaped(at.warning[0].value)
    assert warning.startswith("Nothing to report: no booking or session could be loaded")
    assert "bookings.csv: no rows after the header" in warning and "sessions.csv: its one row rejected" in warning
    assert not any("figures as of" in m.value for m in at.markdown)
    assert at.dataframe[1].value["Reason"].tolist() == ["not a date/time: 'not a date'"]
    assert not [b for b in at.get("download_button") if b.proto.label == "Export this view"]
