"""The Aftercare page through Streamlit's AppTest: on the sample data, against the headless report, with
filters, as-of dates, an export without complaints.csv and export names that look like markup."""

from __future__ import annotations

import json
from datetime import date

import pytest
from conftest import booking, complaint, session, write_export
from pages import (  # noqa: F401
    chart_element,
    chart_specs,
    charts,
    click_bar,
    drawn_text,
    fresh_caches,
    multiselect,
    open_page,
    sample_fixture,
    segmented,
    sidebar_pair_matching_nothing,
    start_on_required_exports_only,
    table,
)
from streamlit.testing.v1 import AppTest

from queries import labels
from queries.api import Filters, run_query
from queries.report import build_report

PAGE = "aftercare"
SECTIONS = ["Complaint control chart", "Complaint rate by group", "Complaints by category and severity",
            "Open and resolved", "Days from session to complaint", "Complaints by month reported"]


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def centre(at: AppTest) -> float:
    return float(table(at, "Centre line")["Centre line"].iloc[0])


def choose_group(at: AppTest, dimension: str) -> AppTest:
    return segmented(at, "complaint_split", dimension)


def test_the_page_opens_on_the_sample_data_with_every_section():
    at = open_page(PAGE, period="all")
    assert at.title[0].value == "Aftercare"
    assert [s.value for s in at.subheader] == SECTIONS
    assert len(at.get("plotly_chart")) == len(SECTIONS)
    assert not at.error and not at.warning


def test_the_control_chart_agrees_with_the_report(sample):
    report = build_report(sample)["complaints_control"]
    at = open_page(PAGE, period="all")
    control = table(at, "Centre line")
    assert centre(at) == pytest.approx(report["centre_per_100"])
    signalling = control[control["Signals"]]
    assert {f"{m:%Y-%m}": r for m, r in zip(signalling["Month"], signalling["Complaints per 100 sessions"],
                                            strict=True)} == pytest.approx(report["signals"])
    assert report["signals"], "the sample data should have a signalling month"
    text = captions(at)
    assert f"The centre line, {report['centre_per_100']:.2f} per 100" in text
    for month in report["signals"]:
        assert f"**{date.fromisoformat(month + '-01'):%b %Y}**" in text
    # The chart draws the same months: one red diamond per signal, hollow markers for months still collecting.
    spec = charts(at)["Complaints per 100 sessions, by month of the session"]
    traces = {t["name"]: t for t in spec["data"]}
    assert len(traces["Signal: above the upper limit"]["x"]) == len(report["signals"])
    assert traces["Still collecting"]["marker"]["symbol"] == "circle-open"
    assert any(s.get("type") == "rect" for s in spec["layout"]["shapes"])  # the still-collecting band


def test_a_location_in_the_url_narrows_the_figures(sample):
    location = sample.execute("select min(location) from fct_sessions").fetchone()[0]
    expected = build_report(sample, filters=Filters(locations=(location,)))["complaints_control"]["centre_per_100"]
    everywhere = build_report(sample)["complaints_control"]["centre_per_100"]
    assert expected != pytest.approx(everywhere)
    at = open_page(PAGE, period="all", location=location)
    assert multiselect(at, "Locations").value == [location]
    assert centre(at) == pytest.approx(expected)


def test_figures_follow_the_as_of_date_in_the_url(sample):
    # A day on which a complaint about an earlier session had not been reported yet: it must not count.
    as_of = sample.execute("""
        select max(session_date) + 1 from fct_complaints
        where has_session and reported_date > session_date + 1 and session_date < date '2025-07-01'
    """).fetchone()[0]
    report = build_report(sample, as_of=as_of)["complaints_control"]
    later = run_query(sample, "complaints_control", Filters(end=as_of))  # complaints known on the export's date
    assert report["centre_per_100"] != pytest.approx(float(later["centre_per_100"].iloc[0]))
    at = open_page(PAGE, period="all", as_of=as_of.isoformat())
    assert centre(at) == pytest.approx(report["centre_per_100"])
    control = table(at, "Centre line")
    assert control["Month"].max().date() == as_of.replace(day=1)
    assert control["Still collecting"].iloc[-1]
    assert f"complaints reported on or before {as_of:%d %b %Y}" in captions(at)
    assert f"Still collecting complaints (hollow markers, shaded): {as_of:%b %Y}" in captions(at)


