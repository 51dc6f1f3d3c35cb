"""The Rebooking page (AppTest on the sample data): its figures equal the headless report's."""

from __future__ import annotations

from datetime import date

import pytest
from pages import (  # noqa: F401
    assert_hovers_name_no_text_customdata,
    chart_element,
    chart_spec,
    chart_specs,
    click_bar,
    drawn_text,
    fresh_caches,
    metrics,
    multiselect,
    open_page,
    sample_fixture,
    segmented,
    sidebar_pair_matching_nothing,
    table,
)

from queries import labels
from queries.api import Filters, run_query
from queries.report import build_report


def recall_count(at) -> int:
    line = next(m.value for m in at.markdown if "to call back" in m.value)
    return int(line.split("**")[1].split()[0].replace(",", ""))


@pytest.mark.parametrize("as_of", [None, "2025-06-30"])
def test_rebooking_figures_equal_the_report(sample, as_of):
    at = open_page("rebooking", period="all", **({"as_of": as_of} if as_of else {}))
    report = build_report(sample, as_of=date.fromisoformat(as_of) if as_of else None)
    shown = metrics(at)
    assert shown["Rebooking"] == f"{report['rebooking_6m']['rate']:.1%}"
    assert shown["Eligible"] == f"{report['rebooking_6m']['eligible']:,}"
    assert shown["Pending"] == f"{report['rebooking_6m']['pending']:,}"
    by_area = table(at, "Body area", "Eligible", "Rebooked", "Pending").set_index("Body area")
    for area, row in report["rebooking_6m_by_body_area"].items():
        assert (by_area.loc[labels.value(area), "Eligible"], by_area.loc[labels.value(area), "Rebooked"],
                by_area.loc[labels.value(area), "Pending"]) == (row["eligible"], row["rebooked"], row["pending"])
    assert recall_count(at) == report["recall"]["patients"]


def test_the_page_follows_a_location(sample):
    location = sample.execute("select min(location) from fct_sessions").fetchone()[0]
    at = open_page("rebooking", period="all", location=location)
    report = build_report(sample, filters=Filters(locations=(location,)))
    assert metrics(at)["Eligible"] == f"{report['rebooking_6m']['eligible']:,}"
    assert recall_count(at) == len(run_query(sample, "recall_list", Filters(locations=(location,))))
    assert recall_count(at) < build_report(sample)["recall"]["patients"]


def test_pending_cohort_months_are_not_drawn_as_zero(sample):
    at = open_page("rebooking", period="all")
    cohorts = run_query(sample, "rebooking_by_cohort_month")
    open_months = {m.strftime("%Y-%m") for m in cohorts.loc[cohorts["window_status"] == "open", "month"]}
    assert open_months, "the sample data ends with months whose windows are still open"
    spec = chart_spec(at, "by month of the session")
    bars = [t for t in spec["data"] if t["type"] == "bar"]
    drawn = {str(x)[:7] for t in bars for x in t["x"]}
    assert not drawn & open_months, "a pending month drawn as a bar"
    assert any(t.get("name") == "Pending (no rate yet)" for t in spec["data"])


def test_recall_bounds_come_from_the_link_and_stay_in_it(sample):
    at = open_page("rebooking", period="all", recall_min="60", recall_max="120")
    assert recall_count(at) == len(run_query(sample, "recall_list", min_days=60, max_days=120))
    assert at.query_params["recall_min"] in ("60", ["60"]) and at.query_params["recall_max"] in ("120", ["120"])
    inputs = {n.label: n.value for n in at.number_input}
    assert list(inputs.values()) == [60, 120]


def test_recall_bounds_from_practice_settings(tmp_path, monkeypatch, sample):
    settings = tmp_path / "practice.toml"
    settings.write_text("[recall]\nmin_days = 30\nmax_days = 90\n")
    monkeypatch.setenv("PRACTICE_SETTINGS", str(settings))
    at = open_page("rebooking", period="all")
    assert recall_count(at) == len(run_query(sample, "recall_list", min_days=30, max_days=90))
    assert "recall_min" not in at.query_params  # defaults keep the link clean


