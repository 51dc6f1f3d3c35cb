"""The dashboard, page by page, through Streamlit's AppTest on the bundled sample data."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
import pytest
import streamlit as st
from conftest import SAMPLE_DATA, booking, session, write_export
from pages import chart_specs, open_page, unescaped
from streamlit.testing.v1 import AppTest

from dashboard import source
from queries.api import Filters
from queries.load import load
from queries.report import build_report

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
PAGES = {"overview": "views/overview.py", "data": "views/data.py"}


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch):
    """Each test starts on the sample data with nothing cached from another test."""
    monkeypatch.delenv("PRACTICE_DATA", raising=False)
    monkeypatch.delenv("PRACTICE_TARGETS", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(scope="module")
def sample():
    """The sample data loaded directly, for expected figures computed outside the app."""
    result = load(SAMPLE_DATA)
    yield result.connection
    result.connection.close()


def open_app(page: str = "overview", **query_params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query_params.items():
        at.query_params[key] = value
    at.run()
    if page != "overview":
        at.switch_page(PAGES[page]).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def multiselect(at: AppTest, label: str):
    return next(w for w in at.multiselect if w.label == label)


def percent(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


@pytest.mark.parametrize("page, heading", [("overview", "Overview"), ("data", "Data")])
def test_every_page_opens_on_the_sample_data(page, heading):
    at = open_app(page)
    assert at.title[0].value == heading
    assert not at.error


def test_overview_cards_equal_the_headless_report_over_all_dates(sample):
    report = build_report(sample)
    shown = metrics(open_app(period="all"))

    assert shown["Sessions"] == f"{sum(report['sessions_by_body_area'].values()):,}"
    assert shown["No-shows"] == percent(report["no_show_rate"])
    assert shown["Cancellations"] == percent(report["cancellation_rate"])
    assert shown["Rebooking"] == percent(report["rebooking_6m"]["rate"])
    assert shown["Complaints"] == f"{report['complaints_per_100_sessions']:.2f}"
    assert shown["Supplies cost"] == f"${report['consumables']['cost_per_session']:,.2f}"
    assert shown["Sterile tips"] == percent(report["consumables"]["tip_compliance"])


def test_overview_cards_equal_the_report_for_a_filtered_view(sample):
    at = open_app(period="all")
    location = multiselect(at, "Locations").options[0]
    multiselect(at, "Locations").select(location).run()
    assert not at.exception
    shown = metrics(at)

    report = build_report(sample, filters=Filters(locations=(location,)))
    assert shown["Sessions"] == f"{sum(report['sessions_by_body_area'].values()):,}"
    assert shown["No-shows"] == percent(report["no_show_rate"])
    assert shown["Rebooking"] == percent(report["rebooking_6m"]["rate"])
    assert shown["Sterile tips"] == percent(report["consumables"]["tip_compliance"])


def test_changing_a_filter_changes_the_figures():
    at = open_app(period="all")
    before = metrics(at)
    multiselect(at, "Body areas").select("face").run()
    after = metrics(at)
    assert after["Sessions"] != before["Sessions"]
    assert at.query_params["body_area"] in ("face", ["face"])  # AppTest shows one value unlisted


def test_a_filter_matching_nothing_shows_the_empty_state(sample):
    # A practitioner together with a location they never work at.
    pairs = sample.execute("""
        select l.location, p.practitioner
        from (select distinct location from fct_sessions) l, (select distinct practitioner from fct_sessions) p
        where not exists (select 1 from fct_bookings b where b.location = l.location and b.practitioner = p.practitioner)
          and not exists (select 1 from fct_sessions s where s.location = l.location and s.practitioner = p.practitioner)
        limit 1
    """).fetchone()
    assert pairs, "the sample data should have a practitioner who never works at some location"
    at = open_app(period="all", location=pairs[0], practitioner=pairs[1])
    assert any("No sessions or bookings match these filters" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_a_url_reproduces_the_filtered_view():
    by_widget = open_app(period="last_90_days")
    multiselect(by_widget, "Body areas").select("neck").run()
    url = dict(by_widget.query_params)

    by_link = open_app(**url)
    assert multiselect(by_link, "Body areas").value == ["neck"]
    assert by_link.selectbox[0].value == "last_90_days"
    assert metrics(by_link) == metrics(by_widget)


def test_garbage_in_the_url_is_ignored_with_a_notice():
    at = open_app(period="forever", location=["Atlantis"], body_area="elbow", **{"from": "yesterday"})
    notices = " ".join(w.value for w in at.warning)
    assert "forever" in notices and "Atlantis" in notices and "elbow" in notices
    assert at.selectbox[0].value == "last_12_months"
    assert multiselect(at, "Locations").value == []
    assert metrics(at)["Sessions"] != "0"


def test_custom_dates_in_the_url_are_used():
    at = open_app(period="custom", **{"from": "2025-01-01", "to": "2025-03-31"})
    assert "01 Jan 2025 – 31 Mar 2025" in at.caption[0].value


def test_targets_are_shown_on_the_cards(tmp_path, monkeypatch):
    targets = tmp_path / "targets.toml"
    targets.write_text("rebooking_rate = { min = 0.99 }\nno_show_rate = { max = 0.5 }\n")
    monkeypatch.setenv("PRACTICE_TARGETS", str(targets))
    captions = " ".join(c.value for c in open_app(period="all").caption)
    assert "off target (≥ 99.0%)" in captions
    assert "on target (≤ 50.0%)" in captions


# --- Data page -----------------------------------------------------------------------------------

def upload(at: AppTest, files: dict[str, bytes]) -> AppTest:
    at.file_uploader[0].set_value([(name, data, "text/csv") for name, data in files.items()]).run()
    next(b for b in at.button if b.label == "Load these files").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def files_table(at: AppTest):
    return at.dataframe[0].value.set_index("file_name")


def csv_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.glob("*.csv")}


def test_data_page_shows_what_the_sample_data_loaded(sample):
    at = open_app("data")
    table = files_table(at)
    assert list(table.index) == ["bookings.csv", "sessions.csv", "consumables.csv", "complaints.csv"]
    expected = sample.execute("select file_name, count_read, count_loaded from load_files").fetchall()
    for file_name, read, loaded in expected:
        assert table.loc[file_name, "count_read"] == read
        assert table.loc[file_name, "count_loaded"] == loaded


def test_uploading_a_messy_export_shows_its_counts_and_rejects(tmp_path):
    folder = write_export(
        tmp_path / "messy",
        bookings=[booking("B1", "P1", "2025-01-10"), booking("B2", "P2", "2025-01-11", status="Pending"),
                  booking("B1", "P3", "2025-01-12")],
        sessions=[session("S1", "P1", "2025-01-10"), session("S2", "P1", "not a date")],
    )
    at = upload(open_app("data"), csv_bytes(folder))
    assert any("Loaded 2 rows (3 rejected)" in s.value for s in at.success)
    table = files_table(at)
    assert (table.loc["bookings.csv", "count_read"], table.loc["bookings.csv", "count_loaded"],
            table.loc["bookings.csv", "count_rejected"]) == (3, 1, 2)
    assert (table.loc["sessions.csv", "count_read"], table.loc["sessions.csv", "count_rejected"]) == (2, 1)
    rejects = at.dataframe[1].value
    assert rejects.to_dict("records") == [
        {"File": "bookings.csv", "Line": 3, "Column": "status", "Reason": "unknown value 'Pending'"},
        {"File": "bookings.csv", "Line": 4, "Column": "booking_id",
         "Reason": "duplicate booking_id, first on line 2"},
        {"File": "sessions.csv", "Line": 3, "Column": "performed_at", "Reason": "not a date/time: 'not a date'"},
    ]
    download = next(d for d in at.get("download_button") if d.proto.label == "Download CSV")
    assert download is not None

    # The overview now shows the upload, not the sample data (caches follow the data).
    at.switch_page(PAGES["overview"]).run()
    at.selectbox[0].set_value("all").run()
    assert metrics(at)["Sessions"] == "1"


def test_uploading_a_broken_export_keeps_the_data_loaded_before(tmp_path):
    at = open_app("data")
    before = files_table(at)
    broken = io.StringIO("booking_id,patient_id,booked_at\nB1,P1,2025-01-01\n").getvalue().encode()
    at = upload(at, {"bookings.csv": broken, "sessions.csv": b"session_id\nS1\n"})
    errors = " ".join(unescaped(e.value) for e in at.error)
    assert "Nothing was changed" in errors and "bookings.csv" in errors and "appointment_at" in errors
    assert files_table(at).equals(before)


def test_the_app_started_on_a_missing_folder_says_so_and_offers_the_data_page(monkeypatch, tmp_path):
    monkeypatch.setenv("PRACTICE_DATA", str(tmp_path / "nowhere"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "could not be loaded" in at.error[0].value
    assert at.title[0].value == "Data"


# --- Where the data comes from -------------------------------------------------------------------

def test_the_app_opens_a_database_file_and_follows_its_rebuild(tmp_path, monkeypatch):
    db = tmp_path / "clinic.duckdb"
    first = write_export(tmp_path / "first", bookings=[booking("B1", "P1", "2025-01-10")],
                         sessions=[session("S1", "P1", "2025-01-10")])
    load(first, db).connection.close()
    monkeypatch.setenv("PRACTICE_DATA", str(db))
    at = open_app(period="all")
    assert metrics(at)["Sessions"] == "1"

    second = write_export(tmp_path / "second", bookings=[booking("B1", "P1", "2025-01-10")],
                          sessions=[session("S1", "P1", "2025-01-10"), session("S2", "P1", "2025-01-10",
                                                                                body_area="neck")])
    load(second, db).connection.close()
    os.utime(db, ns=(db.stat().st_atime_ns, db.stat().st_mtime_ns + 1_000_000_000))  # a clock tick later
    at.run()
    assert metrics(at)["Sessions"] == "2"


def test_data_is_chosen_by_the_command_line_before_the_environment(tmp_path, monkeypatch):
    from dashboard import source

    monkeypatch.setenv("PRACTICE_DATA", str(tmp_path / "from_env"))
    monkeypatch.setattr(sys, "argv", ["app.py", "--data", str(tmp_path / "from_cli")])
    assert source.startup_path() == (tmp_path / "from_cli").resolve()
    monkeypatch.setattr(sys, "argv", ["app.py"])
    assert source.startup_path() == (tmp_path / "from_env").resolve()
    monkeypatch.delenv("PRACTICE_DATA")
    assert source.startup_path() == SAMPLE_DATA


def test_the_sample_targets_file_is_shown_by_default():
    captions = " ".join(c.value for c in open_app(period="all").caption)
    assert "target (≥ 60.0%)" in captions


@pytest.mark.parametrize("dates, notice", [
    pytest.param(("2031-01-01", "2031-02-01"), "fall outside the data", id="after-the-export"),
    pytest.param(("2025-03-01", "2025-01-01"), "are in reverse order", id="reversed"),
    pytest.param(("March", "2025-01-01"), "are not dates", id="not-a-date"),
])
def test_custom_dates_that_cannot_be_used_are_ignored_with_a_notice(dates, notice):
    at = open_app(period="custom", **{"from": dates[0], "to": dates[1]})
    assert any(notice in w.value for w in at.warning)
    assert at.selectbox[0].value == "all"


def test_link_notices_go_away_once_a_filter_is_changed():
    at = open_app(period="forever")
    assert at.warning
    at.selectbox[0].set_value("last_90_days").run()
    assert not at.warning


def test_a_treatment_with_bookings_but_no_sessions_has_no_trend_chart_but_no_error():
    at = open_app(period="all", treatment="Consultation")
    assert metrics(at)["Sessions"] == "0"
    assert any("no trend to show" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_an_upload_without_the_required_files_names_them_not_a_temporary_folder():
    at = upload(open_app("data"), {"Appointments.csv": b"booking_id\nB1\n"})
    error = unescaped(at.error[0].value)
    assert "bookings.csv: required file not found among the uploaded files" in error
    assert "/tmp" not in error


def test_an_upload_whose_bookings_are_all_rejected_still_shows_why():
    files = {"bookings.csv": b"booking_id,patient_id,booked_at,appointment_at,treatment,status\n"
                             b"B1,P1,next week,2025-01-10,Peel,completed\n",
             "sessions.csv": b"session_id,patient_id,performed_at,treatment,body_area\n"}
    at = upload(open_app("data"), files)
    assert files_table(at).loc["bookings.csv", "count_rejected"] == 1
    assert at.dataframe[1].value.to_dict("records") == [
        {"File": "bookings.csv", "Line": 2, "Column": "booked_at", "Reason": "not a date/time: 'next week'"}]
    # No booking or session loaded: nothing to report, not figures as of today.
    warning = unescaped(at.warning[0].value)
    assert "Nothing to report: no booking or session could be loaded" in warning
    assert "bookings.csv: its one row rejected" in warning and "sessions.csv: no rows after the header" in warning
    assert not any("figures as of" in m.value for m in at.markdown)
    at.switch_page(PAGES["overview"]).run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert "no booking or session in this export could be loaded" in at.info[0].value
    assert not at.metric and not at.get("plotly_chart")


def test_an_uploaded_targets_file_replaces_the_startup_targets(tmp_path):
    folder = write_export(tmp_path / "export", bookings=[booking("B1", "P1", "2025-01-10", status="no_show")],
                          sessions=[session("S1", "P1", "2025-01-10")])
    files = csv_bytes(folder) | {"targets.toml": b"no_show_rate = { max = 0.02 }\n"}
    at = upload(open_app("data"), files)
    at.switch_page(PAGES["overview"]).run()
    captions = " ".join(c.value for c in at.caption)
    assert "off target (≤ 2.0%)" in captions
    assert "≥ 60.0%" not in captions  # the sample data's rebooking target is not the upload's


def test_booking_cards_say_the_body_area_filter_does_not_apply():
    captions = " ".join(c.value for c in open_app(period="all", body_area="face").caption)
    assert captions.count("body-area filter not applied") == 2


def test_this_year_is_compared_with_the_same_dates_last_year(sample):
    as_of = sample.execute("select default_as_of from load_meta").fetchone()[0]
    caption = open_app(period="this_year").caption[0].value
    assert (f"01 Jan {as_of.year} – {as_of:%d %b %Y}** · compared with "
            f"01 Jan {as_of.year - 1} – {as_of.replace(year=as_of.year - 1):%d %b %Y}") in caption


@pytest.mark.parametrize("period, grain", [("last_30_days", "week"), ("last_90_days", "week"),
                                           ("last_12_months", "month")])
def test_short_periods_trend_by_week(period, grain):
    spec = json.loads(open_app(period=period).get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["title"]["text"] == f"Sessions and revenue per {grain}"


@pytest.mark.parametrize("value, shown", [
    (32.578, "$32.58"), (1234.5, "$1,234"), (50_210.0, "$50.2k"), (502_326.4, "$502k"), (1_210_000, "$1.21M"),
    (None, "n/a"),
])
def test_money_on_a_card_stays_short(value, shown):
    from dashboard.ui import fmt
    assert fmt(value, "money") == shown


def test_the_app_follows_its_startup_folder_when_a_file_is_removed(tmp_path, monkeypatch):
    from conftest import complaint

    folder = write_export(tmp_path / "export", bookings=[booking("B1", "P1", "2025-01-10")],
                          sessions=[session("S1", "P1", "2025-01-10")],
                          complaints=[complaint("C1", "P1", "2025-01-10 18:00", session_id="S1")])
    monkeypatch.setenv("PRACTICE_DATA", str(folder))
    # Files changed within SETTLE_SECONDS are taken as still being written; these were written just now.
    monkeypatch.setattr(source, "SETTLE_SECONDS", 0)
    at = open_app(period="all")
    assert metrics(at)["Complaints"] == "100.00"
    (folder / "complaints.csv").unlink()
    at.run()
    assert metrics(at)["Complaints"] == "—"


def test_figures_as_of_an_earlier_day_equal_the_report_for_that_day(sample):
    from datetime import date

    report = build_report(sample, as_of=date(2025, 6, 30))
    at = open_app(period="all", as_of="2025-06-30")
    shown = metrics(at)
    assert at.date_input[-1].value == date(2025, 6, 30)
    assert shown["Sessions"] == f"{sum(report['sessions_by_body_area'].values()):,}"
    assert shown["Rebooking"] == percent(report["rebooking_6m"]["rate"])
    assert shown["No-shows"] == percent(report["no_show_rate"])
    assert shown["Complaints"] == f"{report['complaints_per_100_sessions']:.2f}"
    assert "the export runs to 31 Oct 2026" in " ".join(c.value for c in at.caption)


@pytest.mark.parametrize("as_of", ["2031-01-01", "yesterday", "2019-01-01"])
def test_an_as_of_outside_the_data_is_ignored_with_a_notice(as_of):
    at = open_app(period="all", as_of=as_of)
    notices = " ".join(unescaped(w.value) for w in at.warning)
    assert f"as_of={as_of!r} is not a date between" in notices or f"'as_of' ({as_of!r} is not a date" in notices
    assert "as_of" not in at.query_params


def test_the_practice_currency_is_shown_with_every_amount(tmp_path, monkeypatch):
    settings = tmp_path / "practice.toml"
    settings.write_text('currency = "€"\n')
    monkeypatch.setenv("PRACTICE_SETTINGS", str(settings))
    at = open_app(period="all")
    assert metrics(at)["Revenue"].startswith("€") and metrics(at)["Supplies cost"].startswith("€")
    assert "$" not in metrics(at)["Revenue"]
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "Revenue (€)" in json.dumps(spec, ensure_ascii=False)


def test_a_broken_settings_file_is_named_and_the_defaults_used(tmp_path, monkeypatch):
    settings = tmp_path / "practice.toml"
    settings.write_text("[recall]\nmin_days = 90\nmax_days = 30\n")
    monkeypatch.setenv("PRACTICE_SETTINGS", str(settings))
    at = open_app(period="all")
    assert any("practice.toml" in unescaped(w.value) and "min_days" in unescaped(w.value) for w in at.warning)
    assert sum("Practice settings not used" in w.value for w in at.warning) == 1  # once, not per table
    assert metrics(at)["Revenue"].startswith("$")


@pytest.mark.parametrize("page", ["body_areas", "rebooking", "aftercare", "consumables", "demand"])
def test_every_chart_has_the_practice_look_over_plotlys_defaults(page):
    """One template, plotly's with ours merged over it, is every figure's default (dashboard/charts.py)."""
    at = open_page(page, period="all")
    expected = go.Figure(layout=dict(template=pio.templates.merge_templates(
        "plotly", go.layout.Template(layout=dict(font=dict(family="Source Sans Pro, sans-serif", size=13)))))
    ).to_plotly_json()["layout"]["template"]
    specs = chart_specs(at)
    assert specs
    for spec in specs:
        template = spec["layout"]["template"]
        assert template["data"] == expected["data"]  # plotly's trace defaults beneath
        assert template["layout"]["font"] == expected["layout"]["font"]
        assert template["layout"]["colorway"][:2] == ["#0072B2", "#E69F00"]  # ours over plotly's