def test_a_filter_matching_nothing_shows_the_empty_state(sample):
    location, practitioner = sidebar_pair_matching_nothing(sample)
    at = open_page(PAGE, period="all", location=location, practitioner=practitioner)
    assert any("No sessions match these filters" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_an_export_without_complaints_says_so(tmp_path, monkeypatch):
    start_on_required_exports_only(tmp_path, monkeypatch)
    at = open_page(PAGE, period="all")
    assert "no **complaints.csv**" in at.warning[0].value
    assert not at.get("plotly_chart") and not at.subheader


def test_open_and_resolved_count_the_complaints_the_report_counts_by_category(sample):
    report = build_report(sample)["complaints_by_category"]
    at = open_page(PAGE, period="all")
    resolution = table(at, "Open")
    assert (resolution["Open"] + resolution["Resolved"]).tolist() == resolution["Complaints"].tolist()
    by_category = dict(zip(resolution["Category"], resolution["Complaints"], strict=True))
    assert by_category == {labels.value(k): v for k, v in report.items()}


def test_the_redness_caption_counts_redness_complaints_after_day_4(sample):
    late, total = sample.execute("""
        select count(*) filter (where date_diff('day', session_date, reported_date) > 4), count(*)
        from fct_complaints where has_session and category = 'prolonged_redness'
    """).fetchone()
    assert 0 < late < total
    assert f"{late:,} of {total:,} redness complaints were reported after day 4" in captions(open_page(PAGE, period="all"))


def test_group_bars_carry_the_raw_value_and_show_it_in_words():
    at = choose_group(open_page(PAGE, period="all"), "body_area")
    spec = charts(at)["Complaints per 100 sessions by body area"]
    bars = spec["data"][0]
    assert "face" in [row[0] for row in bars["customdata"]]
    assert "Face" in bars["y"] and "face" not in bars["y"]
    assert all(" of " in text and text.endswith(" sessions") for text in bars["text"])


def test_depth_bands_run_shallow_to_deep_and_are_not_clickable():
    at = open_page(PAGE, period="all")
    chart = chart_element(at, "by needle depth")
    bands = json.loads(chart.proto.spec)["data"][0]["y"]
    assert bands[:5] == ["≤ 0.5 mm", "0.5–1.0 mm", "1.0–1.5 mm", "1.5–2.0 mm", "&gt; 2.0 mm"]
    assert not chart.proto.selection_mode  # no sidebar filter to set


def test_clicking_a_location_bar_sets_the_sidebar_filter_and_the_link(sample):
    location = sample.execute("select max(location) from fct_sessions").fetchone()[0]
    at = choose_group(open_page(PAGE, period="all"), "location")
    before = centre(at)
    click_bar(at, "by location", location)
    assert multiselect(at, "Locations").value == [location]
    assert at.query_params["location"] in (location, [location])
    expected = build_report(sample, filters=Filters(locations=(location,)))["complaints_control"]["centre_per_100"]
    assert centre(at) == pytest.approx(expected) != pytest.approx(before)


def test_clicking_a_practitioner_bar_sets_the_practitioner_filter(sample):
    practitioner = sample.execute("select min(practitioner) from fct_sessions").fetchone()[0]
    at = click_bar(choose_group(open_page(PAGE, period="all"), "practitioner"), "by practitioner", practitioner)
    assert multiselect(at, "Practitioners").value == [practitioner]
    assert multiselect(at, "Locations").value == []


def test_export_names_are_shown_as_text_in_the_charts(tmp_path, monkeypatch):
    planted = "<b>x</b>"
    sessions = [session(f"S{i}", f"P{i}", f"2025-0{1 + i % 3}-1{i}", location=planted if i % 2 else "Plain St",
                        practitioner="<a href='http://evil.example'>Dr</a>") for i in range(6)]
    folder = write_export(
        tmp_path / "export",
        bookings=[booking(f"B{i}", f"P{i}", "2025-01-10") for i in range(6)],
        sessions=sessions,
        complaints=[complaint(f"C{i}", f"P{i}", f"2025-0{1 + i % 3}-2{i}", session_id=f"S{i}") for i in range(3)],
    )
    monkeypatch.setenv("PRACTICE_DATA", str(folder))
    at = choose_group(open_page(PAGE, period="all"), "location")
    text = drawn_text(chart_specs(at))
    assert "&lt;b&gt;x&lt;/b&gt;" in text
    assert "<b>x" not in text
    # The click still gets the name as typed.
    assert [planted] in charts(at)["Complaints per 100 sessions by location"]["data"][0]["customdata"]
    at = choose_group(at, "practitioner")
    text = drawn_text(charts(at)["Complaints per 100 sessions by practitioner"])
    assert "&lt;a href='http://evil.example'&gt;Dr&lt;/a&gt;" in text and "<a " not in text