def test_reversed_recall_bounds_say_so():
    at = open_page("rebooking", period="all", recall_min="200", recall_max="100")
    assert any("lower bound is after the upper bound" in w.value for w in at.warning)


def test_filters_matching_nothing_show_the_empty_state(sample):
    location, practitioner = sidebar_pair_matching_nothing(sample)
    at = open_page("rebooking", period="all", location=location, practitioner=practitioner)
    assert any("No sessions match these filters" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_the_curve_compares_two_groups_from_the_link(sample):
    at = open_page("rebooking", period="all", curve_by="practitioner")
    spec = chart_spec(at, "by day after the session")
    lines = [t["name"] for t in spec["data"] if t["type"] == "scatter"]
    assert len(lines) == 2
    largest = run_query(sample, "rebooking_by_dimension", dimension="practitioner")["dimension_value"].head(2)
    assert sorted(lines) == sorted(largest)


def test_a_click_on_a_bar_sets_the_sidebar_filter(monkeypatch):
    """The on_select callback itself, on a hand-made selection (click_bar and the browser test click for real)."""
    import streamlit as st

    from dashboard import ui

    state = {"rebooking_by_treatment": {"selection": {"points": [{"customdata": ["Chemical peel", 3]}]}},
             "filter_notices": ["an old notice"]}
    monkeypatch.setattr(st, "session_state", state)
    ui.filter_on_click("rebooking_by_treatment", "treatments")()
    assert state["filter_treatments"] == ["Chemical peel"]
    assert state["filter_notices"] == []


def test_clicking_a_treatment_bar_sets_the_treatments_filter_and_the_link(sample):
    treatment = sample.execute("select min(treatment) from fct_sessions").fetchone()[0]
    at = segmented(open_page("rebooking", period="all"), "rebooking_group", "treatment")
    assert multiselect(at, "Treatments").value == []
    assert chart_element(at, "Rebooked within 6 months, by treatment").proto.id.endswith("-rebooking_by_treatment")
    click_bar(at, "Rebooked within 6 months, by treatment", treatment)
    assert multiselect(at, "Treatments").value == [treatment]
    assert at.query_params["treatment"] in (treatment, [treatment])
    report = build_report(sample, filters=Filters(treatments=(treatment,)))["rebooking_6m"]
    assert report["eligible"] < build_report(sample)["rebooking_6m"]["eligible"]
    assert metrics(at)["Eligible"] == f"{report['eligible']:,}"


def test_names_from_the_export_are_plain_text_in_charts(tmp_path, monkeypatch):
    from conftest import booking, session, write_export

    hostile = "<b>Bold</b> [click](http://x.invalid)"
    folder = write_export(tmp_path / "export",
                          bookings=[booking("B1", "P1", "2025-01-10", location=hostile)],
                          sessions=[session("S1", "P1", "2025-01-10", location=hostile, practitioner=hostile),
                                    session("S2", "P1", "2025-08-10", location=hostile, practitioner=hostile)])
    monkeypatch.setenv("PRACTICE_DATA", str(folder))
    for page in ("rebooking", "body_areas"):
        at = open_page(page, period="all")
        at.segmented_control[0].set_value("location").run()  # rebooking by location; body area by location
        specs = chart_specs(at)
        assert_hovers_name_no_text_customdata(specs)
        drawn = drawn_text(specs)
        assert "&lt;b&gt;Bold&lt;/b&gt;" in drawn, page
        assert "<b>Bold" not in drawn, page


def test_the_recall_list_shows_areas_and_concerns_in_words():
    recall = table(open_page("rebooking", period="all"), "Patient", "Body area(s)", "Concern")
    assert "Face, Neck" in set(recall["Body area(s)"]) or any("Face" in a for a in recall["Body area(s)"])
    assert not any(a.islower() for a in recall["Body area(s)"])
    assert "acne_scars" not in set(recall["Concern"])
