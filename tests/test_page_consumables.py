"""The Consumables page through Streamlit's AppTest: on the sample data, against the headless report, with
filters, as-of dates, the lot in the link, an export without consumables.csv and export names that look like
markup."""

from __future__ import annotations

import io
import shutil
from datetime import date

import pandas as pd
import pytest
from conftest import SAMPLE_DATA, booking, complaint, consumable, session, write_export
from pages import (  # noqa: F401
    chart_specs,
    charts,
    click_bar,
    drawn_text,
    fresh_caches,
    metrics,
    multiselect,
    open_page,
    sample_fixture,
    segmented,
    sidebar_pair_matching_nothing,
    start_on_required_exports_only,
    table,
)
from streamlit.testing.v1 import AppTest

from queries.api import Filters, run_query
from queries.report import build_report

PAGE = "consumables"
SECTIONS = ["Consumables by item", "Usage and cost per month", "Cost per session by group",
            "Numbing per session by body area", "Sterile-tip compliance by group",
            "Micro-needling sessions without a sterile tip", "Lot trace", "All lots, by complaint rate"]


def items_shown(at: AppTest) -> dict:
    items = table(at, "Item", "Quantity", "Sessions")
    return {row["Item"]: {"quantity": row["Quantity"], "cost": row["Cost ($)"], "sessions": row["Sessions"]}
            for _, row in items.iterrows()}


def assert_items_equal(shown: dict, expected: dict) -> None:
    assert set(shown) == set(expected)
    for item, figures in expected.items():
        assert shown[item]["quantity"] == pytest.approx(figures["quantity"])
        assert shown[item]["cost"] == pytest.approx(figures["cost"])
        assert shown[item]["sessions"] == figures["sessions"]


def test_the_page_opens_on_the_sample_data_with_every_section():
    at = open_page(PAGE, period="all")
    assert at.title[0].value == "Consumables"
    assert [s.value for s in at.subheader] == SECTIONS
    assert len(at.get("plotly_chart")) == 6
    assert not at.error


def test_consumables_by_item_equal_the_report(sample):
    at = open_page(PAGE, period="all")
    assert_items_equal(items_shown(at), build_report(sample)["consumables_by_item"])
    spec = charts(at)["Cost per item"]
    assert spec["data"][0]["text"][0].startswith("$")


def test_a_location_in_the_url_narrows_the_figures(sample):
    location = sample.execute("select min(location) from fct_sessions").fetchone()[0]
    expected = build_report(sample, filters=Filters(locations=(location,)))["consumables_by_item"]
    assert expected != build_report(sample)["consumables_by_item"]
    at = open_page(PAGE, period="all", location=location)
    assert multiselect(at, "Locations").value == [location]
    assert_items_equal(items_shown(at), expected)


def test_figures_follow_the_as_of_date_in_the_url(sample):
    as_of = date(2025, 6, 30)
    at = open_page(PAGE, period="all", as_of=as_of.isoformat())
    assert_items_equal(items_shown(at), build_report(sample, as_of=as_of)["consumables_by_item"])
    assert "as of 30 Jun 2025" in at.caption[0].value


def test_a_filter_matching_nothing_shows_the_empty_state(sample):
    location, practitioner = sidebar_pair_matching_nothing(sample)
    at = open_page(PAGE, period="all", location=location, practitioner=practitioner)
    assert any("No sessions match these filters" in i.value for i in at.info)
    assert not at.get("plotly_chart") and not at.dataframe


def test_an_export_without_consumables_says_so(tmp_path, monkeypatch):
    start_on_required_exports_only(tmp_path, monkeypatch)
    at = open_page(PAGE, period="all")
    assert "no **consumables.csv**" in at.warning[0].value
    assert not at.get("plotly_chart") and not at.subheader


def test_the_lot_in_the_link_is_the_lot_shown(sample):
    report = build_report(sample)["lots"]
    # A lot with complaints that is neither the default (first) lot nor flagged.
    lots = run_query(sample, "lot_trace", Filters())
    lot = lots.loc[(lots.index > 0) & (lots["count_complaints"] > 1), "lot"].iloc[-1]
    at = open_page(PAGE, period="all", lot=lot)
    picked = next(s for s in at.selectbox if s.label == "Lot")
    assert picked.value == lot
    assert at.query_params["lot"] in (lot, [lot])
    shown = metrics(at)
    assert shown["Sessions"] == f"{report[lot]['sessions']:,}"
    sessions = table(at, "Session", "Item(s)")
    complaints = table(at, "Complaint", "Days after session")
    assert len(sessions) == report[lot]["sessions"]
    assert len(complaints) == report[lot]["complaints"] == sessions["Complaints"].sum()
    assert set(complaints["Session"]) <= set(sessions["Session"])
    tabs = [t.label for t in at.tabs]
    assert f"Sessions that used it ({report[lot]['sessions']:,})" in tabs
    assert f"Complaints that followed ({report[lot]['complaints']:,})" in tabs


def test_flagged_lots_come_first_and_are_named_in_a_warning(sample):
    lots = run_query(sample, "lot_trace", Filters())
    flagged = lots.loc[lots["is_flagged"], "lot"].tolist()
    assert flagged, "the sample data should have a flagged lot"
    at = open_page(PAGE, period="all")
    warning = next(w.value for w in at.warning if "flagged lot" in w.value)
    for lot in flagged:
        assert lot.replace("-", "\\-") in warning
    picked = next(s for s in at.selectbox if s.label == "Lot")
    assert picked.value == flagged[0]
    assert "lot" not in at.query_params  # the default keeps the link clean
    assert picked.options[0].startswith("⚠ ")
    ranked = table(at, "Lot", "Flagged")
    assert ranked["Flagged"].tolist()[:len(flagged)] == [True] * len(flagged)
    assert not ranked["Flagged"].iloc[len(flagged):].any()


def test_a_lot_not_in_the_data_falls_back_with_a_notice():
    at = open_page(PAGE, period="all", lot="NO-SUCH-LOT")
    # The link's text is shown as typed (Markdown-escaped: a link in the URL must not become a live link).
    assert any("lot='NO-SUCH-LOT'" in w.value.replace("\\", "") for w in at.warning)
    assert next(s for s in at.selectbox if s.label == "Lot").value != "NO-SUCH-LOT"


def test_picking_a_lot_puts_it_in_the_link(sample):
    at = open_page(PAGE, period="all")
    lots = run_query(sample, "lot_trace", Filters())
    other = lots["lot"].iloc[3]
    next(s for s in at.selectbox if s.label == "Lot").set_value(other).run()
    assert at.query_params["lot"] in (other, [other])
    assert metrics(at)["Sessions"] == f"{lots['count_sessions'].iloc[3]:,}"


def test_sessions_without_a_tip_are_listed_and_counted(sample):
    expected = sample.execute("""
        select count(*) from fct_sessions
        where regexp_matches(treatment, 'micro-?needling', 'i')
          and session_id not in (select session_id from fct_consumables where category = 'needle_tip')
    """).fetchone()[0]
    assert expected
    at = open_page(PAGE, period="all")
    assert any(f"**{expected:,} micro-needling sessions**" in m.value for m in at.markdown)
    missing = table(at, "Session", "Consumable lines")
    assert len(missing) == expected


@pytest.mark.parametrize("file_name, columns, query", [
    pytest.param("sessions_missing_tip.csv", ("Session", "Consumable lines"), "sessions_missing_tip",
                 id="sessions without a tip"),
    pytest.param("lot_sessions.csv", ("Session", "Item(s)"), "lot_sessions", id="the lot's sessions"),
    pytest.param("lot_complaints.csv", ("Complaint", "Days after session"), "lot_complaints", id="the lot's complaints"),
])
def test_a_long_list_shows_its_first_rows_and_its_csv_has_them_all(sample, downloads, monkeypatch, file_name,
                                                                     columns, query):
    """Each follow-up list queries only the rows its table shows; the total is said, and the CSV fetches every row."""
    from dashboard import ui
    monkeypatch.setattr(ui, "MAX_ROWS_SHOWN", 3)
    at = open_page(PAGE, period="all")
    lot = next(s for s in at.selectbox if s.label == "Lot").value
    total = len(run_query(sample, query, Filters(), lot=lot))
    assert total > 3, "the sample data should give this list more rows than the table shows"
    shown = table(at, *columns)
    assert len(shown) == 3
    assert f"Showing the first 3 of {total:,} rows; the CSV has them all." in [c.value for c in at.caption]
    every_row = pd.read_csv(io.BytesIO(downloads[file_name]()))
    assert len(every_row) == total and list(every_row.columns) == list(shown.columns)
    assert list(every_row.iloc[:3, 0].astype(str)) == list(shown.iloc[:, 0].astype(str))
    if query != "sessions_missing_tip":
        assert any(t.label.endswith(f"({total:,})") for t in at.tabs)


def test_tip_compliance_per_month_is_drawn_in_percent():
    at = open_page(PAGE, period="all")
    spec = charts(at)["Sterile-tip compliance per month"]
    assert spec["layout"]["yaxis"]["tickformat"] == ".0%"
    assert spec["data"][0]["mode"] == "lines+markers"


def test_clicking_a_location_bar_of_tip_compliance_sets_the_sidebar_filter(sample):
    location = sample.execute("select max(location) from fct_sessions").fetchone()[0]
    at = segmented(open_page(PAGE, period="all"), "tip_group", "location")
    click_bar(at, "Sterile-tip compliance by location", location)
    assert multiselect(at, "Locations").value == [location]
    assert at.query_params["location"] in (location, [location])
    assert_items_equal(items_shown(at), build_report(sample, filters=Filters(locations=(location,)))["consumables_by_item"])


def test_clicking_a_practitioner_bar_of_tip_compliance_sets_that_filter(sample):
    practitioner = sample.execute("select min(practitioner) from fct_sessions").fetchone()[0]
    at = segmented(open_page(PAGE, period="all"), "tip_group", "practitioner")
    click_bar(at, "Sterile-tip compliance by practitioner", practitioner)
    assert multiselect(at, "Practitioners").value == [practitioner]


def test_cost_per_session_by_body_area_carries_codes_and_a_click_filters(sample):
    at = segmented(open_page(PAGE, period="all"), "consumable_cost_group", "body_area")
    bars = charts(at)["Cost per session by body area"]["data"][0]
    assert "face" in [row[0] for row in bars["customdata"]] and "Face" in bars["y"]
    click_bar(at, "Cost per session by body area", "neck")
    assert multiselect(at, "Body areas").value == ["neck"]


def test_money_is_in_the_practice_currency(tmp_path, monkeypatch):
    settings = tmp_path / "practice.toml"
    settings.write_text('currency = "€"\n')
    monkeypatch.setenv("PRACTICE_SETTINGS", str(settings))
    at = open_page(PAGE, period="all")
    text = drawn_text(chart_specs(at))
    assert "€" in text and "$" not in text
    assert "Cost (€)" in table(at, "Item", "Quantity").columns


def test_export_names_are_shown_as_text(tmp_path, monkeypatch):
    link = "[x](http://evil.example)"
    # 4 sessions with the first lot, 20 with the other (enough to compare with: lot_trace.sql).
    sessions = [session(f"S{i}", f"P{i}", f"2025-01-{i + 1:02d}", location="<b>x</b>" if i % 2 else "Plain St")
                for i in range(24)]
    consumables = [consumable(f"S{i}", "<i>Serum</i>", category="serum", unit="ml", unit_cost="2",
                              lot=link if i < 4 else "<b>LOT-2</b>") for i in range(24)]
    folder = write_export(
        tmp_path / "export",
        bookings=[booking(f"B{i}", f"P{i}", "2025-01-10") for i in range(24)],
        sessions=sessions,
        consumables=consumables,
        # Three complaints after the sessions of the first lot, none after the other: the first is flagged.
        complaints=[complaint(f"C{i}", f"P{i}", f"2025-01-{i + 1:02d} 18:00", session_id=f"S{i}") for i in range(3)],
    )
    monkeypatch.setenv("PRACTICE_DATA", str(folder))
    at = open_page(PAGE, period="all")
    text = drawn_text(chart_specs(at))
    assert "&lt;i&gt;Serum&lt;/i&gt;" in text and "<i>" not in text
    assert "&lt;b&gt;LOT-2&lt;/b&gt;" in text and "<b>LOT" not in text
    # Markdown (the warning naming flagged lots, the locations card) shows the names as typed, not as links.
    warning = next(w.value for w in at.warning if "flagged lot" in w.value)
    assert "](http" not in warning and "\\[x\\]\\(http\\:\u2060\\/\\/evil\\.example\\)" in warning
    # (The invisible word joiner in "://": Streamlit links a bare http://… even when every mark is escaped;
    # checked in Chromium, where the page then has no <a> to evil.example.)
    assert "<b>" not in metrics(at)["Locations"]
    assert next(s for s in at.selectbox if s.label == "Lot").value == link


def test_without_complaints_the_lot_trace_shows_no_rates(tmp_path, monkeypatch, sample):
    for name in ("bookings.csv", "sessions.csv", "consumables.csv"):
        shutil.copy(SAMPLE_DATA / name, tmp_path / name)
    monkeypatch.setenv("PRACTICE_DATA", str(tmp_path))
    lot = run_query(sample, "lot_trace", Filters())["lot"].iloc[0]
    at = open_page(PAGE, period="all", lot=lot)
    assert any("no **complaints.csv**" in i.value for i in at.info)
    shown = metrics(at)
    assert shown["Sessions"] == f"{build_report(sample)['lots'][lot]['sessions']:,}"
    assert "Complaints per 100 sessions" not in shown  # unknown, not 0
    assert all("Complaint" not in d.value.columns and "Complaints" not in d.value.columns for d in at.dataframe)
    assert [s.value for s in at.subheader][-1] == "All lots"
